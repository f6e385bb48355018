"""The sandbox's read side: GET /fulfillment-requests and GET /shipments over real HTTP."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from batch_uploader.sandbox import (
    Sandbox,
    SandboxOptions,
    SandboxStats,
    SeedError,
    token_fingerprint,
)
from batch_uploader.sandbox.seed import default_seed_path

ACCOUNT_TOKEN = "sandbox-account-token"
SOURCE_101_TOKEN = "sandbox-source-101"
SOURCE_102_TOKEN = "sandbox-source-102"
FR_FIELDS = {
    "id", "fulfillmentRequestNumber", "orderId", "sourceId", "generatedAt", "sentAt",
    "acknowledgedAt", "voidedAt", "fulfillmentRequestStatus", "shippingAddress",
    "fulfillmentRequestItems",
}  # fmt: skip
FR_ITEM_FIELDS = {
    "id", "sku", "title", "quantity", "shippedQuantity", "voidedQuantity",
    "acknowledgedQuantity", "inventoryVariantId", "orderItemId", "cost", "upc", "mpn",
}  # fmt: skip


def connect(url: str, token: str | None = ACCOUNT_TOKEN, **kwargs: Any) -> httpx.Client:
    """A client for `url`, sending `token` (if any) with every request."""
    headers = {"X-API-TOKEN": token} if token else {}
    return httpx.Client(base_url=url, headers=headers, **kwargs)


def ship(
    client: httpx.Client, number: str, source: int, tracking: str, **items: int
) -> httpx.Response:
    """POST a shipment of `items` (SKU=quantity, dashes as underscores) to a PO."""
    return client.post(
        "/shipments",
        json={
            "purchaseOrderNumber": number,
            "sourceId": source,
            "shipment": {
                "trackingNumber": tracking,
                "shipmentItems": [
                    {"sku": sku.replace("_", "-"), "quantity": quantity}
                    for sku, quantity in items.items()
                ],
            },
        },
    )


def frs(client: httpx.Client, *numbers: str, **params: Any) -> list[dict[str, Any]]:
    """GET /fulfillment-requests for `numbers`; asserts a 200 and a bare array."""
    query: list[tuple[str, Any]] = [("frNumbers", n) for n in numbers] + list(params.items())
    response = client.get("/fulfillment-requests", params=query)
    assert response.status_code == 200, response.text
    data = response.json()
    assert isinstance(data, list)
    return data


def items_by_sku(fr: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["sku"]: item for item in fr["fulfillmentRequestItems"]}


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[Sandbox]:
    """One sandbox without rate limit for the functional tests, so they need not wait."""
    with Sandbox(SandboxOptions(limiter="off")) as running:
        yield running


@pytest.fixture
def sandbox(shared_sandbox: Sandbox) -> Sandbox:
    """The shared sandbox, reset: no shipments, no stats."""
    shared_sandbox.reset()
    return shared_sandbox


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """A client using the ACCOUNT token."""
    with connect(sandbox.url) as http:
        yield http


# --- GET /fulfillment-requests --------------------------------------------------------


def test_fulfillment_request_has_the_documented_shape(client: httpx.Client) -> None:
    """An FR is a bare-array entry with the documented fields; items carry their quantities."""
    [fr] = frs(client, "PO-20001", filterSourceId=101)
    assert set(fr) == FR_FIELDS
    assert fr["id"] == 2_000_101
    assert fr["fulfillmentRequestNumber"] == "PO-20001"
    assert fr["sourceId"] == 101
    assert isinstance(fr["orderId"], int)
    assert fr["fulfillmentRequestStatus"] == {"name": "Acknowledged"}
    assert fr["sentAt"].endswith("Z")
    for item in fr["fulfillmentRequestItems"]:
        assert set(item) == FR_ITEM_FIELDS
    shipped = {sku: i["shippedQuantity"] for sku, i in items_by_sku(fr).items()}
    assert shipped == {"SKU-A": 1, "SKU-B": 2, "SKU-C": 0}


def test_seed_states_fully_shipped_voided_and_untouched(client: httpx.Client) -> None:
    """PO-20002 is fully shipped, PO-20004 partly voided, PO-20003 untouched."""
    answer = {fr["fulfillmentRequestNumber"]: fr for fr in frs(client, "PO-20002", "PO-20003")}
    assert all(
        i["shippedQuantity"] == i["quantity"] for i in answer["PO-20002"]["fulfillmentRequestItems"]
    )
    assert all(i["shippedQuantity"] == 0 for i in answer["PO-20003"]["fulfillmentRequestItems"])
    [voided] = frs(client, "PO-20004")
    sku_a = items_by_sku(voided)["SKU-A"]
    assert (sku_a["quantity"], sku_a["shippedQuantity"], sku_a["voidedQuantity"]) == (4, 1, 1)
    assert sku_a["acknowledgedQuantity"] == 3


def test_shipped_quantity_grows_as_shipments_are_created(client: httpx.Client) -> None:
    """A POST /shipments shows in the next GET's shippedQuantity."""
    assert ship(client, "PO-20003", 102, "1ZREAD0000000001", SKU_A=1, SKU_C=1).status_code == 201
    [fr] = frs(client, "PO-20003", filterSourceId=102)
    shipped = {sku: i["shippedQuantity"] for sku, i in items_by_sku(fr).items()}
    assert shipped == {"SKU-A": 1, "SKU-B": 0, "SKU-C": 1}


def test_source_token_sees_only_its_source(sandbox: Sandbox) -> None:
    """PO-20005 exists for sources 101 and 102; each source token sees its own."""
    with connect(sandbox.url) as account:
        assert {fr["sourceId"] for fr in frs(account, "PO-20005")} == {101, 102}
        assert [fr["id"] for fr in frs(account, "PO-20005", filterSourceId=102)] == [2_000_106]
    with connect(sandbox.url, SOURCE_102_TOKEN) as source:
        assert [fr["id"] for fr in frs(source, "PO-20005")] == [2_000_106]
        assert frs(source, "PO-20001") == []  # source 101's PO
        assert frs(source, "PO-20005", filterSourceId=101) == []  # another source: nothing


def test_unknown_numbers_are_simply_absent(client: httpx.Client) -> None:
    """Numbers Flxpoint does not know are left out of the array, not an error."""
    answer = frs(client, "PO-10001", "NO-SUCH-PO", filterSourceId=101)
    assert [fr["fulfillmentRequestNumber"] for fr in answer] == ["PO-10001"]


def test_at_most_50_numbers(client: httpx.Client) -> None:
    """50 repeated frNumbers are fine; 51 are a 400 naming the limit."""
    numbers = [f"N-{n}" for n in range(51)]
    assert frs(client, *numbers[:50]) == []
    response = client.get("/fulfillment-requests", params=[("frNumbers", n) for n in numbers])
    assert response.status_code == 400
    assert "at most 50" in response.json()["message"]


def test_paging_is_1_based_and_ends_with_a_short_page(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    """Pages of 5 cover every FR once, sorted by id; past the end is an empty array."""
    seen: list[int] = []
    page = 1
    while True:
        answer = frs(client, filterPageNumber=page, filterPageSize=5)
        seen += [fr["id"] for fr in answer]
        if len(answer) < 5:
            break
        page += 1
    expected = sorted(po.fulfillment_request_id for po in sandbox.seed.purchase_orders)
    assert seen == expected
    assert frs(client, filterPageNumber=page + 1, filterPageSize=5) == []
    assert len(frs(client)) == 20  # the default page size


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("filterPageSize=0", "filterPageSize"),
        ("filterPageSize=101", "filterPageSize"),
        ("filterPageNumber=0", "filterPageNumber"),
        ("filterSourceId=abc", "filterSourceId"),
        ("frNumber=PO-10001", "frNumber"),
        ("filterSourceId=101&filterSourceId=102", "filterSourceId"),
        ("frNumbers=", "frNumbers"),
        ("filterFulfilmentStatus=Done", "filterFulfilmentStatus"),
    ],
)
def test_bad_parameters_are_400_naming_them(client: httpx.Client, query: str, named: str) -> None:
    """A typo or a wrong value is a 400 naming the parameter, never an unfiltered answer."""
    response = client.get(f"/fulfillment-requests?{query}")
    assert response.status_code == 400
    assert named in response.json()["message"]


def test_other_documented_filters(client: httpx.Client) -> None:
    """sinceId, findOrderId, filterFulfilmentStatus and filterStatus filter as named."""
    since = frs(client, sinceId=2_000_104, filterPageSize=2)
    assert [fr["id"] for fr in since] == [2_000_105, 2_000_106]
    [by_order] = frs(client, findOrderId=7_708_401)
    assert by_order["fulfillmentRequestNumber"] == "PO-10001"
    shipped = frs(client, filterFulfilmentStatus="Shipped")
    assert [fr["fulfillmentRequestNumber"] for fr in shipped] == ["PO-20002"]
    partly = frs(client, filterFulfilmentStatus="Partially Shipped")
    assert {fr["fulfillmentRequestNumber"] for fr in partly} == {"PO-20001", "PO-20004"}
    assert [fr["id"] for fr in frs(client, filterFulfilmentStatus="Canceled")] == [2_000_107]
    assert frs(client, filterStatus="Shipped") == []
    assert len(frs(client, filterStatus="Acknowledged", filterPageSize=3)) == 3


def test_reads_need_a_valid_token(sandbox: Sandbox) -> None:
    """Without a token or with an unknown one, reads are 401 like POSTs, token not echoed."""
    with connect(sandbox.url, token=None) as anonymous:
        assert anonymous.get("/fulfillment-requests").status_code == 401
    with connect(sandbox.url, token="leaky-secret") as stranger:
        response = stranger.get("/shipments")
    assert response.status_code == 401
    assert "leaky-secret" not in response.text


# --- GET /shipments ---------------------------------------------------------------------


def test_shipments_of_an_fr_are_the_post_answers(client: httpx.Client) -> None:
    """GET /shipments?findByPurchaseOrderId= returns the Shipment objects POST returned."""
    first = ship(client, "TEST-1", 101, "1ZREAD0000000002", SKU_1=1).json()
    second = ship(client, "TEST-1", 101, "1ZREAD0000000003", SKU_2=2).json()
    ship(client, "TEST-2", 101, "1ZREAD0000000004", SKU_1=1)
    answer = client.get("/shipments", params={"findByPurchaseOrderId": 2_000_001})
    assert answer.status_code == 200
    assert answer.json() == [first, second]
    page_two = client.get(
        "/shipments",
        params={"findByPurchaseOrderId": 2_000_001, "filterPageNumber": 2, "filterPageSize": 1},
    )
    assert page_two.json() == [second]
    assert client.get(f"/shipments/{second['id']}").json() == second


def test_seed_shipments_are_known_and_block_their_tracking_numbers(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    """The seed's shipments answer GET, count as shipped, and make a re-POST a 409."""
    answer = client.get("/shipments", params={"findByPurchaseOrderId": 2_000_102}).json()
    assert [s["trackingNumber"] for s in answer] == ["1ZSEED20002000001", "1ZSEED20002000002"]
    assert all(s["id"] < 500_001 for s in answer)
    again = ship(client, "PO-20002", 101, "1ZSEED20002000001", SKU_A=1)
    assert again.status_code == 409
    assert again.json()["shipmentId"] == answer[0]["id"]
    assert sandbox.shipments() == []  # the admin view lists only what was created


def test_source_token_sees_only_its_shipments(sandbox: Sandbox, client: httpx.Client) -> None:
    """A source token's GET /shipments leaves out other sources' shipments."""
    ship(client, "TEST-3", 102, "1ZREAD0000000005", SKU_1=1)
    with connect(sandbox.url, SOURCE_101_TOKEN) as source:
        mine = source.get("/shipments", params={"filterPageSize": 100}).json()
        assert mine
        assert {s["sourceId"] for s in mine} == {101}
        assert source.get("/shipments", params={"findByPurchaseOrderId": 2_000_003}).json() == []


def test_shipments_created_after(client: httpx.Client) -> None:
    """filterCreatedAfter takes an RFC 3339 date-time and filters on insertedAt."""
    created = ship(client, "TEST-1", 101, "1ZREAD0000000006", SKU_1=1).json()
    after = client.get("/shipments", params={"filterCreatedAfter": "2020-01-01T00:00:00Z"})
    assert created in after.json()
    none = client.get("/shipments", params={"filterCreatedAfter": "2999-01-01T00:00:00Z"})
    assert none.json() == []
    bad = client.get("/shipments", params={"filterCreatedAfter": "yesterday"})
    assert bad.status_code == 400


# --- one rate limit for reads and writes ------------------------------------------------


def _settled(server: Sandbox, *, reads: int) -> SandboxStats:
    """The stats once every read is counted: a handler thread counts its answer just after
    sending it, so the client may read the stats a moment before."""
    deadline = time.monotonic() + 2.0
    while (stats := server.stats()).reads < reads or sum(stats.read_status_counts.values()) < reads:
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    return stats


def test_a_get_right_after_a_post_of_the_same_token_is_429() -> None:
    """GETs and POSTs share the token's 2 per second; another token is not affected."""
    with Sandbox(SandboxOptions()) as server, connect(server.url) as account:
        assert ship(account, "TEST-1", 101, "1ZREAD0000000007", SKU_1=1).status_code == 201
        limited = account.get("/fulfillment-requests")
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        with connect(server.url, SOURCE_101_TOKEN) as source:
            assert source.get("/fulfillment-requests").status_code == 200
        time.sleep(0.6)  # past the 0.5 s spacing, with room for a busy machine
        assert account.get("/shipments").status_code == 200
        stats = _settled(server, reads=3)
    assert stats.requests == 1  # POSTs only
    assert stats.reads == 3
    assert stats.rate_limited == 1
    assert stats.read_status_counts == {429: 1, 200: 2}
    times = stats.request_times[token_fingerprint(ACCOUNT_TOKEN)]
    assert len(times) == 2  # the POST and the accepted GET
    assert times[1] - times[0] >= 0.5


# --- auto_create_pos, seed, HTTPS -------------------------------------------------------


def test_auto_create_pos_answers_for_any_po_number() -> None:
    """With auto_create_pos an unknown PO asked with a known source exists, without items,
    until a POST names them (they are then fully shipped)."""
    with Sandbox(SandboxOptions(limiter="off", auto_create_pos=True)) as server:
        with connect(server.url, SOURCE_101_TOKEN) as source:
            [fr] = frs(source, "PRACTICE-1")
            assert fr["sourceId"] == 101
            assert fr["fulfillmentRequestItems"] == []
        with connect(server.url) as account:
            assert frs(account, "PRACTICE-2") == []  # no source: nothing to create it under
            assert ship(account, "PRACTICE-1", 101, "1ZAUTO1", ANY_SKU=3).status_code == 201
            [after] = frs(account, "PRACTICE-1", filterSourceId=101)
    assert after["id"] == fr["id"]
    [item] = after["fulfillmentRequestItems"]
    assert (item["sku"], item["quantity"], item["shippedQuantity"]) == ("ANY-SKU", 3, 3)


def test_auto_create_pos_answers_a_look_up_by_id() -> None:
    """With auto_create_pos, sinceId=N (a look-up of FR N+1) makes FR N+1 exist, as a POST
    with that fulfillmentRequestId would; an existing id is left alone."""
    options = SandboxOptions(limiter="off", auto_create_pos=True)
    with Sandbox(options) as server, connect(server.url) as account:
        [made] = frs(account, sinceId=4_999_999, filterPageSize=1)
        [seeded] = frs(account, sinceId=1_388_400, filterPageSize=1)
        body = {
            "fulfillmentRequestId": 5_000_000,
            "shipment": {
                "trackingNumber": "1ZAUTO2",
                "shipmentItems": [{"sku": "ANY", "quantity": 1}],
            },
        }
        assert account.post("/shipments", json=body).status_code == 201
    assert (made["id"], made["fulfillmentRequestNumber"]) == (5_000_000, "AUTO-5000000")
    assert made["fulfillmentRequestItems"] == []
    assert seeded["fulfillmentRequestNumber"] == "PO-10001"


def test_a_seed_shipment_the_post_rules_refuse_is_a_seed_error(tmp_path: Path) -> None:
    """A seed shipment naming a SKU not on its PO stops the sandbox with SeedError."""
    raw = json.loads(default_seed_path().read_text("utf-8"))
    raw["purchaseOrders"][0]["shipments"] = [
        {"trackingNumber": "1ZBAD", "shipmentItems": [{"sku": "NOT-ON-PO", "quantity": 1}]}
    ]
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(SeedError, match="NOT-ON-PO"):
        Sandbox(SandboxOptions(seed_path=seed))


def test_https_with_an_ssl_context(tmp_path: Path) -> None:
    """With ssl_context the sandbox serves HTTPS and its URL says so."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    options = SandboxOptions(limiter="off", ssl_context=server_context)
    with Sandbox(options) as server:
        assert server.url.startswith("https://127.0.0.1:")
        with connect(server.url, verify=client_context) as secure:
            assert frs(secure, "PO-10001", filterSourceId=101)[0]["id"] == 1_388_401
        untrusting = connect(server.url, verify=ssl.create_default_context())
        with untrusting, pytest.raises(httpx.ConnectError):
            untrusting.get("/shipments")
        with connect(server.url, verify=client_context) as again:  # still serving
            assert again.get("/shipments").status_code == 200
