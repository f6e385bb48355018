"""One input row → a `ShipmentLine` ready to group, or a `RowProblem` saying why not.

Every rule of the API page is checked here, before anything is sent, so a bad row costs the
user a line in the workbook instead of a request and a confusing API error. All of a row's
problems are reported together, not just the first. The rules that depend on a whole column
(day/month order, decimal comma) are decided once per table and handed in as `CellRules`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from batch_uploader.carriers import CarrierTable
from batch_uploader.dates import DateOrder, parse_ship_date
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
    parse_int,
    parse_money,
)
from batch_uploader.profiles import FIELD_LABELS, ColumnMap
from batch_uploader.tracking import split_tracking_numbers, tracking_warning

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
NUMERIC_ITEM_IDS = (
    "purchase_order_item_id",
    "order_item_id",
    "inventory_variant_id",
    "rma_item_id",
)
"""The item fields that hold Flxpoint's integer IDs."""
T = TypeVar("T")
Values = dict[str, str]


@dataclass(frozen=True)
class CellRules:
    """How one table's cells are read, decided once per column (see pipeline.prepare)."""

    date_order: DateOrder = "mdy"
    decimal_comma: bool = False
    carriers: CarrierTable | None = None
    today: date = field(default_factory=date.today)


@dataclass(frozen=True)
class RowValidator:
    """Validates the rows of one table under its column map."""

    columns: ColumnMap
    file_index: int
    default_source_id: int | None = None
    rules: CellRules = field(default_factory=CellRules)
    _labels: dict[str, str] = field(init=False, repr=False)
    _columns: tuple[tuple[str, tuple[int, ...]], ...] = field(init=False, repr=False)
    # Carrier cells sent under another name ("stamps_com" → "USPS"), counted for the console.
    sent_carriers: Counter[tuple[str, str]] = field(default_factory=Counter, init=False)

    def __post_init__(self) -> None:
        labels = dict(FIELD_LABELS)
        for name, index in self.columns.fields.items():
            labels[name] = self.columns.header[index]  # the user's own header name
        object.__setattr__(self, "_labels", labels)
        columns = self.columns.columns or {n: (i,) for n, i in self.columns.fields.items()}
        object.__setattr__(self, "_columns", tuple(columns.items()))

    @property
    def labels(self) -> dict[str, str]:
        """Each field's name as the user's header spells it (or our default name)."""
        return self._labels

    def values(self, cells: tuple[str, ...]) -> Values:
        """The row's filled fields: each field's preferred column, else the next one filled."""
        values: Values = {}
        for name, indexes in self._columns:
            for index in indexes:
                value = cells[index].strip()
                if value and value[0] in "'=":
                    value = clean(value)  # Excel's text markers; rare, so not inlined
                if value:
                    values[name] = value
                    break
        return values

    def __call__(
        self, row_number: int, cells: tuple[str, ...], values: Values | None = None
    ) -> ShipmentLine | RowProblem:
        """Check one row (`values`: its `self.values(cells)`, when the caller has them)."""
        ref = RowRef(self.file_index, row_number)
        values = self.values(cells) if values is None else values
        if values.get("void", "").casefold() in VOID_VALUES:
            return RowProblem(ref, "voided label: this package was voided, so it is not sent")
        problems: list[str] = []
        numbers = self._tracking(values, problems)
        item_lines = any(name in values for name in ("sku", "quantity", *NUMERIC_ITEM_IDS))
        master = values.get("master_tracking_number")
        po = self._po_identity(values, problems, package_of=None if item_lines else master)
        item = self._item(values, cells, problems) if item_lines else None
        if item_lines and len(numbers) > 1:
            problems.append(
                f"{self._labels['tracking_number']} holds {len(numbers)} numbers "
                f"({', '.join(numbers)}): put each package on its own row"
            )
        shipment, warnings = self._shipment(values, cells, numbers, problems)
        if problems:
            return RowProblem(ref, "; ".join(problems), warnings)
        given = frozenset(name for name in SHIPMENT_GIVEN_FIELDS if name in values)
        if shipment.custom_fields:
            given |= {"custom_fields"}
        return ShipmentLine(
            ref, po, numbers[0], shipment, item, given, warnings, master, numbers[1:]
        )

    def _tracking(self, values: Values, problems: list[str]) -> tuple[str, ...]:
        """The row's tracking number(s): a cell may hold several packages' numbers."""
        tracking = values.get("tracking_number", "")
        label = self._labels["tracking_number"]
        if not tracking:
            problems.append(f"{label} is empty")
            return ("",)
        if damage := excel_damage(label, tracking):
            problems.append(damage)
        return split_tracking_numbers(tracking) or (tracking,)

    def _item(
        self, values: Values, cells: tuple[str, ...], problems: list[str]
    ) -> ItemFields | None:
        """The row's item line (None when it has a problem, which is then in `problems`)."""
        label = self._labels
        quantity = self._typed(values, "quantity", parse_int, problems)
        if "quantity" not in values:
            problems.append(f"{label['quantity']} is empty")
        ids = {name: self._typed(values, name, parse_int, problems) for name in NUMERIC_ITEM_IDS}
        sku = values.get("sku")
        if sku is not None and (damage := excel_damage(label["sku"], sku)):
            problems.append(damage)
        # The API takes sku, purchaseOrderItemId or orderItemId as the item's identity;
        # an inventory variant ID alone is not enough.
        if not sku and "purchase_order_item_id" not in values and "order_item_id" not in values:
            problems.append(self._no_item_identifier())
        if quantity is None:
            return None
        return ItemFields(
            quantity=quantity,
            sku=sku,
            purchase_order_item_id=ids["purchase_order_item_id"],
            order_item_id=ids["order_item_id"],
            inventory_variant_id=ids["inventory_variant_id"],
            rma_item_id=ids["rma_item_id"],
            custom_fields=_custom(self.columns.item_custom, cells),
        )

    def _shipment(
        self,
        values: Values,
        cells: tuple[str, ...],
        numbers: tuple[str, ...],
        problems: list[str],
    ) -> tuple[ShipmentFields, tuple[str, ...]]:
        """The shipment-level fields, and the row's warnings (check digits, dates, carrier)."""
        rules = self.rules
        warnings: list[str] = []
        carrier = values.get("carrier") or self.columns.profile.carrier
        method = values.get("method")
        if rules.carriers is not None and carrier:
            sent = rules.carriers.resolve(carrier, method)
            if sent.changed:
                shown = f"{sent.carrier} / {sent.method}" if sent.method else str(sent.carrier)
                warnings.append(f"Sent Carrier: {shown}")
                self.sent_carriers[(carrier, shown)] += 1
            carrier, method = sent.carrier, sent.method
        shipped_at = None
        if "shipped_at" in values:
            try:
                parsed = parse_ship_date(
                    self._labels["shipped_at"],
                    values["shipped_at"],
                    rules.date_order,
                    today=rules.today,
                )
                shipped_at = parsed.iso
                if parsed.warning:
                    warnings.append(parsed.warning)
            except CellError as exc:
                problems.append(str(exc))
        shipment = ShipmentFields(
            carrier=carrier,
            method=method,
            shipped_at=shipped_at,
            shipping_cost=self._typed(values, "shipping_cost", self._money, problems),
            tracking_url=values.get("tracking_url"),
            note=values.get("note"),
            suppressed=self._typed(values, "suppressed", parse_bool, problems),
            custom_fields=_custom(self.columns.shipment_custom, cells),
        )
        if numbers[0] and (warning := tracking_warning(", ".join(numbers), carrier)):
            warnings.insert(0, warning)
        return shipment, tuple(warnings)

    def _no_item_identifier(self) -> str:
        label = self._labels
        names = f"{label['sku']}, {label['purchase_order_item_id']} or {label['order_item_id']}"
        if any(name in self.columns.fields for name in ("sku", *NUMERIC_ITEM_IDS)):
            return f"no item identifier: fill in {names}"
        return (
            f"no item identifier: this file has no {names} column, only "
            f"{label['quantity']}; add a SKU column (or map one with --map sku=HEADER), or "
            f"leave {label['quantity']} empty to ship every item that remains on the PO"
        )

    def _money(self, column: str, value: str) -> float:
        return parse_money(column, value, self.rules.decimal_comma)

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

    def _po_identity(
        self, values: Values, problems: list[str], *, package_of: str | None
    ) -> PoIdentity | None:
        """PO number + source (from the row or --source-id), or a fulfillment request ID.

        A package row of a multi-package shipment (FedEx's 2nd and later packages) may leave
        the PO blank when it names its master tracking number: grouping finds its PO.
        """
        label = self._labels
        if "fulfillment_request_id" in values:
            fr_id = self._typed(values, "fulfillment_request_id", parse_int, problems)
            return PoIdentity(fulfillment_request_id=fr_id) if fr_id is not None else None
        po_number = values.get("po_number")
        if not po_number:
            if not package_of:
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
