"""Purchase orders and shipments, the rules of creating a shipment, and the read views.

`World` is not thread-safe: `SandboxState` calls it under its lock, so a check (is this
tracking number new on the PO?) and the write that follows it happen as one step, and a
read sees every shipment created before it (`shippedQuantity` included).

Read views (`GET /fulfillment-requests`, `GET /shipments`) see what the token sees: the
account token everything, a source token its own source only. Both are sorted (FRs by id,
shipments by creation) and sliced into 1-based pages. With `auto_create_pos`, a PO number
asked for with a known source (a source token, or `filterSourceId`) is created on the fly
with no items, and so is FR N+1 when asked for with `sinceId=N` (the reader's look-up by
id); a later POST adds the items it names, already fully shipped by that POST.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from batch_uploader.sandbox.reads import FrQuery, ShipmentQuery
from batch_uploader.sandbox.schema import (
    ApiError,
    CreateShipmentRequest,
    CustomField,
    ItemRequest,
    bad_request,
)
from batch_uploader.sandbox.seed import PoItem, PurchaseOrder, Seed

FIRST_SHIPMENT_ID = 500_001
FIRST_SHIPMENT_ITEM_ID = 700_001
FIRST_CUSTOM_FIELD_ID = 900_001
# Purchase orders and items made up by `auto_create_pos` get ids far from the seed's.
FIRST_AUTO_PO_ID = 9_000_001
FIRST_AUTO_ITEM_ID = 9_500_001
# Shipments the seed says Flxpoint already had get ids below those created by POSTs.
FIRST_SEED_SHIPMENT_ID = 400_001
FIRST_SEED_SHIPMENT_ITEM_ID = 600_001
# The seed has no dates for its purchase orders; they were all sent and acknowledged then.
SEED_GENERATED_AT = "2026-11-20T13:55:00.000Z"
SEED_SENT_AT = "2026-11-20T14:00:00.000Z"
SEED_ACKNOWLEDGED_AT = "2026-11-20T15:30:00.000Z"
FR_STATUS = "Acknowledged"
TOKEN_FINGERPRINT_HEX_CHARS = 12

_PO_ITEM_ID = operator.attrgetter("purchase_order_item_id")
_ORDER_ITEM_ID = operator.attrgetter("order_item_id")
_SOURCE_VARIANT_ID = operator.attrgetter("source_variant_id")
_SKU = operator.attrgetter("sku")


def token_fingerprint(token: str) -> str:
    """Return a stable, non-reversible name for a token, safe to log and compare."""
    digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
    return f"sha256:{digest[:TOKEN_FINGERPRINT_HEX_CHARS]}"


@dataclass(frozen=True)
class Principal:
    """Who a token acts as: the account (`source_id` None) or one source."""

    fingerprint: str
    source_id: int | None


class World:
    """The seed's purchase orders plus every shipment created since the last reset."""

    def __init__(self, seed: Seed, *, auto_create_pos: bool = False) -> None:
        self.seed = seed
        self.auto_create_pos = auto_create_pos
        self.shipments: list[dict[str, Any]] = []
        self._principals = {
            seed.account_token: Principal(token_fingerprint(seed.account_token), None)
        }
        for source in seed.sources:
            self._principals[source.token] = Principal(
                token_fingerprint(source.token), source.source_id
            )
        self._source_ids = {source.source_id for source in seed.sources}
        self._pos = {po.fulfillment_request_id: po for po in seed.purchase_orders}
        self._po_numbers = {
            (po.source_id, po.purchase_order_number): po.fulfillment_request_id
            for po in seed.purchase_orders
        }
        # (fulfillment request id, tracking number) -> the first shipment id with it
        self._tracking: dict[tuple[int, str], int] = {}
        # (fulfillment request id, purchase order item id) -> quantity shipped so far
        self._shipped: dict[tuple[int, int], int] = {}
        self._shipment_ids: Iterator[int] = itertools.count(FIRST_SHIPMENT_ID)
        self._item_ids: Iterator[int] = itertools.count(FIRST_SHIPMENT_ITEM_ID)
        self._custom_field_ids: Iterator[int] = itertools.count(FIRST_CUSTOM_FIELD_ID)
        self._auto_po_ids: Iterator[int] = itertools.count(FIRST_AUTO_PO_ID)
        self._auto_item_ids: Iterator[int] = itertools.count(FIRST_AUTO_ITEM_ID)
        # fulfillment request id -> when it was created on the fly (auto_create_pos)
        self._auto_created_at: dict[int, str] = {}
        self.seed_shipments: list[dict[str, Any]] = []
        """Shipments Flxpoint had before we started (seed); not in `shipments`."""
        self._seed_shipment_ids: Iterator[int] = itertools.count(FIRST_SEED_SHIPMENT_ID)
        self._seed_item_ids: Iterator[int] = itertools.count(FIRST_SEED_SHIPMENT_ITEM_ID)
        account = self._principals[seed.account_token]
        for po in seed.purchase_orders:
            for request in po.shipments:  # ApiError: the seed is inconsistent
                self._create(account, request, seeded=True)

    def principal(self, token: str) -> Principal | None:
        """Return who `token` acts as, or None if the seed does not know it."""
        return self._principals.get(token)

    def create(self, principal: Principal, request: CreateShipmentRequest) -> dict[str, Any]:
        """Create a shipment and return a copy of it, or raise `ApiError`.

        Checks, in order: the source and PO the request names (400/404), that every
        item is on the PO (400), that the tracking number is new on the PO unless
        duplicates are allowed (409). Nothing is changed when a check fails, except
        that `auto_create_pos` may have added the PO or its items.
        """
        return copy.deepcopy(self._create(principal, request, seeded=False))

    def _create(
        self, principal: Principal, request: CreateShipmentRequest, *, seeded: bool
    ) -> dict[str, Any]:
        po = self._resolve_po(principal, request)
        matched = [
            self._match_item(po.fulfillment_request_id, item, f"shipment.shipmentItems[{index}]")
            for index, item in enumerate(request.shipment.items)
        ]
        po = self._pos[po.fulfillment_request_id]  # items may have been auto-added
        tracking_key = (po.fulfillment_request_id, request.shipment.tracking_number)
        existing = self._tracking.get(tracking_key)
        if existing is not None and not request.allow_duplicate_tracking_numbers:
            raise ApiError(
                409,
                f"Tracking number {request.shipment.tracking_number} already exists on "
                f"purchase order {po.purchase_order_number}",
                {"shipmentId": existing},
            )
        shipment = self._build_shipment(po, request, matched, seeded=seeded)
        (self.seed_shipments if seeded else self.shipments).append(shipment)
        self._tracking.setdefault(tracking_key, shipment["id"])
        return shipment

    # --- which purchase order -------------------------------------------------------

    def _scope(self, principal: Principal, source_id: int | None) -> int | None:
        """Return the source the request is limited to (None: the whole account)."""
        if principal.source_id is not None:
            if source_id is not None and source_id != principal.source_id:
                bad_request(
                    f"sourceId {source_id} does not match the source of this token "
                    f"({principal.source_id}); leave sourceId out when using a source token"
                )
            return principal.source_id
        if source_id is not None and source_id not in self._source_ids:
            raise ApiError(404, f"Source {source_id} not found")
        return source_id

    def _resolve_po(self, principal: Principal, request: CreateShipmentRequest) -> PurchaseOrder:
        scope = self._scope(principal, request.source_id)
        number = request.purchase_order_number
        fr_id = request.fulfillment_request_id
        if fr_id is None:
            if scope is None:
                bad_request(
                    "sourceId is required with purchaseOrderNumber when using an account token"
                )
            assert number is not None  # the schema guarantees one PO identifier
            known = self._po_numbers.get((scope, number))
            if known is not None:
                return self._pos[known]
            if not self.auto_create_pos:
                raise ApiError(404, f"Purchase order {number} not found for source {scope}")
            return self._add_po(next(self._auto_po_ids), number, scope)
        po = self._pos.get(fr_id)
        if po is None and self.auto_create_pos:
            source = scope if scope is not None else self.seed.sources[0].source_id
            if number is not None and (source, number) in self._po_numbers:
                bad_request(
                    f"fulfillmentRequestId {fr_id} and purchaseOrderNumber {number} "
                    "name different purchase orders"
                )
            return self._add_po(fr_id, number or f"AUTO-{fr_id}", source)
        if po is None or (scope is not None and po.source_id != scope):
            suffix = f" for source {scope}" if scope is not None else ""
            raise ApiError(
                404, f"Purchase order with fulfillmentRequestId {fr_id} not found{suffix}"
            )
        if number is not None and number != po.purchase_order_number:
            bad_request(
                f"fulfillmentRequestId {fr_id} is purchase order {po.purchase_order_number}, "
                f"not {number}"
            )
        return po

    def _add_po(self, fr_id: int, number: str, source_id: int) -> PurchaseOrder:
        self._auto_created_at[fr_id] = _timestamp(datetime.now(UTC))
        po = PurchaseOrder(
            fulfillment_request_id=fr_id,
            purchase_order_number=number,
            source_id=source_id,
            order_id=fr_id,
            items=(),
        )
        self._pos[fr_id] = po
        self._po_numbers[(source_id, number)] = fr_id
        return po

    # --- which items ----------------------------------------------------------------

    def _match_item(self, fr_id: int, item: ItemRequest, path: str) -> PoItem:
        """Find the PO line an item refers to; every identifier given must agree."""
        po = self._pos[fr_id]
        wanted: list[tuple[str, object, Callable[[PoItem], object]]] = [
            ("purchaseOrderItemId", item.purchase_order_item_id, _PO_ITEM_ID),
            ("orderItemId", item.order_item_id, _ORDER_ITEM_ID),
            ("sourceVariantId", item.source_variant_id, _SOURCE_VARIANT_ID),
            ("sku", item.sku, _SKU),
        ]
        lookups = [
            (name, value, next((line for line in po.items if get(line) == value), None))
            for name, value, get in wanted
            if value is not None
        ]
        found = {line.purchase_order_item_id: line for _, _, line in lookups if line is not None}
        if len(found) > 1:
            named = " and ".join(f"{name} {value}" for name, value, _ in lookups)
            bad_request(
                f"{path}: {named} are different items of purchase order {po.purchase_order_number}"
            )
        missing = [(name, value) for name, value, line in lookups if line is None]
        if missing and not self.auto_create_pos:
            name, value = missing[0]
            if name == "sku":
                bad_request(f"SKU {value!r} is not on purchase order {po.purchase_order_number}")
            bad_request(
                f"{path}.{name} {value} is not on purchase order {po.purchase_order_number}"
            )
        if found:
            return next(iter(found.values()))
        # Only with auto_create_pos: nothing matched, so the item joins the PO.
        return self._add_item(fr_id, item)

    def _add_item(self, fr_id: int, item: ItemRequest) -> PoItem:
        new_id = next(self._auto_item_ids)
        line = PoItem(
            purchase_order_item_id=item.purchase_order_item_id or new_id,
            order_item_id=item.order_item_id or new_id,
            sku=item.sku or f"AUTO-SKU-{new_id}",
            quantity=item.quantity,
            inventory_variant_id=item.inventory_variant_id,
            source_variant_id=item.source_variant_id,
        )
        po = self._pos[fr_id]
        self._pos[fr_id] = dataclasses.replace(po, items=(*po.items, line))
        return line

    # --- GET /fulfillment-requests -------------------------------------------------

    def fulfillment_requests(self, principal: Principal, query: FrQuery) -> list[dict[str, Any]]:
        """Return one page of the FRs `principal` sees that match `query`, sorted by id."""
        scope = principal.source_id
        if scope is not None and query.source_id not in (None, scope):
            return []  # a filter on another source: a source token sees none of it
        source = scope if scope is not None else query.source_id
        if query.numbers is not None and self.auto_create_pos and source in self._source_ids:
            for number in query.numbers:
                if (source, number) not in self._po_numbers:
                    self._add_po(next(self._auto_po_ids), number, source)
        if query.since_id is not None and self.auto_create_pos:
            self._auto_create_after(principal, query.since_id)
        wanted = set(query.numbers) if query.numbers is not None else None
        found = [
            self._fr_json(po)
            for po in sorted(self._pos.values(), key=_FR_ID)
            if (source is None or po.source_id == source)
            and (wanted is None or po.purchase_order_number in wanted)
            and (query.order_id is None or po.order_id == query.order_id)
            and (query.since_id is None or po.fulfillment_request_id > query.since_id)
        ]
        if query.status is not None:
            found = [fr for fr in found if fr["fulfillmentRequestStatus"]["name"] == query.status]
        if query.fulfilment_status is not None:
            found = [fr for fr in found if _fulfilment_status(fr) == query.fulfilment_status]
        return found[query.page.of(found)]

    def _auto_create_after(self, principal: Principal, since_id: int) -> None:
        """`sinceId=N` is how a client looks up FR N+1 by id: make it exist, as a POST with
        `fulfillmentRequestId` N+1 would (same source and number rules as there)."""
        fr_id = since_id + 1
        if fr_id < 1 or fr_id in self._pos:
            return
        source = principal.source_id
        if source is None:
            source = self.seed.sources[0].source_id
        if (source, f"AUTO-{fr_id}") not in self._po_numbers:
            self._add_po(fr_id, f"AUTO-{fr_id}", source)

    def _fr_json(self, po: PurchaseOrder) -> dict[str, Any]:
        """An FR as the read-endpoints notes describe it, with today's shipped quantities."""
        fr_id = po.fulfillment_request_id
        created = self._auto_created_at.get(fr_id)
        items = []
        for line in po.items:
            shipped = self._shipped.get((fr_id, line.purchase_order_item_id), 0)
            items.append(
                {
                    "id": line.purchase_order_item_id,
                    "sku": line.sku,
                    "title": line.title or f"Item {line.sku}",
                    "quantity": line.quantity,
                    "shippedQuantity": shipped,
                    "voidedQuantity": line.voided_quantity,
                    "acknowledgedQuantity": line.quantity - line.voided_quantity,
                    "inventoryVariantId": line.inventory_variant_id,
                    "orderItemId": line.order_item_id,
                    "cost": None,
                    "upc": None,
                    "mpn": None,
                }
            )
        return {
            "id": fr_id,
            "fulfillmentRequestNumber": po.purchase_order_number,
            "orderId": po.order_id,
            "sourceId": po.source_id,
            "generatedAt": created or SEED_GENERATED_AT,
            "sentAt": created or SEED_SENT_AT,
            "acknowledgedAt": created or SEED_ACKNOWLEDGED_AT,
            "voidedAt": None,
            "fulfillmentRequestStatus": {"name": FR_STATUS},
            "shippingAddress": {
                "name": f"Customer of order {po.order_id}",
                "address1": "1 Sandbox Way",
                "city": "Jacksonville",
                "state": "FL",
                "postalCode": "32202",
                "country": "US",
            },
            "fulfillmentRequestItems": items,
        }

    # --- GET /shipments -------------------------------------------------------------

    def find_shipments(self, principal: Principal, query: ShipmentQuery) -> list[dict[str, Any]]:
        """Return one page of the shipments `principal` sees that match, oldest first."""
        found = [
            shipment
            for shipment in itertools.chain(self.seed_shipments, self.shipments)
            if (principal.source_id is None or shipment["sourceId"] == principal.source_id)
            and (query.fr_id is None or shipment["fulfillmentRequestId"] == query.fr_id)
            and (query.order_id is None or shipment["orderId"] == query.order_id)
            and _after(shipment["insertedAt"], query.created_after)
            and _after(shipment["updatedAt"], query.updated_after)
        ]
        return copy.deepcopy(found[query.page.of(found)])

    def shipment(self, principal: Principal, shipment_id: int) -> dict[str, Any]:
        """Return one shipment `principal` sees, or raise `ApiError(404)`."""
        for shipment in itertools.chain(self.seed_shipments, self.shipments):
            if shipment["id"] == shipment_id and principal.source_id in (
                None,
                shipment["sourceId"],
            ):
                return copy.deepcopy(shipment)
        raise ApiError(404, f"Shipment {shipment_id} not found")

    # --- the Shipment object --------------------------------------------------------

    def _custom_fields(self, fields: tuple[CustomField, ...]) -> list[dict[str, Any]]:
        """Keep fields with a name and a value, the first of each name; give each an id."""
        kept: list[dict[str, Any]] = []
        seen: set[str] = set()
        for custom in fields:
            if not custom.name.strip() or not custom.value.strip() or custom.name in seen:
                continue
            seen.add(custom.name)
            kept.append(
                {"id": next(self._custom_field_ids), "name": custom.name, "value": custom.value}
            )
        return kept

    def _build_shipment(
        self,
        po: PurchaseOrder,
        request: CreateShipmentRequest,
        matched: list[PoItem],
        *,
        seeded: bool = False,
    ) -> dict[str, Any]:
        """Record the shipped quantities and return the API page's full Shipment object."""
        body = request.shipment
        shipment_ids = self._seed_shipment_ids if seeded else self._shipment_ids
        item_ids = self._seed_item_ids if seeded else self._item_ids
        shipment_id = next(shipment_ids)
        now = _timestamp(datetime.now(UTC))
        items: list[dict[str, Any]] = []
        for item, line in zip(body.items, matched, strict=True):
            key = (po.fulfillment_request_id, line.purchase_order_item_id)
            self._shipped[key] = self._shipped.get(key, 0) + item.quantity
            items.append(
                {
                    "id": next(item_ids),
                    "sku": line.sku,
                    "quantity": item.quantity,
                    "shipmentId": shipment_id,
                    "inventoryVariantId": (
                        item.inventory_variant_id
                        if item.inventory_variant_id is not None
                        else line.inventory_variant_id
                    ),
                    "partial": self._shipped[key] < line.quantity,
                    "orderItemId": line.order_item_id,
                    "purchaseOrderItemId": line.purchase_order_item_id,
                    "fulfillmentRequestItemId": line.purchase_order_item_id,
                    "committedStockReleasedQuantity": item.quantity,
                    "rmaItemId": item.rma_item_id,
                    "customFields": self._custom_fields(item.custom_fields),
                }
            )
        partial = any(
            self._shipped.get((po.fulfillment_request_id, line.purchase_order_item_id), 0)
            < line.quantity
            for line in po.items
        )
        return {
            "id": shipment_id,
            "note": body.note,
            "trackingUrl": body.tracking_url,
            "trackingNumber": body.tracking_number,
            "carrier": body.carrier,
            "method": body.method,
            "shippedAt": _timestamp(body.shipped_at) if body.shipped_at is not None else None,
            "insertedAt": now,
            "shippingCost": body.shipping_cost,
            "orderId": po.order_id,
            "purchaseOrderId": po.fulfillment_request_id,
            "fulfillmentRequestId": po.fulfillment_request_id,
            "rmaId": None,
            "sourceId": po.source_id,
            "accountId": self.seed.account_id,
            "partial": partial,
            "suppressed": body.suppressed,
            "syncedToChannel": False,
            "syncError": None,
            "crossDockPurchaseOrderId": None,
            "shipmentItems": items,
            "customFields": self._custom_fields(body.custom_fields),
            "updatedAt": now,
            "accountingSynced": False,
        }


_FR_ID = operator.attrgetter("fulfillment_request_id")


def _fulfilment_status(fr: dict[str, Any]) -> str:
    """Canceled (all voided), Shipped (nothing remains), Partially Shipped, or Awaiting."""
    items = fr["fulfillmentRequestItems"]
    if items and all(i["voidedQuantity"] >= i["quantity"] for i in items):
        return "Canceled"
    remaining = sum(
        max(0, i["quantity"] - i["shippedQuantity"] - i["voidedQuantity"]) for i in items
    )
    if items and remaining == 0:
        return "Shipped"
    if any(i["shippedQuantity"] for i in items):
        return "Partially Shipped"
    return "Awaiting Shipment"


def _after(stamp: str, moment: datetime | None) -> bool:
    """True if there is no bound, or the API timestamp `stamp` is after `moment`."""
    if moment is None:
        return True
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) > moment


def _timestamp(moment: datetime) -> str:
    """Render a date-time the way the API does: UTC, milliseconds, Z."""
    utc = moment.astimezone(UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")
