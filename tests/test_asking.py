"""asking.consult: whole-PO requests get their items, a checked dry run its verdicts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from batch_uploader.asking import DRY_RUN_CHECKED, READ_PAGE_SIZE, Consulted, consult
from batch_uploader.lookups import FlxpointReader
from batch_uploader.models import (
    ItemFields,
    Outcome,
    PoIdentity,
    RowRef,
    ShipmentFields,
    ShipmentRequest,
    Status,
)
from batch_uploader.pacing import Pacer
from batch_uploader.sandbox import Sandbox, SandboxOptions, templates_dir

ACCOUNT_TOKEN = "sandbox-account-token"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh seeded sandbox: its rate limit knows no GET of an earlier test's pacer."""
    with Sandbox(SandboxOptions()) as server:
        yield server


def request(
    po_number: str | None = None,
    source: int | None = 101,
    *items: ItemFields,
    fr_id: int | None = None,
    tracking: str = "1ZASK0001",
) -> ShipmentRequest:
    """A request as grouping makes it; no items: a whole-PO request."""
    po = PoIdentity(po_number, source if fr_id is None else None, fr_id)
    return ShipmentRequest(po, tracking, ShipmentFields(carrier="UPS"), items, (RowRef(0, 2),))


def run_consult(
    url: str,
    requests: Sequence[ShipmentRequest],
    *,
    check_all: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[list[Consulted], FlxpointReader]:
    """consult() with one account-token reader, as the sending phase builds it."""

    async def main() -> tuple[list[Consulted], FlxpointReader]:
        async with httpx.AsyncClient(base_url=url, timeout=10, transport=transport) as client:
            reader = FlxpointReader(client, ACCOUNT_TOKEN, Pacer(2.0), page_size=READ_PAGE_SIZE)
            return await consult(requests, lambda r: reader, check_all=check_all), reader

    return asyncio.run(main())


def answered_reads(server: Sandbox) -> int:
    """GETs the sandbox answered 200 (a rare 429 from loopback jitter is retried, not counted)."""
    return server.stats().read_status_counts.get(200, 0)


def test_partly_shipped_po_ships_only_what_remains(sandbox: Sandbox) -> None:
    """PO-20001: SKU-A 1 of 3 and SKU-B 2 of 2 shipped → SKU-A x2 and SKU-C x1, with a note."""
    (answer,), reader = run_consult(sandbox.url, [request("PO-20001")])
    assert answer.outcome is None
    assert answer.request.items == (
        ItemFields(quantity=2, sku="SKU-A", purchase_order_item_id=1884101),
        ItemFields(quantity=1, sku="SKU-C", purchase_order_item_id=1884103),
    )
    assert answer.note == "shipped SKU-A \u00d72, SKU-C \u00d71"
    assert answer.request.tracking_number == "1ZASK0001"
    assert reader.requests == 1


def test_fully_shipped_po_is_skipped(sandbox: Sandbox) -> None:
    """PO-20002 has nothing left: skipped, "already fully shipped in Flxpoint"."""
    (answer,), _ = run_consult(sandbox.url, [request("PO-20002")])
    assert answer.outcome == Outcome(Status.SKIPPED, error="already fully shipped in Flxpoint")


def test_unknown_and_canceled_pos_are_invalid(sandbox: Sandbox) -> None:
    """An unknown PO and a PO whose every item is voided are invalid, with the reason."""
    answers, _ = run_consult(
        sandbox.url, [request("PO-99999"), request("PO-20006", 103, tracking="1ZASK0002")]
    )
    assert answers[0].outcome == Outcome(
        Status.INVALID, error="PO PO-99999 not found in Flxpoint (source 101)"
    )
    assert answers[1].outcome is not None
    assert answers[1].outcome.status is Status.INVALID
    assert "canceled in Flxpoint" in answers[1].outcome.error


def test_fulfillment_request_id_is_looked_up_by_id(sandbox: Sandbox) -> None:
    """A whole-PO row naming the FR id gets the same items as by number."""
    (answer,), _ = run_consult(sandbox.url, [request(fr_id=2000101)])
    assert answer.outcome is None
    assert [(i.sku, i.quantity) for i in answer.request.items] == [("SKU-A", 2), ("SKU-C", 1)]


def test_item_requests_are_not_looked_up_when_sending(sandbox: Sandbox) -> None:
    """Without check_all only whole-PO requests cost GETs; item requests pass unchanged."""
    items = request("PO-20001", 101, ItemFields(quantity=9, sku="SKU-Z"))
    answers, reader = run_consult(sandbox.url, [items])
    assert answers == [Consulted(items)]
    assert reader.requests == 0


def test_one_get_per_source_for_several_pos(sandbox: Sandbox) -> None:
    """Several POs of one source are one GET; each source its own."""
    requests = [
        request("PO-20001"),
        request("PO-20002", tracking="1ZASK0003"),
        request("PO-20004", tracking="1ZASK0004"),
        request("PO-20003", 102, tracking="1ZASK0005"),
    ]
    answers, reader = run_consult(sandbox.url, requests)
    assert [a.outcome.status if a.outcome else None for a in answers] == [
        None,
        Status.SKIPPED,
        None,
        None,
    ]
    assert [(i.sku, i.quantity) for i in answers[2].request.items] == [("SKU-A", 2)]
    assert answered_reads(sandbox) == 2 == reader.requests - reader.rate_limited


def test_dry_run_checks_sku_and_quantity_without_posting(sandbox: Sandbox) -> None:
    """check_all: a SKU not on the PO and more than remains are invalid; the rest checked."""
    requests = [
        request("PO-20001", 101, ItemFields(quantity=1, sku="SKU-Z")),
        request("PO-20001", 101, ItemFields(quantity=3, sku="SKU-A"), tracking="1ZASK0006"),
        request("PO-20001", 101, ItemFields(quantity=2, sku="SKU-A"), tracking="1ZASK0007"),
        request("PO-20003", 102, tracking="1ZASK0008"),
        request("PO-20002", 101, ItemFields(quantity=1, sku="SKU-A"), tracking="1ZASK0009"),
    ]
    answers, _ = run_consult(sandbox.url, requests, check_all=True)
    outcomes = [a.outcome for a in answers]
    assert all(o is not None for o in outcomes)
    assert outcomes[0] == Outcome(
        Status.INVALID,
        error="SKU SKU-Z is not on PO PO-20001 (source 101) (its SKUs: SKU-A, SKU-B, SKU-C)",
    )
    assert outcomes[1] == Outcome(
        Status.INVALID,
        error="SKU-A \u00d73 but only 2 remain to ship on PO PO-20001 (source 101)",
    )
    assert outcomes[2] == Outcome(Status.NOT_SENT, error=DRY_RUN_CHECKED)
    assert outcomes[3] == Outcome(
        Status.NOT_SENT,
        error=DRY_RUN_CHECKED,
        note="would ship SKU-A \u00d72, SKU-B \u00d72, SKU-C \u00d71",
    )
    assert outcomes[4] == Outcome(Status.SKIPPED, error="already fully shipped in Flxpoint")
    assert answered_reads(sandbox) == 2
    assert sandbox.stats().requests == 0  # not one POST


def _bulk_seed(tmp_path: Path, count: int) -> Path:
    """The bundled seed plus `count` POs of source 101 with one item each."""
    seed = json.loads((templates_dir() / "sandbox-seed.json").read_text(encoding="utf-8"))
    for n in range(count):
        seed["purchaseOrders"].append(
            {
                "fulfillmentRequestId": 3_000_000 + n,
                "purchaseOrderNumber": f"BULK-{n:04d}",
                "sourceId": 101,
                "orderId": 8_000_000 + n,
                "items": [
                    {
                        "purchaseOrderItemId": 4_000_000 + n,
                        "orderItemId": 5_000_000 + n,
                        "sku": "BULK-SKU",
                        "quantity": 1,
                    }
                ],
            }
        )
    path = tmp_path / "bulk-seed.json"
    path.write_text(json.dumps(seed), encoding="utf-8")
    return path


def test_300_whole_po_rows_cost_6_gets(tmp_path: Path) -> None:
    """Budget: 300 whole-PO rows of one source are looked up with 6 GETs (50 POs each)."""
    with Sandbox(SandboxOptions(seed_path=_bulk_seed(tmp_path, 300))) as server:
        requests = [request(f"BULK-{n:04d}", tracking=f"1ZBULK{n:06d}") for n in range(300)]
        answers, reader = run_consult(server.url, requests)
        assert all(a.outcome is None for a in answers)
        assert all(
            a.request.items == (ItemFields(1, "BULK-SKU", 4_000_000 + n),)
            for n, a in enumerate(answers)
        )
        assert answered_reads(server) == 6 == reader.requests - reader.rate_limited


def test_a_page_cut_short_never_makes_a_real_po_unknown() -> None:
    """An API that answers at most 20 FRs whatever page size is asked: every PO still found."""
    asked: list[int] = []

    def handler(http_request: httpx.Request) -> httpx.Response:
        numbers = parse_qs(urlsplit(str(http_request.url)).query)["frNumbers"]
        asked.append(len(numbers))
        page = [
            {
                "id": 9000 + int(number.split("-")[1]),
                "fulfillmentRequestNumber": number,
                "sourceId": 101,
                "fulfillmentRequestItems": [
                    {"id": 7000 + int(number.split("-")[1]), "sku": "S", "quantity": 1}
                ],
            }
            for number in numbers
            if number != "CUT-0044"  # one PO really is unknown
        ][:20]
        return httpx.Response(200, json=page)

    requests = [request(f"CUT-{n:04d}", tracking=f"1ZCUT{n:04d}") for n in range(45)]
    answers, _ = run_consult("https://api.test", requests, transport=httpx.MockTransport(handler))
    assert [a.outcome for a in answers[:44]] == [None] * 44
    assert answers[44].outcome == Outcome(
        Status.INVALID, error="PO CUT-0044 not found in Flxpoint (source 101)"
    )
    assert asked == [45, 25, 5, 1]  # each answer that found some re-asks for the rest
