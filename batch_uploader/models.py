"""The typed records that flow through the pipeline, one stage to the next.

Everything here is a frozen dataclass: a stage receives values, never a shared mutable dict,
so a later stage cannot quietly change what an earlier one decided.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Status(enum.StrEnum):
    """A row's final status, exactly as the contract spells it in the workbook."""

    CREATED = "created"
    SKIPPED = "skipped"
    INVALID = "invalid"
    FAILED = "failed"
    NOT_SENT = "not sent"


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One non-blank data row: its row number as a spreadsheet shows it, and its cells."""

    row_number: int
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True, order=True)
class RowRef:
    """One input row: which input file (0-based, command-line order) and its row number."""

    file_index: int
    row_number: int


@dataclass(frozen=True, slots=True)
class PoIdentity:
    """How the API finds the purchase order: PO number + source, or a fulfillment request ID."""

    po_number: str | None = None
    source_id: int | None = None
    fulfillment_request_id: int | None = None

    @property
    def label(self) -> str:
        """The PO as a clerk would name it in a message."""
        if self.fulfillment_request_id is not None:
            return f"fulfillment request {self.fulfillment_request_id}"
        source = f" (source {self.source_id})" if self.source_id is not None else ""
        return f"PO {self.po_number}{source}"

    @property
    def key(self) -> str:
        """A stable text form, used for grouping and in the journal key."""
        if self.fulfillment_request_id is not None:
            return f"fr:{self.fulfillment_request_id}"
        return f"po:{self.source_id if self.source_id is not None else ''}:{self.po_number}"


CustomFields = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ShipmentFields:
    """Shipment-level fields; every row of one request must agree on them."""

    carrier: str | None = None
    method: str | None = None
    shipped_at: str | None = None  # ISO 8601 / RFC 3339 in UTC, e.g. 2026-11-26T16:15:00Z
    shipping_cost: float | None = None
    tracking_url: str | None = None
    note: str | None = None
    suppressed: bool | None = None
    custom_fields: CustomFields = ()


@dataclass(frozen=True, slots=True)
class ItemFields:
    """One shipment item: one input row."""

    quantity: int
    sku: str | None = None
    purchase_order_item_id: int | None = None
    order_item_id: int | None = None
    inventory_variant_id: int | None = None
    rma_item_id: int | None = None
    custom_fields: CustomFields = ()


@dataclass(frozen=True, slots=True)
class ShipmentLine:
    """A valid input row, ready to be grouped."""

    ref: RowRef
    # None only for a package row that names its master tracking number instead of a PO.
    po: PoIdentity | None
    tracking_number: str
    shipment: ShipmentFields
    item: ItemFields | None  # None: a whole-PO row, no item lines
    # Which shipment-level columns this row filled in (blank cells do not disagree).
    given: frozenset[str] = frozenset()
    warnings: tuple[str, ...] = ()
    master_tracking: str | None = None  # FedEx master / UPS lead tracking number
    packages: tuple[str, ...] = ()  # more tracking numbers in the same cell (other boxes)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row that will not be sent, and the reason a shipping clerk can act on."""

    ref: RowRef
    reason: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ShipmentRequest:
    """One Create Shipment request: one PO identity + one tracking number, one item per row."""

    po: PoIdentity
    tracking_number: str
    shipment: ShipmentFields
    items: tuple[ItemFields, ...]  # empty: a whole-PO shipment, its items come from Flxpoint
    refs: tuple[RowRef, ...]
    allow_duplicate_tracking: bool = False

    @property
    def whole_po(self) -> bool:
        """No item lines: ship every item that remains on the PO (looked up before sending)."""
        return not self.items

    @property
    def label(self) -> str:
        """`PO 1001 (source 101) / tracking 1Z...` for logs and messages."""
        return f"{self.po.label} / tracking {self.tracking_number}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one request; every row of the request shares it."""

    status: Status
    shipment_id: int | None = None
    error: str = ""
    attempts: int = 0
    http_status: int | None = None
    note: str = ""  # added to every row's Warnings, e.g. what a whole-PO shipment shipped


@dataclass(frozen=True, slots=True)
class RowResult:
    """The workbook line of one input row."""

    status: Status
    shipment_id: int | None = None
    error: str = ""
    warnings: tuple[str, ...] = field(default=())
