"""The sandbox behaves as the Create Shipment API page documents, over real HTTP."""

from __future__ import annotations

import csv
import json
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from batch_uploader.errors import ConfigError
from batch_uploader.sandbox import (
    Sandbox,
    SandboxOptions,
    SeedError,
    load_seed,
    templates_dir,
    token_fingerprint,
)
from batch_uploader.sandbox.limits import SlidingWindowLimiter, SpacingLimiter, retry_after_header

ACCOUNT_TOKEN = "sandbox-account-token"
SOURCE_101_TOKEN = "sandbox-source-101"
SOURCE_102_TOKEN = "sandbox-source-102"

SHIPMENT_FIELDS = {
    "id", "note", "trackingUrl", "trackingNumber", "carrier", "method", "shippedAt",
    "insertedAt", "shippingCost", "orderId", "purchaseOrderId", "fulfillmentRequestId",
    "rmaId", "sourceId", "accountId", "partial", "suppressed", "syncedToChannel",
    "syncError", "crossDockPurchaseOrderId", "shipmentItems", "customFields", "updatedAt",
    "accountingSynced",
}  # fmt: skip
ITEM_FIELDS = {
    "id", "sku", "quantity", "shipmentId", "inventoryVariantId", "partial", "orderItemId",
    "purchaseOrderItemId", "fulfillmentRequestItemId", "committedStockReleasedQuantity",
    "rmaItemId", "customFields",
}  # fmt: skip


def make_body(tracking: str = "1Z999AA10000000001", **top: Any) -> dict[str, Any]:
    """A valid body for TEST-1 (source 101), one SKU-1 item; `top` overrides top-level keys."""
    body: dict[str, Any] = {
        "purchaseOrderNumber": "TEST-1",
        "sourceId": 101,
        "shipment": {
            "trackingNumber": tracking,
            "carrier": "UPS",
            "method": "Ground",
            "shippedAt": "2026-11-26T16:15:00Z",
            "shippingCost": 12.4,
            "shipmentItems": [{"sku": "SKU-1", "quantity": 1}],
        },
    }
    body.update(top)
    return body


# One TLS context for every client: httpx would build (and load CAs into) one per client.
TLS = ssl.create_default_context()


def connect(url: str, token: str | None = ACCOUNT_TOKEN) -> httpx.Client:
    """A client for `url`, sending `token` (if any) with every request."""
    headers = {"X-API-TOKEN": token} if token else {}
    return httpx.Client(base_url=url, headers=headers, verify=TLS)


def post(client: httpx.Client, body: Any) -> httpx.Response:
    """POST `body` as JSON to /shipments."""
    return client.post("/shipments", json=body)


def send(url: str, body: Any, token: str | None = ACCOUNT_TOKEN) -> httpx.Response:
    """POST one body to `url`/shipments on a fresh connection."""
    with connect(url, token) as http:
        return post(http, body)


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


# --- tokens ---------------------------------------------------------------------------


def test_missing_token_is_401(sandbox: Sandbox) -> None:
    """A request without X-API-TOKEN is refused with 401 and a JSON message."""
    response = send(sandbox.url, make_body(), token=None)
    assert response.status_code == 401
    assert response.json()["status"] == 401
    assert "X-API-TOKEN" in response.json()["message"]
    assert sandbox.shipments() == []


def test_unknown_token_is_401_and_not_echoed(sandbox: Sandbox) -> None:
    """An unknown token is refused with 401, and the answer does not repeat it."""
    response = send(sandbox.url, make_body(), "real-secret-123")
    assert response.status_code == 401
    assert "real-secret-123" not in response.text


# --- creating -------------------------------------------------------------------------


def test_po_number_and_source_create_the_full_shipment_object(client: httpx.Client) -> None:
    """A valid body gets 201 with every field of the API page's Shipment schema."""
    response = post(client, make_body())
    assert response.status_code == 201
    shipment = response.json()
    assert set(shipment) == SHIPMENT_FIELDS
    assert set(shipment["shipmentItems"][0]) == ITEM_FIELDS
    assert shipment["id"] >= 500_001
    assert shipment["purchaseOrderId"] == shipment["fulfillmentRequestId"] == 2_000_001
    assert shipment["sourceId"] == 101
    assert shipment["accountId"] == 40001
    assert shipment["trackingNumber"] == "1Z999AA10000000001"
    assert shipment["shippedAt"] == "2026-11-26T16:15:00.000Z"
    assert shipment["shippingCost"] == 12.4
    assert shipment["shipmentItems"][0]["shipmentId"] == shipment["id"]


def test_fulfillment_request_id_identifies_the_po(client: httpx.Client) -> None:
    """fulfillmentRequestId alone (no PO number, no source) finds the PO."""
    body = make_body()
    del body["purchaseOrderNumber"], body["sourceId"]
    response = post(client, {**body, "fulfillmentRequestId": 2_000_003})
    assert response.status_code == 201
    assert response.json()["sourceId"] == 102


def test_deprecated_purchase_order_id_is_the_same_as_fulfillment_request_id(
    client: httpx.Client,
) -> None:
    """purchaseOrderId is accepted as the old name of fulfillmentRequestId."""
    body = make_body()
    del body["purchaseOrderNumber"], body["sourceId"]
    response = post(client, {**body, "purchaseOrderId": 2_000_002})
    assert response.status_code == 201
    assert response.json()["fulfillmentRequestId"] == 2_000_002


def test_sku_match_fills_the_po_item_ids(sandbox: Sandbox, client: httpx.Client) -> None:
    """An item given by SKU gets the PO item's purchaseOrderItemId, orderItemId and variant."""
    po = next(p for p in sandbox.seed.purchase_orders if p.purchase_order_number == "TEST-1")
    line = next(item for item in po.items if item.sku == "SKU-2")
    body = make_body()
    body["shipment"]["shipmentItems"] = [{"sku": "SKU-2", "quantity": 3}]
    item = post(client, body).json()["shipmentItems"][0]
    assert item["purchaseOrderItemId"] == line.purchase_order_item_id
    assert item["fulfillmentRequestItemId"] == line.purchase_order_item_id
    assert item["orderItemId"] == line.order_item_id
    assert item["inventoryVariantId"] == line.inventory_variant_id
    assert item["quantity"] == 3
    assert item["partial"] is True


def test_purchase_order_item_id_identifies_the_item(sandbox: Sandbox, client: httpx.Client) -> None:
    """An item given by purchaseOrderItemId gets that line's SKU."""
    po = next(p for p in sandbox.seed.purchase_orders if p.purchase_order_number == "TEST-1")
    body = make_body()
    body["shipment"]["shipmentItems"] = [
        {"purchaseOrderItemId": po.items[2].purchase_order_item_id, "quantity": 1}
    ]
    response = post(client, body)
    assert response.status_code == 201
    assert response.json()["shipmentItems"][0]["sku"] == "SKU-3"


def test_empty_and_duplicate_custom_fields_are_ignored(client: httpx.Client) -> None:
    """Custom fields with an empty name or value, or a repeated name, are not saved."""
    body = make_body()
    body["shipment"]["customFields"] = [
        {"name": "Warehouse", "value": "East"},
        {"name": "", "value": "x"},
        {"name": "Dock", "value": ""},
        {"name": "Warehouse", "value": "West"},
    ]
    fields = post(client, body).json()["customFields"]
    assert [(f["name"], f["value"]) for f in fields] == [("Warehouse", "East")]
    assert isinstance(fields[0]["id"], int)


def test_source_token_finds_its_own_po_by_number_without_source_id(sandbox: Sandbox) -> None:
    """A SOURCE token needs no sourceId: the PO number is looked up within its source."""
    body = make_body()
    del body["sourceId"]
    response = send(sandbox.url, body, SOURCE_101_TOKEN)
    assert response.status_code == 201


# --- 400: strict bodies ---------------------------------------------------------------


def _set(path: str, value: Any) -> dict[str, Any]:
    """A valid body with the value at a dotted path replaced (or removed if `...`)."""
    body = make_body()
    *parents, last = path.split(".")
    target: Any = body
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return body


@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param(_set("trackingNo", "x"), "trackingNo", id="unknown-top-field"),
        pytest.param(_set("shipment.tracking", "x"), "shipment.tracking", id="unknown-field"),
        pytest.param(
            _set("shipment.shipmentItems.0.qty", 1), "shipmentItems[0].qty", id="unknown-item-field"
        ),
        pytest.param(_set("shipment.shipmentItems.0.quantity", "2"), "quantity", id="str-qty"),
        pytest.param(_set("shipment.shipmentItems.0.quantity", 1.0), "quantity", id="float-int"),
        pytest.param(_set("shipment.shipmentItems.0.quantity", True), "quantity", id="bool-int"),
        pytest.param(_set("shipment.shipmentItems.0.quantity", 0), "quantity", id="zero-qty"),
        pytest.param(_set("shipment.shipmentItems.0.quantity", ...), "quantity", id="no-qty"),
        pytest.param(_set("sourceId", "101"), "sourceId", id="str-source-id"),
        pytest.param(_set("shipment.note", None), "shipment.note", id="null"),
        pytest.param(_set("shipment.trackingNumber", ...), "trackingNumber", id="no-tracking"),
        pytest.param(_set("shipment.trackingNumber", " "), "trackingNumber", id="blank-tracking"),
        pytest.param(_set("shipment.shipmentItems", []), "shipmentItems", id="no-items"),
        pytest.param(_set("shipment.shippingCost", "12.40"), "shippingCost", id="str-cost"),
        pytest.param(_set("shipment.suppressed", "true"), "suppressed", id="str-bool"),
        pytest.param(
            _set("shipment.shippedAt", "2026-11-26T16:15:00"), "shippedAt", id="no-offset"
        ),
        pytest.param(_set("shipment.shippedAt", "11/26/2026"), "shippedAt", id="us-date"),
        pytest.param(_set("shipment.shippedAt", "2026-02-30T00:00:00Z"), "shippedAt", id="feb30"),
        pytest.param(
            _set("shipment.shipmentItems.0.sku", ...), "sku, sourceVariantId", id="no-identifier"
        ),
        pytest.param(
            _set("shipment.customFields", [{"name": "a", "value": 1}]), "value", id="cf-int-value"
        ),
        pytest.param(["not", "an", "object"], "JSON object", id="array-body"),
    ],
)
def test_malformed_body_is_400_naming_the_field(
    client: httpx.Client, body: Any, named: str
) -> None:
    """A body that breaks the schema gets 400 whose message names the field; nothing is made."""
    response = post(client, body)
    assert response.status_code == 400, response.text
    assert response.json()["status"] == 400
    assert named in response.json()["message"]
    assert client.get("/_sandbox/shipments").json() == []


def test_non_json_content_type_is_400(client: httpx.Client) -> None:
    """The body must be sent as application/json."""
    response = client.post(
        "/shipments", content=json.dumps(make_body()), headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 400
    assert "Content-Type" in response.json()["message"]


def test_invalid_json_is_400(client: httpx.Client) -> None:
    """A body that is not JSON gets 400, not a crash."""
    response = client.post(
        "/shipments", content=b"{'single': quotes}", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"]


def test_sku_not_on_po_is_400_naming_sku_and_po(client: httpx.Client) -> None:
    """An item SKU that the PO does not have gets 400 naming the SKU and the PO number."""
    response = post(client, _set("shipment.shipmentItems.0.sku", "00123-BLK"))
    assert response.status_code == 400
    message = response.json()["message"]
    assert "00123-BLK" in message
    assert "TEST-1" in message


def test_po_item_id_not_on_po_is_400(client: httpx.Client) -> None:
    """A purchaseOrderItemId of another PO gets 400."""
    body = make_body()
    body["shipment"]["shipmentItems"] = [{"purchaseOrderItemId": 1, "quantity": 1}]
    response = post(client, body)
    assert response.status_code == 400
    assert "purchaseOrderItemId" in response.json()["message"]


def test_account_token_with_po_number_needs_source_id(client: httpx.Client) -> None:
    """An ACCOUNT token naming a PO by number without sourceId gets 400."""
    response = post(client, _set("sourceId", ...))
    assert response.status_code == 400
    assert "sourceId" in response.json()["message"]


def test_source_token_with_another_source_id_is_400(sandbox: Sandbox) -> None:
    """A SOURCE token sending a different sourceId gets 400."""
    response = send(sandbox.url, make_body(), SOURCE_102_TOKEN)
    assert response.status_code == 400
    assert "sourceId" in response.json()["message"]


# --- 404 ------------------------------------------------------------------------------


def test_unknown_po_number_is_404(client: httpx.Client) -> None:
    """A PO number that does not exist for the source gets 404."""
    response = post(client, make_body(purchaseOrderNumber="PO-99999"))
    assert response.status_code == 404
    assert "PO-99999" in response.json()["message"]


def test_unknown_fulfillment_request_id_is_404(client: httpx.Client) -> None:
    """A fulfillmentRequestId that does not exist gets 404."""
    body = _set("purchaseOrderNumber", ...)
    del body["sourceId"]
    response = post(client, {**body, "fulfillmentRequestId": 42})
    assert response.status_code == 404


def test_unknown_source_is_404(client: httpx.Client) -> None:
    """A sourceId that does not exist gets 404."""
    response = post(client, make_body(sourceId=999))
    assert response.status_code == 404
    assert "999" in response.json()["message"]


def test_po_of_another_source_is_404_for_a_source_token(sandbox: Sandbox) -> None:
    """A SOURCE token cannot reach another source's PO, even by fulfillmentRequestId."""
    body = _set("purchaseOrderNumber", ...)
    del body["sourceId"]
    # fulfillmentRequestId 2000003 is TEST-3, a PO of source 102.
    response = send(sandbox.url, {**body, "fulfillmentRequestId": 2_000_003}, SOURCE_101_TOKEN)
    assert response.status_code == 404


def test_auto_create_pos_accepts_unknown_po_and_sku() -> None:
    """With auto_create_pos an unknown PO number and SKU are created on first use."""
    with Sandbox(SandboxOptions(limiter="off", auto_create_pos=True)) as sandbox:
        body = make_body(purchaseOrderNumber="BENCH-1")
        body["shipment"]["shipmentItems"] = [{"sku": "ANY-SKU", "quantity": 7}]
        first = send(sandbox.url, body)
        again = send(sandbox.url, body)
    assert first.status_code == 201
    assert again.status_code == 409
    assert again.json()["shipmentId"] == first.json()["id"]


# --- 409 ------------------------------------------------------------------------------


def test_duplicate_tracking_number_is_409_with_the_existing_id(client: httpx.Client) -> None:
    """The same tracking number on the same PO gets 409 naming it and the existing shipment."""
    created = post(client, make_body()).json()
    response = post(client, make_body())
    assert response.status_code == 409
    assert response.json() == {
        "status": 409,
        "message": "Tracking number 1Z999AA10000000001 already exists on purchase order TEST-1",
        "shipmentId": created["id"],
    }


def test_allow_duplicate_tracking_numbers_creates_again(client: httpx.Client) -> None:
    """allowDuplicateTrackingNumbers=true lets the same tracking number be created twice."""
    first = post(client, make_body())
    second = post(client, make_body(allowDuplicateTrackingNumbers=True))
    assert second.status_code == 201
    assert second.json()["id"] > first.json()["id"]


def test_same_tracking_number_on_another_po_is_fine(client: httpx.Client) -> None:
    """Duplicates are per purchase order: another PO may reuse the tracking number."""
    assert post(client, make_body()).status_code == 201
    assert post(client, make_body(purchaseOrderNumber="TEST-2")).status_code == 201


# --- rate limits ----------------------------------------------------------------------


def test_spacing_rejects_a_request_0_1_s_after_the_previous() -> None:
    """'spacing' answers 429 with Retry-After to a request 0.1 s after an accepted one."""
    with (
        Sandbox(SandboxOptions(limiter="spacing", rate=2.0)) as sandbox,
        connect(sandbox.url) as http,
    ):
        first = post(http, make_body("T-1"))
        time.sleep(0.1)
        second = post(http, make_body("T-2"))
        time.sleep(0.45)
        third = post(http, make_body("T-3"))
    assert first.status_code == 201
    assert second.status_code == 429
    assert second.headers["Retry-After"] == "1"
    assert second.json()["status"] == 429
    assert third.status_code == 201
    stats = sandbox.stats()
    assert stats.requests == 3
    assert stats.rate_limited == 1
    times = stats.request_times[token_fingerprint(ACCOUNT_TOKEN)]
    assert len(times) == 2
    assert times[1] - times[0] >= 0.5


def test_sliding_window_allows_two_then_rejects_the_third() -> None:
    """'sliding' accepts 2 requests in a second and refuses the 3rd within that second."""
    with (
        Sandbox(SandboxOptions(limiter="sliding", rate=2.0)) as sandbox,
        connect(sandbox.url) as http,
    ):
        statuses = [post(http, make_body(f"T-{n}")).status_code for n in range(3)]
    assert statuses == [201, 201, 429]


def test_rate_limit_is_per_token() -> None:
    """Two tokens each get their own allowance."""
    body = make_body("T-2")
    del body["sourceId"]
    with Sandbox(SandboxOptions(limiter="spacing", rate=2.0)) as sandbox:
        account = send(sandbox.url, make_body("T-1"))
        source = send(sandbox.url, body, SOURCE_101_TOKEN)
    assert (account.status_code, source.status_code) == (201, 201)


def test_spacing_limiter_judges_arrivals_against_both_neighbours() -> None:
    """'spacing' accepts a gap of exactly 1/rate, and checks late-presented arrivals too."""
    limiter = SpacingLimiter(rate=2.0)
    assert limiter.admit("k", 10.0) is None
    assert limiter.admit("k", 10.4) == pytest.approx(0.1)
    assert limiter.admit("k", 10.5) is None
    assert limiter.admit("k", 10.2) is not None  # out of order, 0.2 s after 10.0
    assert limiter.admit("other", 10.2) is None


def test_spacing_tolerance_shortens_the_gap() -> None:
    """spacing_tolerance_s lets a gap of 1/rate - tolerance through."""
    limiter = SpacingLimiter(rate=2.0, tolerance_s=0.05)
    assert limiter.admit("k", 0.0) is None
    assert limiter.admit("k", 0.46) is None


def test_sliding_window_is_half_open() -> None:
    """'sliding' counts arrivals in [t, t + 1 s): the 3rd at exactly +1.0 s is accepted."""
    limiter = SlidingWindowLimiter(rate=2.0)
    assert [limiter.admit("k", t) for t in (0.0, 0.1)] == [None, None]
    assert limiter.admit("k", 0.9) == pytest.approx(0.1)
    assert limiter.admit("k", 1.0) is None
    assert limiter.admit("k", 1.05) is not None


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    """Retry-After is an integer number of seconds, at least 1."""
    assert [retry_after_header(s) for s in (0.001, 1.0, 1.2)] == ["1", "1", "2"]


def test_concurrent_duplicates_create_exactly_one_shipment(sandbox: Sandbox) -> None:
    """Simultaneous requests with one tracking number on one PO create it once; the rest 409."""
    statuses: list[int] = []

    def send_one() -> None:
        statuses.append(send(sandbox.url, make_body()).status_code)

    threads = [threading.Thread(target=send_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 409, 409, 409, 409, 409]
    assert len(sandbox.shipments()) == 1


# --- faults ---------------------------------------------------------------------------


def test_fail_before_answers_500_and_creates_nothing() -> None:
    """fail_before_rate=1.0 answers 500 and nothing is created."""
    with Sandbox(SandboxOptions(limiter="off", fail_before_rate=1.0)) as sandbox:
        response = send(sandbox.url, make_body())
        assert response.status_code == 500
        assert response.json()["status"] == 500
        assert sandbox.shipments() == []
        assert sandbox.stats().server_errors == 1


def test_lost_reply_creates_the_shipment_but_answers_500() -> None:
    """lost_reply_rate=1.0 creates the shipment, then answers 500."""
    with Sandbox(SandboxOptions(limiter="off", lost_reply_rate=1.0)) as sandbox:
        response = send(sandbox.url, make_body())
        assert response.status_code == 500
        assert len(sandbox.shipments()) == 1
        assert sandbox.stats().created == 1


def test_drop_connection_creates_and_the_client_sees_a_connection_error() -> None:
    """drop_connection_rate=1.0 creates the shipment and closes the socket with no reply."""
    with Sandbox(SandboxOptions(limiter="off", drop_connection_rate=1.0)) as sandbox:
        with pytest.raises(httpx.RemoteProtocolError):
            send(sandbox.url, make_body())
        assert len(sandbox.shipments()) == 1
        assert sandbox.stats().server_errors == 1


def test_latency_is_honoured() -> None:
    """latency_s delays the answer by at least its lower bound."""
    with Sandbox(SandboxOptions(limiter="off", latency_s=(0.3, 0.3))) as sandbox:
        began = time.monotonic()
        response = send(sandbox.url, make_body())
        elapsed = time.monotonic() - began
    assert response.status_code == 201
    assert elapsed >= 0.3


def test_concurrent_requests_are_counted_in_flight() -> None:
    """max_in_flight reports how many requests were handled at once."""
    with Sandbox(SandboxOptions(limiter="off", latency_s=(0.3, 0.3))) as sandbox:

        def send_one(n: int) -> None:
            send(sandbox.url, make_body(f"T-{n}"))

        threads = [threading.Thread(target=send_one, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stats = sandbox.stats()
    assert stats.max_in_flight == 3
    assert stats.created == 3


# --- the HTTP surface -----------------------------------------------------------------


def test_admin_endpoints_need_no_token(sandbox: Sandbox, client: httpx.Client) -> None:
    """GET /_sandbox/shipments and /_sandbox/stats report; POST /_sandbox/reset forgets."""
    created = post(client, make_body()).json()
    with connect(sandbox.url, token=None) as admin:
        assert admin.get("/_sandbox/shipments").json() == [created]
        stats = admin.get("/_sandbox/stats").json()
        assert stats["requests"] == 1
        assert stats["created"] == 1
        assert stats["status_counts"] == {"201": 1}
        assert admin.post("/_sandbox/reset").status_code == 200
        assert admin.get("/_sandbox/shipments").json() == []
        assert admin.get("/_sandbox/stats").json()["requests"] == 0
        assert post(client, make_body()).status_code == 201  # no 409 after the reset


def test_other_paths_are_404_and_other_methods_405(client: httpx.Client) -> None:
    """Unknown paths get a JSON 404; a known path with the wrong method gets 405."""
    missing = client.post("/shipment", json={})
    assert missing.status_code == 404
    assert missing.json()["status"] == 404
    wrong = client.put("/shipments", json={})
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "GET, POST"
    assert client.delete("/shipments").status_code == 405
    assert client.post("/fulfillment-requests", json={}).headers["Allow"] == "GET"


def test_body_over_1_mib_is_413(client: httpx.Client) -> None:
    """A request body larger than 1 MiB is refused with 413."""
    body = make_body()
    body["shipment"]["note"] = "x" * (1024 * 1024)
    response = post(client, body)
    assert response.status_code == 413


def test_server_prints_nothing(capfd: pytest.CaptureFixture[str], client: httpx.Client) -> None:
    """No request, good or bad, makes the server print (a token could leak into a log)."""
    post(client, make_body())
    post(client, {"bad": True})
    client.get("/nowhere")
    client.post("/shipments", json={}, headers={"X-API-TOKEN": "leaky"})
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""


def test_sandbox_helpers_copy_and_reset(sandbox: Sandbox, client: httpx.Client) -> None:
    """shipments() returns copies; reset() forgets shipments and stats."""
    post(client, make_body())
    sandbox.shipments()[0]["trackingNumber"] = "changed"
    assert sandbox.shipments()[0]["trackingNumber"] == "1Z999AA10000000001"
    sandbox.reset()
    assert sandbox.shipments() == []
    assert sandbox.stats().requests == 0


# --- seed and example -----------------------------------------------------------------


def _rfc3339(shipped_at: str) -> str:
    if "T" in shipped_at:
        return shipped_at
    parsed = datetime.strptime(shipped_at, "%m/%d/%Y %I:%M %p").replace(tzinfo=UTC)
    return parsed.isoformat().replace("+00:00", "Z")


def test_every_row_of_the_example_file_is_created(sandbox: Sandbox, client: httpx.Client) -> None:
    """The bundled example uploads cleanly to the bundled seed: every row is created."""
    with (templates_dir() / "example-shipments.csv").open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["SKU"]]  # whole-PO rows: test_whole_po_e2e
    assert len(rows) >= 10
    groups: dict[tuple[str, str, str, str], list[dict[str, str]]] = {}
    for row in rows:
        key = (row["PO Number"], row["Source ID"], row["Fulfillment Request ID"])
        groups.setdefault((*key, row["Tracking Number"]), []).append(row)
    for (po_number, source_id, fr_id, tracking), group in groups.items():
        first = group[0]
        body: dict[str, Any] = {
            "shipment": {
                "trackingNumber": tracking,
                "carrier": first["Carrier"],
                "method": first["Method"],
                "shippedAt": _rfc3339(first["Shipped At"]),
                "shippingCost": float(first["Shipping Cost"]),
                "shipmentItems": [{"sku": r["SKU"], "quantity": int(r["Quantity"])} for r in group],
            }
        }
        if po_number:
            body.update(purchaseOrderNumber=po_number, sourceId=int(source_id))
        else:
            body["fulfillmentRequestId"] = int(fr_id)
        response = post(client, body)
        assert response.status_code == 201, (first, response.text)
    created = sandbox.shipments()
    assert sum(len(s["shipmentItems"]) for s in created) == len(rows)
    assert "03071790000012345673" in {s["trackingNumber"] for s in created}


def test_bundled_seed_has_the_documented_tokens() -> None:
    """The bundled seed has the account token, a token per source, and spare TEST POs."""
    seed = load_seed()
    assert seed.account_token == ACCOUNT_TOKEN
    assert {s.token for s in seed.sources} >= {SOURCE_101_TOKEN, SOURCE_102_TOKEN}
    numbers = {po.purchase_order_number for po in seed.purchase_orders}
    assert {f"TEST-{n}" for n in range(1, 7)} <= numbers


def test_a_broken_seed_is_a_clear_error(tmp_path: Path) -> None:
    """A seed file that is not valid JSON raises SeedError naming the file."""
    broken = tmp_path / "seed.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(SeedError, match=r"seed\.json"):
        Sandbox(SandboxOptions(seed_path=broken))


def test_invalid_options_are_refused() -> None:
    """Options out of range raise ConfigError (exit code 2) naming the option."""
    with pytest.raises(ConfigError, match="fail_before_rate"):
        SandboxOptions(fail_before_rate=1.5)
    with pytest.raises(ConfigError, match="rate"):
        SandboxOptions(rate=0)


def test_serve_forever_reports_its_url_and_stops_on_ctrl_c() -> None:
    """serve_forever calls on_ready(url), serves, and returns cleanly on KeyboardInterrupt."""
    # A shell starting a background job (as CI may) leaves SIGINT ignored, and an ignored
    # signal stays ignored across exec: give the child Python's own Ctrl-C handling back.
    script = (
        "import signal\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from batch_uploader.sandbox import SandboxOptions, serve_forever\n"
        "serve_forever(SandboxOptions(), '127.0.0.1', 0, lambda url: print(url, flush=True))\n"
        "print('stopped', flush=True)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        response = send(url, make_body())
        assert response.status_code == 201
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0
    assert out.strip() == "stopped"
