"""The sender against small real HTTP servers that answer what the sandbox never does."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.conftest import write_csv


class _Scripted(BaseHTTPRequestHandler):
    """Answers POST /shipments with the next (status, body) of `script`."""

    script: ClassVar[list[tuple[int, dict[str, object]]]] = []
    seen: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        type(self).seen.append(json.loads(self.rfile.read(length)))
        status, body = type(self).script.pop(0)
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
    handler = type("Handler", (_Scripted,), {"script": [], "seen": []})
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
