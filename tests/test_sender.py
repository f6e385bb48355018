"""The sender against small real HTTP servers that answer what the sandbox never does."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from batch_uploader.sandbox import Sandbox, SandboxOptions
from batch_uploader.sender import FOUND_IN_FLXPOINT
from tests.conftest import sandbox_env, write_csv


class _Scripted(BaseHTTPRequestHandler):
    """Answers POST /shipments with the next (status, body) of `script`."""

    script: ClassVar[list[tuple[int, dict[str, object]]]] = []
    seen: ClassVar[list[dict[str, object]]] = []
    reads: ClassVar[list[str]] = []  # the path and query of every GET
    # GET answers by path; a path not here is refused (400): Flxpoint cannot be asked.
    answers: ClassVar[dict[str, list[dict[str, object]]]] = {}

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        type(self).seen.append(json.loads(self.rfile.read(length)))
        status, body = type(self).script.pop(0)
        self._answer(status, body)

    def do_GET(self) -> None:
        """The scripted answer of the path, else a refusal."""
        type(self).reads.append(self.path)
        answer = type(self).answers.get(self.path.split("?", 1)[0])
        if answer is None:
            self._answer(400, {"message": "reads are switched off here"})
        else:
            self._answer(200, answer)

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def scripted() -> Iterator[tuple[str, type[_Scripted]]]:
    """A loopback server whose answers each test scripts."""
    handler = type("Handler", (_Scripted,), {"script": [], "seen": [], "reads": [], "answers": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def _one_row(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "one.csv", [["TEST-1", "101", "", "1ZSCRIPT0001", "", "", "", "", "", "S", "1"]]
    )


def test_200_instead_of_201_still_counts_as_created(scripted, cli_run, tmp_path: Path) -> None:
    """An API answering 200 with the shipment is a success, not a failure."""
    url, handler = scripted
    handler.script[:] = [(200, {"id": 77})]
    env = {"FLXPOINT_API_TOKEN": "t0ken", "FLXPOINT_BASE_URL": url}
    run = cli_run("upload", str(_one_row(tmp_path)), env=env)
    assert run.code == 0, run.stderr
    (row,) = run.workbook().table("Results")
    assert (row["Status"], row["Shipment ID"]) == ("created", 77)


def test_408_is_retried_and_not_ambiguous(scripted, cli_run, tmp_path: Path) -> None:
    """408 (server gave up before reading) is retried; the 201 that follows is `created`."""
    url, handler = scripted
    handler.script[:] = [(408, {"message": "timeout"}), (201, {"id": 78})]
    env = {"FLXPOINT_API_TOKEN": "t0ken", "FLXPOINT_BASE_URL": url}
    run = cli_run("upload", str(_one_row(tmp_path)), env=env)
    assert run.code == 0, run.stderr
    (row,) = run.workbook().table("Results")
    assert (row["Status"], row["Shipment ID"]) == ("created", 78)
    assert len(handler.seen) == 2


def test_409_on_a_first_attempt_is_skipped_with_its_reason(
    scripted, cli_run, tmp_path: Path
) -> None:
    """A 409 when we never sent it before: `skipped`, uploaded some other way, ID from the body."""
    url, handler = scripted
    handler.script[:] = [(409, {"message": "exists", "shipmentId": 79})]
    env = {"FLXPOINT_API_TOKEN": "t0ken", "FLXPOINT_BASE_URL": url}
    run = cli_run("upload", str(_one_row(tmp_path)), env=env)
    assert run.code == 0
    (row,) = run.workbook().table("Results")
    assert (row["Status"], row["Shipment ID"]) == ("skipped", 79)
    assert "uploaded some other way" in row["Error"]


def _rows(prefix: str, count: int) -> list[list[str]]:
    return [
        [f"{prefix}-{i}", "101", "", f"1Z{prefix}{i:08d}", "UPS", "", "", "", "", "SKU-1", "1"]
        for i in range(count)
    ]


@pytest.mark.parametrize("fault", ["lost_reply_rate", "drop_connection_rate"])
def test_lost_reply_with_duplicates_allowed_is_found_in_flxpoint(
    cli_run, tmp_path: Path, fault: str
) -> None:
    """--allow-duplicate-tracking: a reply lost after creating → GET /shipments finds it:
    `created` with its Shipment ID, sent once, exit 0."""
    source = write_csv(tmp_path / "lost.csv", _rows("LST", 3))
    options = SandboxOptions(auto_create_pos=True, **{fault: 1.0})  # type: ignore[arg-type]
    with Sandbox(options) as server:
        run = cli_run("upload", str(source), "--allow-duplicate-tracking", env=sandbox_env(server))
        assert run.code == 0, run.workbook().table("Failed")
        ids = {s["trackingNumber"]: s["id"] for s in server.shipments()}
        assert len(server.shipments()) == 3 == server.stats().requests  # one POST each
        results = run.workbook().table("Results")
        assert [(r["Status"], r["Shipment ID"]) for r in results] == [
            ("created", ids[r["Tracking Number"]]) for r in results
        ]
        # The second run asks nothing and sends nothing: the journal knows them.
        again = cli_run(
            "upload", str(source), "--allow-duplicate-tracking", env=sandbox_env(server)
        )
        assert again.code == 0
        assert {r["Status"] for r in again.workbook().table("Results")} == {"skipped"}
        assert server.stats().requests == 3


def test_lost_reply_then_not_found_is_sent_again(cli_run, tmp_path: Path) -> None:
    """A 500 that created nothing (with duplicates allowed): Flxpoint has none, so it is sent
    again, and created once."""
    source = write_csv(tmp_path / "retry.csv", _rows("NF", 4))
    options = SandboxOptions(auto_create_pos=True, fail_before_rate=0.5, random_seed=11)
    with Sandbox(options) as server:
        run = cli_run(
            "upload",
            str(source),
            "--allow-duplicate-tracking",
            "--max-attempts",
            "8",
            env=sandbox_env(server),
        )
        assert run.code == 0, run.workbook().table("Failed")
        assert server.stats().server_errors > 0
        keys = Counter(s["trackingNumber"] for s in server.shipments())
        assert len(keys) == 4
        assert max(keys.values()) == 1


def test_unknown_when_flxpoint_cannot_be_asked_then_retry_include_unknown(
    scripted, cli_run, tmp_path: Path
) -> None:
    """Reads refused: the lost reply stays `outcome unknown`, not re-sent; `retry
    --include-unknown` sends it again (the user checked)."""
    url, handler = scripted
    handler.script[:] = [(500, {"message": "lost"}), (201, {"id": 81})]
    env = {"FLXPOINT_API_TOKEN": "t0ken", "FLXPOINT_BASE_URL": url}
    run = cli_run("upload", str(_one_row(tmp_path)), "--allow-duplicate-tracking", env=env)
    assert run.code == 1
    (row,) = run.workbook().table("Results")
    assert row["Status"] == "failed"
    assert "outcome unknown" in row["Error"]
    assert len(handler.seen) == 1
    assert handler.reads[0].startswith("/fulfillment-requests?")
    again = cli_run(
        "retry",
        str(run.workbook().path),
        "--allow-duplicate-tracking",
        "--include-unknown",
        env=env,
    )
    assert again.code == 0, again.stderr
    (row,) = again.workbook().table("Results")
    assert (row["Status"], row["Shipment ID"]) == ("created", 81)
    assert len(handler.seen) == 2


def test_unknown_entry_found_in_flxpoint_on_the_next_run_is_skipped(
    scripted, cli_run, tmp_path: Path
) -> None:
    """A run that could not ask leaves `unknown`; the next run asks first, finds the
    shipment: `skipped` with its Shipment ID, nothing posted."""
    url, handler = scripted
    handler.script[:] = [(500, {"message": "lost"})]
    env = {"FLXPOINT_API_TOKEN": "t0ken", "FLXPOINT_BASE_URL": url}
    first = cli_run("upload", str(_one_row(tmp_path)), "--allow-duplicate-tracking", env=env)
    assert first.code == 1
    handler.answers = {
        "/fulfillment-requests": [
            {
                "id": 555,
                "fulfillmentRequestNumber": "TEST-1",
                "sourceId": 101,
                "fulfillmentRequestItems": [],
            }
        ],
        "/shipments": [{"id": 91, "trackingNumber": "1ZSCRIPT0001", "fulfillmentRequestId": 555}],
    }
    again = cli_run("upload", str(_one_row(tmp_path)), "--allow-duplicate-tracking", env=env)
    assert again.code == 0, again.stderr
    (row,) = again.workbook().table("Results")
    assert (row["Status"], row["Shipment ID"], row["Error"]) == ("skipped", 91, FOUND_IN_FLXPOINT)
    assert len(handler.seen) == 1  # the first run's one POST only
    assert handler.reads[-1].startswith("/shipments?findByPurchaseOrderId=555")
