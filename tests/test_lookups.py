"""FlxpointReader: the read endpoints asked for real over loopback, paced, batched, paged."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import httpx
import pytest

from batch_uploader.errors import EXIT_AUTH, EXIT_BAD_INPUT
from batch_uploader.lookups import (
    FlxpointReader,
    FrItem,
    FulfillmentRequest,
    KnownShipment,
    LookupAuthError,
    LookupFailed,
)
from batch_uploader.pacing import Pacer
from batch_uploader.sandbox import Sandbox, SandboxOptions, token_fingerprint

ACCOUNT_TOKEN = "sandbox-account-token"
SOURCE_101_TOKEN = "sandbox-source-101"
MIN_GAP_S = 0.5
T = TypeVar("T")


def read(
    url: str,
    ask: Callable[[FlxpointReader], Awaitable[T]],
    token: str = ACCOUNT_TOKEN,
    **options: Any,
) -> tuple[T, FlxpointReader]:
    """Run `ask(reader)` with a fresh client, pacer and reader; return its answer and the reader."""

    async def main() -> tuple[T, FlxpointReader]:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            reader = FlxpointReader(client, token, Pacer(2.0), **options)
            return await ask(reader), reader

    return asyncio.run(main())


def read_mocked(
    handler: Callable[[httpx.Request], httpx.Response],
    ask: Callable[[FlxpointReader], Coroutine[Any, Any, object]],
) -> object:
    """Run `ask(reader)` against a MockTransport: for answers no real server would give."""

    async def main() -> object:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(base_url="https://api.test", transport=transport) as client:
            return await ask(FlxpointReader(client, "secret-token", Pacer(2.0)))

    return asyncio.run(main())


def gaps(sandbox: Sandbox, token: str = ACCOUNT_TOKEN) -> list[float]:
    times = sorted(sandbox.stats().request_times.get(token_fingerprint(token), []))
    return [later - earlier for earlier, later in itertools.pairwise(times)]


@pytest.fixture
def strict_sandbox() -> Any:
    """The sandbox with its real 2 requests per second per token (0.5 s spacing)."""
    with Sandbox(SandboxOptions()) as server:
        yield server


# --- against the sandbox ----------------------------------------------------------------


def test_fulfillment_requests_by_number(strict_sandbox: Sandbox) -> None:
    """Known numbers come back by number, with shipped and voided counts; unknown are absent."""
    found, reader = read(
        strict_sandbox.url,
        lambda r: r.fulfillment_requests(["PO-20001", "PO-20004", "NOPE", "PO-20001"], 101),
    )
    assert set(found) == {"PO-20001", "PO-20004"}
    partly = found["PO-20001"]
    assert partly.id == 2_000_101
    assert partly.source_id == 101
    assert [(i.sku, i.quantity, i.shipped, i.remaining) for i in partly.items] == [
        ("SKU-A", 3, 1, 2),
        ("SKU-B", 2, 2, 0),
        ("SKU-C", 1, 0, 1),
    ]
    assert [i.remaining for i in found["PO-20004"].items] == [2, 0]
    assert reader.requests == 1


def test_120_numbers_are_3_requests_paced(strict_sandbox: Sandbox) -> None:
    """120 numbers are asked 50, 50 and 20 at a time, never two requests within 0.5 s."""
    numbers = [f"MISSING-{n}" for n in range(117)] + ["PO-10001", "PO-10002", "PO-10007"]
    found, reader = read(strict_sandbox.url, lambda r: r.fulfillment_requests(numbers, 101))
    assert set(found) == {"PO-10001", "PO-10002", "PO-10007"}
    stats = strict_sandbox.stats()
    assert reader.requests == stats.reads == 3
    assert stats.rate_limited == 0
    assert min(gaps(strict_sandbox)) >= MIN_GAP_S


def test_pages_until_a_short_page(strict_sandbox: Sandbox) -> None:
    """With pages of 2, five matches take three requests (2, 2, 1) and all are found."""
    numbers = ["PO-10001", "PO-10002", "PO-10007", "PO-10009", "PO-20001"]
    found, reader = read(
        strict_sandbox.url, lambda r: r.fulfillment_requests(numbers, 101), page_size=2
    )
    assert set(found) == set(numbers)
    assert reader.requests == 3
    assert min(gaps(strict_sandbox)) >= MIN_GAP_S


def test_source_scoping(strict_sandbox: Sandbox) -> None:
    """PO-20005 is in sources 101 and 102: a source id picks one; none with an account token
    matches neither (as POST, the account token must name the source)."""

    async def ask(reader: FlxpointReader) -> list[dict[str, FulfillmentRequest]]:
        return [
            await reader.fulfillment_requests(["PO-20005"], 102),
            await reader.fulfillment_requests(["PO-20005"], None),
            await reader.fulfillment_requests(["PO-20005"], 103),
        ]

    (by_102, by_none, by_103), _ = read(strict_sandbox.url, ask)
    assert by_102["PO-20005"].id == 2_000_106
    assert by_none == {}
    assert by_103 == {}
    mine, _ = read(
        strict_sandbox.url, lambda r: r.fulfillment_requests(["PO-20005"], None), SOURCE_101_TOKEN
    )
    assert mine["PO-20005"].id == 2_000_105


def test_shipped_quantity_seen_after_a_post(strict_sandbox: Sandbox) -> None:
    """After POST /shipments, the reader sees the item's shipped quantity grow."""
    body = {
        "purchaseOrderNumber": "PO-20003",
        "sourceId": 102,
        "shipment": {
            "trackingNumber": "1ZLOOKUP000001",
            "shipmentItems": [{"sku": "SKU-B", "quantity": 2}],
        },
    }
    response = httpx.post(
        f"{strict_sandbox.url}/shipments", json=body, headers={"X-API-TOKEN": ACCOUNT_TOKEN}
    )
    assert response.status_code == 201
    found, _ = read(strict_sandbox.url, lambda r: r.fulfillment_requests(["PO-20003"], 102))
    assert [(i.sku, i.remaining) for i in found["PO-20003"].items] == [
        ("SKU-A", 2),
        ("SKU-B", 0),
        ("SKU-C", 1),
    ]


def test_shipments_for_an_fr(strict_sandbox: Sandbox) -> None:
    """shipments_for pages through GET /shipments for the FR, oldest first."""
    known, reader = read(strict_sandbox.url, lambda r: r.shipments_for(2_000_102), page_size=1)
    assert [s.tracking_number for s in known] == ["1ZSEED20002000001", "1ZSEED20002000002"]
    assert all(isinstance(s, KnownShipment) and s.fr_id == 2_000_102 for s in known)
    assert reader.requests == 3  # 1, 1, then the empty page


def test_fulfillment_request_by_id(strict_sandbox: Sandbox) -> None:
    """By id (through sinceId): the FR, or None when there is no such id for the token."""

    async def ask(reader: FlxpointReader) -> list[FulfillmentRequest | None]:
        return [
            await reader.fulfillment_request_by_id(2_000_102),
            await reader.fulfillment_request_by_id(999),
        ]

    (found, missing), _ = read(strict_sandbox.url, ask)
    assert found is not None
    assert found.number == "PO-20002"
    assert all(i.remaining == 0 for i in found.items)
    assert missing is None
    other, _ = read(  # source 102's FR, asked with source 101's token
        strict_sandbox.url, lambda r: r.fulfillment_request_by_id(2_000_103), SOURCE_101_TOKEN
    )
    assert other is None


def test_429_is_waited_out() -> None:
    """A server stricter than our pacer (1 per second) answers 429; the reader waits, retries."""
    with Sandbox(SandboxOptions(rate=1.0)) as server:

        async def ask(reader: FlxpointReader) -> list[dict[str, FulfillmentRequest]]:
            return [await reader.fulfillment_requests([f"PO-1000{n}"], 101) for n in (1, 2)]

        answers, reader = read(server.url, ask)
        stats = server.stats()
    assert [list(a) for a in answers] == [["PO-10001"], ["PO-10002"]]
    assert reader.rate_limited >= 1
    assert stats.rate_limited == reader.rate_limited


def test_401_is_an_auth_error_without_the_token(strict_sandbox: Sandbox) -> None:
    """A refused token raises LookupAuthError (exit 3); the message never holds the token."""
    with pytest.raises(LookupAuthError) as caught:
        read(strict_sandbox.url, lambda r: r.shipments_for(1), token="not-a-real-token")
    assert caught.value.exit_code == EXIT_AUTH
    assert "401" in str(caught.value)
    assert "not-a-real-token" not in str(caught.value)


def test_5xx_is_retried_then_a_lookup_failure() -> None:
    """A server that keeps answering 500 is asked MAX_ATTEMPTS times, then LookupFailed."""
    with Sandbox(SandboxOptions(limiter="off", fail_before_rate=1.0)) as server:
        with pytest.raises(LookupFailed, match=r"GET /fulfillment-requests .*HTTP 500") as caught:
            read(server.url, lambda r: r.fulfillment_requests(["PO-1"], 101), backoff_base_s=0.01)
        assert server.stats().reads == 4
    assert caught.value.exit_code == EXIT_BAD_INPUT
    assert "gave up after 4 attempts" in str(caught.value)


def test_unreachable_api_is_a_lookup_failure() -> None:
    """Nothing listening: retried, then LookupFailed naming the endpoint, no traceback text."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(LookupFailed, match=r"GET /shipments .*could not reach the API"):
        read(f"http://127.0.0.1:{port}", lambda r: r.shipments_for(1), backoff_base_s=0.01)


def test_an_api_refusal_is_a_lookup_failure_with_its_words(strict_sandbox: Sandbox) -> None:
    """A 400 (here: our page size above the sandbox's maximum) names endpoint and reason."""
    with pytest.raises(LookupFailed, match=r"GET /shipments answered HTTP 400 .*filterPageSize"):
        read(strict_sandbox.url, lambda r: r.shipments_for(1), page_size=1000)


# --- answers no real server gave us: MockTransport ---------------------------------------


def _fr(**overrides: Any) -> dict[str, Any]:
    item = {"id": 11, "sku": "SKU-A", "quantity": 2, "shippedQuantity": 1, "voidedQuantity": None}
    fr: dict[str, Any] = {
        "id": 1,
        "fulfillmentRequestNumber": "PO-10001",
        "sourceId": 101,
        "fulfillmentRequestItems": [item],
    }
    fr.update(overrides)
    return fr


def _answer(payload: object) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=payload)

    return handler


def _ask_po(reader: FlxpointReader) -> Coroutine[Any, Any, object]:
    return reader.fulfillment_requests(["PO-10001"], 101)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            [_fr(fulfillmentRequestItems=[{"sku": "SKU-A", "quantity": 1}])],
            'GET /fulfillment-requests answered an item without "id" (PO PO-10001): {"sku"',
        ),
        (
            [_fr(fulfillmentRequestItems=None)],
            "GET /fulfillment-requests answered a fulfillment request without "
            '"fulfillmentRequestItems"',
        ),
        (
            [_fr(fulfillmentRequestItems=[{"id": 1, "sku": "SKU-A", "quantity": "2"}])],
            'answered an item with a non-integer "quantity" (PO PO-10001)',
        ),
        (
            [{"id": 1, "fulfillmentRequestItems": []}],
            'answered a fulfillment request without "fulfillmentRequestNumber"',
        ),
        ({"data": []}, 'GET /fulfillment-requests answered {"data": []}'),
        (["not an object"], "answered a fulfillment request that is not a JSON object"),
    ],
)
def test_a_malformed_answer_names_the_endpoint_and_field(payload: object, expected: str) -> None:
    """A missing or mistyped field we need is LookupFailed naming endpoint and field."""
    with pytest.raises(LookupFailed) as caught:
        read_mocked(_answer(payload), _ask_po)
    assert expected in str(caught.value)
    assert "secret-token" not in str(caught.value)


def test_optional_fields_may_be_missing() -> None:
    """Missing sku, shippedQuantity, voidedQuantity and sourceId are tolerated (nulls as 0)."""
    payload = [
        {
            "id": 1,
            "fulfillmentRequestNumber": "PO-10001",
            "fulfillmentRequestItems": [{"id": 11, "quantity": 3}],
        }
    ]
    found = read_mocked(_answer(payload), _ask_po)
    assert found == {
        "PO-10001": FulfillmentRequest(1, "PO-10001", None, (FrItem(11, None, 3, 0, 0),))
    }


def test_not_json_is_a_lookup_failure() -> None:
    """An HTML error page with status 200 is LookupFailed, quoting its start."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>maintenance</html>")

    with pytest.raises(LookupFailed, match=r"not JSON .*maintenance"):
        read_mocked(handler, _ask_po)


def test_shipment_without_tracking_number() -> None:
    """A shipment without trackingNumber names the field and GET /shipments."""
    with pytest.raises(LookupFailed, match=r'GET /shipments answered a shipment without "tracking'):
        read_mocked(_answer([{"id": 5, "fulfillmentRequestId": 1}]), lambda r: r.shipments_for(1))


def test_numbers_are_repeated_parameters_and_the_token_a_header() -> None:
    """frNumbers is repeated per number, filterSourceId and paging are sent; token in header."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    read_mocked(handler, lambda r: r.fulfillment_requests(["A", "B", "A"], 7))
    [request] = seen
    assert request.url.params.get_list("frNumbers") == ["A", "B"]
    assert request.url.params["filterSourceId"] == "7"
    assert request.url.params["filterPageNumber"] == "1"
    assert request.url.params["filterPageSize"] == "20"
    assert request.headers["X-API-TOKEN"] == "secret-token"
    assert "secret-token" not in str(request.url)


def test_another_frs_number_or_source_is_not_a_match() -> None:
    """An answer the API matched more loosely (other number, other source) is dropped."""
    payload = [_fr(fulfillmentRequestNumber="po-10001"), _fr(id=2, sourceId=102)]
    assert read_mocked(_answer(payload), _ask_po) == {}
    assert json.dumps(payload)  # the payload itself was well-formed


def test_one_bad_batch_fails_the_lookup_with_its_own_error() -> None:
    """With several batches in flight, one malformed answer raises LookupFailed itself."""

    def handler(request: httpx.Request) -> httpx.Response:
        if "N-59" in request.url.params.get_list("frNumbers"):
            return httpx.Response(200, json=[{"id": 1}])
        return httpx.Response(200, json=[])

    numbers = [f"N-{n}" for n in range(60)]
    with pytest.raises(LookupFailed, match="fulfillmentRequestNumber"):
        read_mocked(handler, lambda r: r.fulfillment_requests(numbers, None))
