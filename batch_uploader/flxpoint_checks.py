"""What Flxpoint would say about a request, decided from what it told us (pure functions).

Given the fulfillment request (PO) a request names, as `lookups.FlxpointReader` read it, these
functions answer before anything is sent: is the PO there, are the items on it, is there
that much left to ship, or is it all shipped already. Each verdict is a `CheckVerdict`:
- `ok`: nothing wrong that we can see;
- `invalid`: Flxpoint would refuse it; `reason` is the clerk-facing sentence;
- `shipped`: the PO is already fully shipped in Flxpoint; `reason` is `ALREADY_SHIPPED`
  (the contract's `skipped` reason), for the lead to mark the rows `skipped`.

Rules the API pages leave open, decided here:
- an item is found by its PO item ID when it has one, else by SKU (exact match, as
  `POST /shipments` matches it), else by order item ID; an item named only by inventory
  variant or RMA item is not judged;
- quantities are summed over the request's items per PO line (or per SKU, when a SKU is on
  several lines: then what remains on all of them counts);
- a PO with no items at all (the sandbox's `auto_create_pos` makes them) tells us nothing
  about items: item rows are not judged against it; a whole-PO row on it is `invalid`;
- a PO whose every line is voided is canceled (`invalid`), not "already shipped".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from batch_uploader.lookups import FrItem, FulfillmentRequest, KnownShipment
from batch_uploader.models import ItemFields, PoIdentity, ShipmentRequest

ALREADY_SHIPPED = "already fully shipped in Flxpoint"
TIMES = "\u00d7"  # the multiplication sign of the messages (ruff keeps it out of docstrings)
# Lists of a PO's SKUs in messages stop after this many.
MAX_LISTED_SKUS = 10

VerdictKind = Literal["ok", "invalid", "shipped"]


@dataclass(frozen=True, slots=True)
class CheckVerdict:
    """The outcome of a check: ok, invalid (with the reason), or already shipped."""

    kind: VerdictKind
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Nothing wrong that Flxpoint's answers show."""
        return self.kind == "ok"


OK = CheckVerdict("ok")
SHIPPED = CheckVerdict("shipped", ALREADY_SHIPPED)


def po_not_found(po: PoIdentity) -> str:
    """`PO 1001 not found in Flxpoint (source 101)`: the reason for an unknown PO."""
    if po.fulfillment_request_id is not None and po.po_number is None:
        return f"Fulfillment request {po.fulfillment_request_id} not found in Flxpoint"
    source = f" (source {po.source_id})" if po.source_id is not None else ""
    return f"PO {po.po_number} not found in Flxpoint{source}"


def _po_name(fr: FulfillmentRequest) -> str:
    source = f" (source {fr.source_id})" if fr.source_id is not None else ""
    return f"PO {fr.number}{source}"


def _skus(fr: FulfillmentRequest) -> str:
    names = list(dict.fromkeys(item.sku or f"PO item ID {item.id}" for item in fr.items))
    shown = ", ".join(names[:MAX_LISTED_SKUS])
    more = f" and {len(names) - MAX_LISTED_SKUS} more" if len(names) > MAX_LISTED_SKUS else ""
    return shown + more


def _remains(count: int) -> str:
    return f"{count} remains" if count == 1 else f"{count} remain"


def _fully_done(fr: FulfillmentRequest) -> CheckVerdict | None:
    """`shipped` or canceled `invalid` when nothing remains on the PO, else None."""
    if not fr.items or any(item.remaining > 0 for item in fr.items):
        return None
    if any(item.shipped > 0 for item in fr.items):
        return SHIPPED
    return CheckVerdict(
        "invalid",
        f"{_po_name(fr)} is canceled in Flxpoint: every item is voided, nothing remains to ship",
    )


def whole_po_items(fr: FulfillmentRequest) -> tuple[ItemFields, ...]:
    """One item per PO line with something left to ship, that whole remainder."""
    return tuple(
        ItemFields(quantity=item.remaining, sku=item.sku, purchase_order_item_id=item.id)
        for item in fr.items
        if item.remaining > 0
    )


def check_whole_po(po: PoIdentity, fr: FulfillmentRequest | None) -> CheckVerdict:
    """May a whole-PO row (no item, no quantity) ship what remains on this PO?"""
    if fr is None:
        return CheckVerdict("invalid", po_not_found(po))
    if not fr.items:
        return CheckVerdict(
            "invalid",
            f"{_po_name(fr)} has no items in Flxpoint, so there is nothing to ship whole; "
            "give the SKU and Quantity",
        )
    return _fully_done(fr) or OK


@dataclass(frozen=True, slots=True)
class _Wanted:
    label: str
    lines: tuple[FrItem, ...]


def _find_lines(item: ItemFields, fr: FulfillmentRequest) -> _Wanted | str | None:
    """The PO lines `item` names, a reason it names none, or None (cannot be judged)."""
    if item.purchase_order_item_id is not None:
        line = next((li for li in fr.items if li.id == item.purchase_order_item_id), None)
        if line is None:
            return (
                f"PO item ID {item.purchase_order_item_id} is not on {_po_name(fr)} "
                f"(its items: {_skus(fr)})"
            )
        if item.sku is not None and line.sku is not None and item.sku != line.sku:
            return (
                f"PO item ID {item.purchase_order_item_id} is SKU {line.sku} on "
                f"{_po_name(fr)}, not {item.sku}"
            )
        return _Wanted(line.sku or f"PO item ID {line.id}", (line,))
    if item.sku is not None:
        lines = tuple(li for li in fr.items if li.sku == item.sku)
        if not lines:
            return f"SKU {item.sku} is not on {_po_name(fr)} (its SKUs: {_skus(fr)})"
        return _Wanted(item.sku, lines)
    if item.order_item_id is not None and any(li.order_item_id for li in fr.items):
        lines = tuple(li for li in fr.items if li.order_item_id == item.order_item_id)
        if not lines:
            return f"Order item ID {item.order_item_id} is not on {_po_name(fr)}"
        return _Wanted(lines[0].sku or f"Order item ID {item.order_item_id}", lines)
    return None


def check_request(request: ShipmentRequest, fr: FulfillmentRequest | None) -> CheckVerdict:
    """Would Flxpoint take this request? `fr` is the PO it names (None: not found).

    Checks, in order: the PO exists; every item is on it; the PO is not already fully
    shipped (`shipped`) or canceled; each line has at least the requested quantity left.
    """
    if fr is None:
        return CheckVerdict("invalid", po_not_found(request.po))
    if not fr.items:
        return OK  # nothing known about its items: Flxpoint will judge them
    problems: list[str] = []
    wanted: dict[frozenset[int], tuple[_Wanted, int]] = {}
    for item in request.items:
        found = _find_lines(item, fr)
        if isinstance(found, str):
            problems.append(found)
        elif found is not None:
            key = frozenset(line.id for line in found.lines)
            _, quantity = wanted.get(key, (found, 0))
            wanted[key] = (found, quantity + item.quantity)
    if problems:
        return CheckVerdict("invalid", "; ".join(dict.fromkeys(problems)))
    done = _fully_done(fr)
    if done is not None:
        return done
    for found, quantity in wanted.values():
        remaining = sum(line.remaining for line in found.lines)
        if quantity <= remaining:
            continue
        if remaining == 0:
            ordered = sum(line.quantity for line in found.lines)
            shipped = sum(line.shipped for line in found.lines)
            voided = sum(line.voided for line in found.lines)
            tally = f"{ordered} ordered, {shipped} shipped" + (
                f", {voided} voided" if voided else ""
            )
            problems.append(
                f"{found.label} {TIMES}{quantity} but nothing remains to ship on "
                f"{_po_name(fr)} ({tally})"
            )
        else:
            problems.append(
                f"{found.label} {TIMES}{quantity} but only {_remains(remaining)} to ship on "
                f"{_po_name(fr)}"
            )
    if problems:
        return CheckVerdict("invalid", "; ".join(problems))
    return OK


def shipped_items_note(items: Iterable[ItemFields]) -> str:
    """What a whole-PO row shipped, for the workbook: "shipped SKU-A (times) 2, SKU-B (times) 1".

    The sign is `TIMES` with no space before the count.
    """
    totals: dict[str, int] = {}
    for item in items:
        if item.sku is not None:
            label = item.sku
        elif item.purchase_order_item_id is not None:
            label = f"PO item ID {item.purchase_order_item_id}"
        else:
            label = "an item"
        totals[label] = totals.get(label, 0) + item.quantity
    if not totals:
        return "shipped nothing"
    return "shipped " + ", ".join(
        f"{label} {TIMES}{quantity}" for label, quantity in totals.items()
    )


def known_shipment(
    request: ShipmentRequest, shipments: Sequence[KnownShipment]
) -> KnownShipment | None:
    """The shipment Flxpoint already has with this request's tracking number, if any.

    Compared as Flxpoint's duplicate check would (the exact tracking number, on this FR).
    """
    return next(
        (s for s in shipments if s.tracking_number.strip() == request.tracking_number.strip()),
        None,
    )
