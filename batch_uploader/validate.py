"""One input row → a `ShipmentLine` ready to send, or a `RowProblem` saying why not.

Every rule of the API page is checked here, before anything is sent, so a bad row costs the
user a line in the workbook instead of a request and a confusing API error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
SHIPMENT_TEXT_FIELDS = ("carrier", "method", "tracking_url", "note")
T = TypeVar("T")
ITEM_ID_FIELDS = ("purchase_order_item_id", "order_item_id", "inventory_variant_id", "rma_item_id")


@dataclass(frozen=True)
class RowValidator:
    """Validates the rows of one table under its column map."""

    columns: ColumnMap
    file_index: int
    default_source_id: int | None = None

    def __call__(self, row_number: int, cells: tuple[str, ...]) -> ShipmentLine | RowProblem:
        """Check one row; all of its problems are reported together, not just the first."""
        ref = RowRef(self.file_index, row_number)
        problems: list[str] = []
        fields = self.columns.fields

        def text(field: str) -> str:
            index = fields.get(field)
            return clean(cells[index]) if index is not None else ""

        def label(field: str) -> str:
            index = fields.get(field)
            return self._header(index) if index is not None else FIELD_LABELS[field]

        def typed(field: str, parse: Callable[[str, str], T]) -> T | None:
            value = text(field)
            if not value:
                return None
            try:
                return parse(label(field), value)
            except CellError as exc:
                problems.append(str(exc))
                return None

        if text("void").casefold() in VOID_VALUES:
            return RowProblem(ref, "voided label: this package was voided, so it is not sent")

        tracking = text("tracking_number")
        if not tracking:
            problems.append(f"{label('tracking_number')} is empty")
        else:
            damage = excel_damage(label("tracking_number"), tracking)
            if damage:
                problems.append(damage)

        po = self._po_identity(text, label, typed, problems)
        quantity = typed("quantity", parse_int)
        if quantity is None and not text("quantity"):
            problems.append(f"{label('quantity')} is empty")
        ids = {field: typed(field, parse_int) for field in ITEM_ID_FIELDS}
        sku = text("sku") or None
        if sku is not None and (damage := excel_damage(label("sku"), sku)):
            problems.append(damage)
        # The API takes sku, purchaseOrderItemId or orderItemId as the item's identity;
        # an inventory variant ID alone is not enough.
        if not sku and not any(text(f) for f in ("purchase_order_item_id", "order_item_id")):
            problems.append(
                f"no item identifier: fill in {label('sku')}, {label('purchase_order_item_id')} "
                f"or {label('order_item_id')}"
            )
        shipment = ShipmentFields(
            carrier=text("carrier") or None,
            method=text("method") or None,
            shipped_at=typed("shipped_at", parse_datetime),
            shipping_cost=typed("shipping_cost", parse_money),
            tracking_url=text("tracking_url") or None,
            note=text("note") or None,
            suppressed=typed("suppressed", parse_bool),
            custom_fields=self._custom(self.columns.shipment_custom, cells),
        )
        warning = tracking_warning(tracking, shipment.carrier) if tracking else None
        warnings = (warning,) if warning else ()
        if problems or po is None or quantity is None:
            return RowProblem(ref, "; ".join(problems), warnings)
        item = ItemFields(
            quantity=quantity,
            sku=sku,
            purchase_order_item_id=ids["purchase_order_item_id"],
            order_item_id=ids["order_item_id"],
            inventory_variant_id=ids["inventory_variant_id"],
            rma_item_id=ids["rma_item_id"],
            custom_fields=self._custom(self.columns.item_custom, cells),
        )
        given = frozenset(
            f
            for f in (*SHIPMENT_TEXT_FIELDS, "shipped_at", "shipping_cost", "suppressed")
            if text(f)
        ) | (frozenset({"custom_fields"}) if shipment.custom_fields else frozenset())
        return ShipmentLine(ref, po, tracking, shipment, item, given, warnings)

    def _po_identity(
        self,
        text: Callable[[str], str],
        label: Callable[[str], str],
        typed: Callable[[str, Callable[[str, str], int]], int | None],
        problems: list[str],
    ) -> PoIdentity | None:
        """PO number + source (from the row or --source-id), or a fulfillment request ID."""
        fr_id = typed("fulfillment_request_id", parse_int)
        if fr_id is not None:
            return PoIdentity(fulfillment_request_id=fr_id)
        if text("fulfillment_request_id"):
            return None  # its parse problem is already recorded
        po_number = text("po_number")
        damage = excel_damage(label("po_number"), po_number) if po_number else None
        if damage:
            problems.append(damage)
            return None
        if not po_number:
            problems.append(
                f"no purchase order: fill in {label('po_number')} "
                f"or {label('fulfillment_request_id')}"
            )
            return None
        source_id = typed("source_id", parse_int)
        if source_id is None and text("source_id"):
            return None
        if source_id is None:
            source_id = self.default_source_id
        return PoIdentity(po_number=po_number, source_id=source_id)

    def _header(self, index: int) -> str:
        """The column as the user's file names it, so the reason points at their header."""
        return self.columns.header[index]

    @staticmethod
    def _custom(
        spec: tuple[tuple[str, int], ...], cells: tuple[str, ...]
    ) -> tuple[tuple[str, str], ...]:
        """Custom fields with a value; empty ones are left out, as the API would ignore them."""
        return tuple((name, value) for name, index in spec if (value := clean(cells[index])))
