"""Ask Flxpoint before anything is posted: whole-PO rows get their items, a dry run its checks.

`consult` runs inside the sending phase's event loop with the run's HTTP client and each
token's own `Pacer` (the GETs share the API's 2 requests per second with the POSTs). For each
request it asks about:
- a whole-PO request (no item lines) ships what remains on its PO: unknown or canceled PO →
  `invalid`, nothing left → `skipped` ("already fully shipped in Flxpoint"), else the request
  gets one item per PO line with something left, and a note of what it ships;
- with `check_all` (a dry run with a token) every request is checked as Flxpoint would judge
  it (PO, SKU, quantity left) and none is sent.

Guarantees:
- POs are looked up once each: PO numbers in batches of `MAX_FR_NUMBERS` per GET, per token
  and source, pages large enough that a complete answer to a batch is one page (300 whole-PO
  rows of one source: 6 GETs); fulfillment request IDs one GET each;
- a PO number is only called unknown after a GET that asked for it alone among the missing
  ones came back without it, so an API that cuts pages shorter than asked cannot turn a real
  PO into an `invalid` row;
- `LookupFailed` / `LookupAuthError` propagate unchanged: the caller stops the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from batch_uploader.flxpoint_checks import (
    ALREADY_SHIPPED,
    CheckVerdict,
    check_request,
    check_whole_po,
    shipped_items_note,
    whole_po_items,
)
from batch_uploader.lookups import (
    MAX_FR_NUMBERS,
    FlxpointReader,
    FulfillmentRequest,
    all_or_none,
)
from batch_uploader.models import Outcome, PoIdentity, ShipmentRequest, Status

# A batch of MAX_FR_NUMBERS numbers of one source matches at most that many FRs: a page one
# larger holds the whole answer, so one GET answers a batch (a page of exactly MAX_FR_NUMBERS
# would be "full" and cost a second, empty page). The sandbox allows up to 100.
READ_PAGE_SIZE = MAX_FR_NUMBERS + 1
DRY_RUN_CHECKED = "dry run: checked against Flxpoint, nothing was sent"
WOULD_SHIP = "would ship"  # a dry run's note for a whole-PO row, instead of "shipped"

_T = TypeVar("_T")
_Key = tuple[int, str]  # (id of the reader, PoIdentity.key)


@dataclass(frozen=True, slots=True)
class Consulted:
    """What Flxpoint's answers decided for one request.

    `outcome` None: send `request` (for a whole-PO request: now with its items) and put
    `note` on its outcome. Otherwise the request is settled without sending.
    """

    request: ShipmentRequest
    outcome: Outcome | None = None
    note: str = ""
    fr: FulfillmentRequest | None = None  # the PO as Flxpoint described it, if looked up


def needs_asking(request: ShipmentRequest, *, check_all: bool) -> bool:
    """Whether `consult` looks this request's PO up."""
    return check_all or request.whole_po


async def consult(
    requests: Sequence[ShipmentRequest],
    reader_for: Callable[[ShipmentRequest], FlxpointReader],
    *,
    check_all: bool,
) -> list[Consulted]:
    """One Consulted per request, in order; requests that need no asking pass unchanged."""
    asked = [r for r in requests if needs_asking(r, check_all=check_all)]
    found = await _look_up(asked, reader_for)
    consulted = []
    for request in requests:
        if not needs_asking(request, check_all=check_all):
            consulted.append(Consulted(request))
            continue
        fr = found.get((id(reader_for(request)), request.po.key))
        consulted.append(_decide(request, fr, check_all=check_all))
    return consulted


def _decide(
    request: ShipmentRequest, fr: FulfillmentRequest | None, *, check_all: bool
) -> Consulted:
    if request.whole_po:
        verdict = check_whole_po(request.po, fr)
        if fr is None or not verdict.ok:
            return Consulted(request, _refused(verdict), fr=fr)
        items = whole_po_items(fr)
        note = shipped_items_note(items)
        request = replace(request, items=items)
        if not check_all:
            return Consulted(request, note=note, fr=fr)
        note = WOULD_SHIP + note.removeprefix("shipped")
        return Consulted(request, Outcome(Status.NOT_SENT, error=DRY_RUN_CHECKED, note=note), fr=fr)
    verdict = check_request(request, fr)
    if not verdict.ok:
        return Consulted(request, _refused(verdict), fr=fr)
    return Consulted(request, Outcome(Status.NOT_SENT, error=DRY_RUN_CHECKED), fr=fr)


def _refused(verdict: CheckVerdict) -> Outcome:
    if verdict.kind == "shipped":
        return Outcome(Status.SKIPPED, error=verdict.reason or ALREADY_SHIPPED)
    return Outcome(Status.INVALID, error=verdict.reason)


async def _look_up(
    requests: Sequence[ShipmentRequest],
    reader_for: Callable[[ShipmentRequest], FlxpointReader],
) -> dict[_Key, FulfillmentRequest | None]:
    """The FR of every distinct PO of `requests` (None: Flxpoint does not know it)."""
    by_number: dict[tuple[int, int | None], tuple[FlxpointReader, list[str]]] = {}
    by_id: dict[tuple[int, int], FlxpointReader] = {}
    for request in requests:
        reader, po = reader_for(request), request.po
        if po.fulfillment_request_id is not None:
            by_id[(id(reader), po.fulfillment_request_id)] = reader
        elif po.po_number is not None:
            _, numbers = by_number.setdefault((id(reader), po.source_id), (reader, []))
            numbers.append(po.po_number)
    jobs = [
        *(
            _numbers_job(reader, numbers, source)
            for (_, source), (reader, numbers) in by_number.items()
        ),
        *(_id_job(reader, fr_id) for (_, fr_id), reader in by_id.items()),
    ]
    found: dict[_Key, FulfillmentRequest | None] = {}
    for part in await all_or_none(jobs):
        found.update(part)
    return found


async def _numbers_job(
    reader: FlxpointReader, numbers: list[str], source_id: int | None
) -> dict[_Key, FulfillmentRequest | None]:
    frs = await _by_number(reader, numbers, source_id)
    return {
        (id(reader), PoIdentity(po_number=number, source_id=source_id).key): frs.get(number)
        for number in numbers
    }


async def _id_job(reader: FlxpointReader, fr_id: int) -> dict[_Key, FulfillmentRequest | None]:
    fr = await reader.fulfillment_request_by_id(fr_id)
    return {(id(reader), PoIdentity(fulfillment_request_id=fr_id).key): fr}


async def _by_number(
    reader: FlxpointReader, numbers: list[str], source_id: int | None
) -> dict[str, FulfillmentRequest]:
    """The FRs of `numbers`; the missing ones are asked again until an answer adds nothing."""
    found = await reader.fulfillment_requests(numbers, source_id)
    missing = [n for n in dict.fromkeys(numbers) if n not in found]
    while missing:
        more = await reader.fulfillment_requests(missing, source_id)
        if not more:
            break
        found.update(more)
        missing = [n for n in missing if n not in more]
    return found
