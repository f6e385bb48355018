"""One input row → a `ShipmentLine` ready to send, or a `RowProblem` saying why not.

Every rule of the API page is checked here, before anything is sent, so a bad row costs the
user a line in the workbook instead of a request and a confusing API error. All of a row's
problems are reported together, not just the first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from batch_uploader.models import (
    ItemFields,
    PoIdentity,
    RowProblem,
    RowRef,
    ShipmentFields,
    ShipmentLine,
)
from batch_uploader.parsing import (
    CellError,
    clean,
    excel_damage,
    parse_bool,
    parse_datetime,
    parse_int,
    parse_money,
)
from batch_uploader.profiles import FIELD_LABELS, ColumnMap
from batch_uploader.tracking import tracking_warning

# Values of a void column that mean the label was voided (UPS WorldShip writes `Y`).
VOID_VALUES = frozenset({"y", "yes", "true", "1", "x", "void", "voided"})
SHIPMENT_GIVEN_FIELDS = (
    "carrier",
    "method",
    "tracking_url",
    "note",
    "shipped_at",
    "shipping_cost",
    "suppressed",
)
ITEM_ID_FIELDS = ("purchase_order_item_id", "order_item_id", "inventory_variant_id", "rma_item_id")
T = TypeVar("T")
Values = dict[str, str]


@dataclass(frozen=True)
class RowValidator:
    """Validates the rows of one table under its column map."""

    columns: ColumnMap
    file_index: int
    default_source_id: int | None = None
    _labels: dict[str, str] = field(init=False, repr=False)
    _columns: tuple[tuple[str, tuple[int, ...]], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        labels = {name: FIELD_LABELS[name] for name in FIELD_LABELS}
        for name, index in self.columns.fields.items():
            labels[name] = self.columns.header[index]  # the user's own header name
        object.__setattr__(self, "_labels", labels)
        columns = self.columns.columns or {n: (i,) for n, i in self.columns.fields.items()}
        object.__setattr__(self, "_columns", tuple(columns.items()))

    @property
    def labels(self) -> dict[str, str]:
        """Each field's name as the user's header spells it (or our default name)."""
        return self._labels

    def __call__(self, row_number: int, cells: tuple[str, ...]) -> ShipmentLine | RowProblem:
        """Check one row."""
        ref = RowRef(self.file_index, row_number)
        values: Values = {}
        for name, indexes in self._columns:
            for index in indexes:  # the preferred column, else the next one filled in
                value = cells[index].strip()
                if value and value[0] in "'=":
                    value = clean(value)  # Excel's text markers; rare, so not inlined
                if value:
                    values[name] = value
                    break
        get = values.get
        if get("void", "").casefold() in VOID_VALUES:
            return RowProblem(ref, "voided label: this package was voided, so it is not sent")
        problems: list[str] = []
        label = self._labels

        tracking = get("tracking_number", "")
        if not tracking:
            problems.append(f"{label['tracking_number']} is empty")
        elif damage := excel_damage(label["tracking_number"], tracking):
            problems.append(damage)
        po = self._po_identity(values, problems)
        quantity = self._typed(values, "quantity", parse_int, problems)
        if "quantity" not in values:
            problems.append(f"{label['quantity']} is empty")
        ids = {
            name: self._typed(values, name, parse_int, problems)
            for name in ITEM_ID_FIELDS
            if name in values
        }
        sku = get("sku")
        if sku is not None and (damage := excel_damage(label["sku"], sku)):
            problems.append(damage)
        # The API takes sku, purchaseOrderItemId or orderItemId as the item's identity;
        # an inventory variant ID alone is not enough.
        if not sku and "purchase_order_item_id" not in values and "order_item_id" not in values:
            problems.append(
                f"no item identifier: fill in {label['sku']}, {label['purchase_order_item_id']} "
                f"or {label['order_item_id']}"
            )
        shipment = ShipmentFields(
            carrier=get("carrier"),
            method=get("method"),
            shipped_at=self._typed(values, "shipped_at", parse_datetime, problems),
            shipping_cost=self._typed(values, "shipping_cost", parse_money, problems),
            tracking_url=get("tracking_url"),
            note=get("note"),
            suppressed=self._typed(values, "suppressed", parse_bool, problems),
            custom_fields=_custom(self.columns.shipment_custom, cells),
        )
        warning = tracking_warning(tracking, shipment.carrier) if tracking else None
        warnings = (warning,) if warning else ()
        if problems or po is None or quantity is None:
            return RowProblem(ref, "; ".join(problems), warnings)
        item = ItemFields(
            quantity=quantity,
            sku=sku,
            purchase_order_item_id=ids.get("purchase_order_item_id"),
            order_item_id=ids.get("order_item_id"),
            inventory_variant_id=ids.get("inventory_variant_id"),
            rma_item_id=ids.get("rma_item_id"),
            custom_fields=_custom(self.columns.item_custom, cells),
        )
        given = frozenset(name for name in SHIPMENT_GIVEN_FIELDS if name in values)
        if shipment.custom_fields:
            given |= {"custom_fields"}
        return ShipmentLine(ref, po, tracking, shipment, item, given, warnings)

    def _typed(
        self, values: Values, name: str, parse: Callable[[str, str], T], problems: list[str]
    ) -> T | None:
        """Parse one filled cell; a bad value adds its reason and yields None."""
        value = values.get(name)
        if value is None:
            return None
        try:
            return parse(self._labels[name], value)
        except CellError as exc:
            problems.append(str(exc))
            return None

    def _po_identity(self, values: Values, problems: list[str]) -> PoIdentity | None:
        """PO number + source (from the row or --source-id), or a fulfillment request ID."""
        label = self._labels
        if "fulfillment_request_id" in values:
            fr_id = self._typed(values, "fulfillment_request_id", parse_int, problems)
            return PoIdentity(fulfillment_request_id=fr_id) if fr_id is not None else None
        po_number = values.get("po_number")
        if not po_number:
            problems.append(
                f"no purchase order: fill in {label['po_number']} "
                f"or {label['fulfillment_request_id']}"
            )
            return None
        if damage := excel_damage(label["po_number"], po_number):
            problems.append(damage)
            return None
        if "source_id" in values:
            source_id = self._typed(values, "source_id", parse_int, problems)
            if source_id is None:
                return None
        else:
            source_id = self.default_source_id
        return PoIdentity(po_number=po_number, source_id=source_id)


def _custom(
    spec: tuple[tuple[str, int], ...], cells: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    """Custom fields with a value; empty ones are left out, as the API would ignore them."""
    if not spec:
        return ()
    return tuple((name, value) for name, index in spec if (value := clean(cells[index])))
