"""A real `serve` on 127.0.0.1 in a thread, for the HTTP and browser tests of the web page."""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import uvicorn

from batch_uploader.web.app import create_app
from batch_uploader.web.settings import WebSettings, allowed_hosts_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL_CHROMIUM = (
    "Chromium is missing: install it from the OS packages (as root: "
    "apt-get update && apt-get install -y chromium), then run `make test` again"
)
SCREENSHOTS = Path("/tmp/web-screenshots")  # noqa: S108 -- where the lead looks at them
START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class LiveServer:
    """Where the page is served and with which settings."""

    url: str
    settings: WebSettings
    app: object


def sandbox_settings(tmp_path: Path, **changes: object) -> WebSettings:
    """`serve --sandbox` settings with everything inside tmp_path (the port is set later)."""
    settings = WebSettings(
        report_dir=tmp_path / "reports",
        journal_path=tmp_path / "journal.sqlite3",
        sandbox=True,
        allowed_hosts=frozenset({"placeholder:0"}),
    )
    return replace(settings, **changes)  # type: ignore[arg-type]


@contextlib.contextmanager
def live_server(settings: WebSettings) -> Iterator[LiveServer]:
    """Serve `settings` on a free 127.0.0.1 port until the block ends (then shut down)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = int(sock.getsockname()[1])
    settings = replace(settings, allowed_hosts=allowed_hosts_for("127.0.0.1", port))
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            msg = "the web server did not start"
            raise RuntimeError(msg)
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", settings, app)
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def save_screenshot(page: object, tmp_path: Path, name: str) -> Path:
    """Screenshot into the test's own directory and copy it to /tmp/web-screenshots/."""
    path = tmp_path / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, SCREENSHOTS / path.name)
    return path


SPARE_POS = (("TEST-1", 101), ("TEST-2", 101), ("TEST-3", 102), ("TEST-4", 102), ("TEST-5", 103))
"""Purchase orders of the sandbox seed kept for tests (SKU-1..SKU-3, 100 of each)."""


def shipments_csv(path: Path, shipments: int, *, invalid: int = 0) -> Path:
    """A CSV of `shipments` one-item shipments to the seed's spare POs, then `invalid` bad rows.

    Every row also has an `Alt Tracking` column, blank on the bad rows' neighbours, so that
    mapping Tracking Number to it makes rows invalid (the remapping test).
    """
    lines = ["PO Number,Source ID,Tracking Number,Alt Tracking,Carrier,SKU,Quantity"]
    for i in range(shipments):
        po, source = SPARE_POS[i % len(SPARE_POS)]
        alt = f"ALT{i:06d}" if i % 2 else ""
        lines.append(f"{po},{source},WEB{i:07d},{alt},UPS,SKU-{1 + i % 3},1")
    for i in range(invalid):
        po, source = SPARE_POS[i % len(SPARE_POS)]
        lines.append(f"{po},{source},BAD{i:07d},,UPS,SKU-1,two")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
