"""The web page's HTTP surface: CSRF, Host check, size limit, token secrecy, one run per token."""

from __future__ import annotations

import base64
import logging
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from batch_uploader.paths import CONFIG_DIR_ENV
from batch_uploader.profiles import load_profile
from batch_uploader.sandbox import Sandbox
from batch_uploader.web.command import serve
from batch_uploader.web.settings import PASSWORD_ENV, allowed_hosts_for
from batch_uploader.web.uploads import Upload, safe_name
from tests.web_helpers import LiveServer, live_server, sandbox_settings, shipments_csv

EXAMPLE = Path(__file__).parent.parent / "templates" / "example-shipments.csv"
RUN_TIMEOUT_S = 60.0


class Page:
    """One browser session: the cookie and CSRF token of a loaded page."""

    def __init__(self, server: LiveServer) -> None:
        self.client = httpx.Client(base_url=server.url, timeout=30)
        html = self.client.get("/").text
        found = re.search(r'name="csrf-token" content="([^"]+)"', html)
        assert found, "the page carries its CSRF token"
        self.csrf = found.group(1)
        self.replies: list[bytes] = [html.encode()]

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        reply = self.client.post(url, headers=headers, **kwargs)
        self.replies.append(reply.content)
        return reply

    def get(self, url: str) -> httpx.Response:
        reply = self.client.get(url)
        self.replies.append(reply.content)
        return reply

    def upload(self, *paths: Path) -> httpx.Response:
        files = [("files", (p.name, p.read_bytes(), "text/csv")) for p in paths]
        return self.post("/api/uploads", files=files)

    def wait(self) -> dict[str, Any]:
        """Poll the state until this page's job is finished; return the job."""
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline:
            job = self.get("/api/state").json()["job"]
            if job and job["phase"] == "finished":
                return dict(job)
            time.sleep(0.2)
        raise AssertionError("the run did not finish in time")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(sandbox_settings(tmp_path)) as live:
        yield live


def test_page_and_assets_come_from_the_package(server: LiveServer) -> None:
    """The page, its CSS and JS are served locally; none of them loads anything from elsewhere."""
    client = httpx.Client(base_url=server.url)
    page = client.get("/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for asset in ("/static/app.css", "/static/app.js"):
        reply = client.get(asset)
        assert reply.status_code == 200
        assert "http://" not in reply.text
        assert "https://" not in reply.text
    assert not re.search(r'(src|href)="(https?:)?//', page.text)


def test_state_change_without_csrf_token_is_403(server: LiveServer) -> None:
    """A POST without the page's CSRF token (or with another one) is refused before it acts."""
    page = Page(server)
    files = [("files", ("a.csv", EXAMPLE.read_bytes(), "text/csv"))]
    missing = page.client.post("/api/uploads", files=files)
    wrong = page.client.post("/api/uploads", files=files, headers={"X-CSRF-Token": "x" * 40})
    no_session = httpx.post(
        f"{server.url}/api/send", headers={"X-CSRF-Token": page.csrf}, timeout=10
    )
    assert [missing.status_code, wrong.status_code, no_session.status_code] == [403, 403, 403]
    assert "CSRF" in missing.json()["error"]
    assert page.upload(EXAMPLE).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.2:1", ""])
def test_foreign_host_header_is_refused(server: LiveServer, host: str) -> None:
    """A Host that does not name this server (DNS rebinding) gets 421, not the page."""
    reply = httpx.get(f"{server.url}/", headers={"Host": host})
    assert reply.status_code in (400, 421)
    assert "csrf-token" not in reply.text


def test_upload_over_the_limit_is_413_with_a_message(tmp_path: Path) -> None:
    """Too large a choice of files is refused with 413 and a sentence, announced or streamed."""
    with live_server(sandbox_settings(tmp_path, upload_limit_bytes=4096)) as live:
        page = Page(live)
        big = [("files", ("big.csv", b"PO Number,Tracking Number\n" + b"x," * 4096, "text/csv"))]
        announced = page.post("/api/uploads", files=big)
        assert announced.status_code == 413
        assert "at most 4 KB" in announced.json()["error"]

        def chunks() -> Iterator[bytes]:
            yield b"--b\r\nContent-Disposition: form-data; name=files; filename=a.csv\r\n\r\n"
            for _ in range(20):
                yield b"y" * 1024

        streamed = page.post(
            "/api/uploads",
            content=chunks(),
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )
        assert streamed.status_code == 413
        assert "Too large" in streamed.json()["error"]


def test_browser_file_names_never_become_paths(server: LiveServer) -> None:
    """`../../x.csv` is stored as `x.csv` inside the private upload directory, nowhere else."""
    assert safe_name("../../etc/passwd", 0) == "passwd"
    assert safe_name("C:\\Exports\\Orders (1).CSV", 0) == "Orders_1.csv"
    assert safe_name("..", 3) == "file-4"
    upload = Upload.create()
    try:
        stored = upload.add("../../escape.csv", EXAMPLE.open("rb"))
        again = upload.add("sub/escape.csv", EXAMPLE.open("rb"))
        assert stored.parent == again.parent == upload.directory
        assert (stored.name, again.name) == ("escape.csv", "escape-2.csv")
        assert oct(upload.directory.stat().st_mode & 0o777) == "0o700"
    finally:
        upload.discard()
    assert not upload.directory.exists()


def test_preview_counts_and_remapping(server: LiveServer, tmp_path: Path) -> None:
    """Choosing files shows format, Columns and counts at once; a new mapping re-checks."""
    source = tmp_path / "two-trackings.csv"
    lines = EXAMPLE.read_text().splitlines()
    source.write_text(
        "\n".join([lines[0] + ",Alt Tracking", *(line + "," for line in lines[1:])]) + "\n"
    )
    page = Page(server)
    preview = page.upload(source).json()["preview"]
    assert preview["error"] is None
    assert preview["rows"] == len(lines) - 1
    assert preview["invalid"] == 0
    tracking = next(c for c in preview["columns"] if c["field"] == "tracking_number")
    assert tracking["header"] == "Tracking Number"
    assert "Alt Tracking" in tracking["options"]
    remapped = page.post(
        "/api/mapping", json={"field": "tracking_number", "header": "Alt Tracking"}
    ).json()["preview"]
    assert remapped["invalid"] == len(lines) - 1
    first = remapped["invalid_rows"][0]
    assert first["row"] == 2
    assert first["reason"]


def test_several_files_are_checked_together(server: LiveServer, tmp_path: Path) -> None:
    """Several files chosen at once are previewed as one run, each with its format."""
    first = shipments_csv(tmp_path / "monday.csv", 3)
    second = shipments_csv(tmp_path / "tuesday.csv", 2, invalid=1)
    preview = Page(server).upload(first, second).json()["preview"]
    assert preview["files"] == ["monday.csv", "tuesday.csv"]
    assert [f["format"] for f in preview["formats"]] == ["canonical", "canonical"]
    assert preview["rows"] == 6
    assert preview["invalid"] == 1
    # Tuesday's first two rows repeat Monday's: skipped ("same row as"), listed with the bad one.
    (bad,) = [r for r in preview["invalid_rows"] if r["status"] == "invalid"]
    assert (bad["file"], bad["row"], bad["column"], bad["value"]) == (
        "tuesday.csv",
        4,
        "Quantity",
        "two",
    )


def test_save_as_profile_writes_a_profile_that_is_then_detected(
    server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Save as profile writes the page's mapping as a user profile; the same file then uses it."""
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "config"))
    page = Page(server)
    source = shipments_csv(tmp_path / "orders.csv", 2)
    page.upload(source)
    page.post("/api/mapping", json={"field": "tracking_number", "header": "Alt Tracking"})
    reply = page.post("/api/profile", json={"name": "my-warehouse"})
    assert reply.status_code == 200, reply.text
    saved = Path(reply.json()["saved"])
    assert saved.parent == tmp_path / "config" / "profiles"
    assert load_profile(saved).aliases["tracking_number"] == ("Alt Tracking",)
    again = page.upload(source).json()["preview"]
    assert [f["format"] for f in again["formats"]] == ["my-warehouse"]
    taken = page.post("/api/profile", json={"name": "my-warehouse"})
    assert taken.status_code == 400
    assert "exists already" in taken.json()["error"]


def test_second_send_with_the_same_token_says_who_is_running(server: LiveServer) -> None:
    """One upload per token: a second Send gets 409 naming the running upload's files."""
    first, second = Page(server), Page(server)
    assert first.upload(EXAMPLE).status_code == 200
    assert second.upload(EXAMPLE).status_code == 200
    assert first.post("/api/send").status_code == 202
    busy = second.post("/api/send")
    assert busy.status_code == 409
    assert "already running" in busy.json()["error"]
    assert "example-shipments.csv" in busy.json()["error"]
    first.wait()


def test_stop_is_like_ctrl_c(server: LiveServer) -> None:
    """Stop ends sending with exit 130 and still writes the workbook."""
    page = Page(server)
    page.upload(EXAMPLE)
    job = page.post("/api/send").json()["job"]
    time.sleep(1.2)
    assert page.post(f"/api/jobs/{job['id']}/stop").status_code == 200
    done = page.wait()
    assert done["result"]["exit_code"] == 130
    assert done["result"]["interrupted"] is True
    assert done["result"]["rows"].get("not sent", 0) > 0
    workbook = page.get(f"/api/jobs/{job['id']}/workbook")
    assert workbook.status_code == 200
    assert workbook.content[:2] == b"PK"


def test_uploaded_files_are_removed_after_sending(server: LiveServer) -> None:
    """The private temporary copies of the files are gone once the upload is over."""
    page = Page(server)
    page.upload(EXAMPLE)
    sessions = server.app.state.sessions  # type: ignore[attr-defined]
    (session,) = sessions._by_id.values()
    directory = session.upload.directory
    assert directory.is_dir()
    page.post("/api/send")
    page.wait()
    assert not directory.exists()


def test_token_never_appears_in_a_response_log_or_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A token typed into the page is used, and is in no reply, log line or written file."""
    caplog.set_level(logging.DEBUG)
    with Sandbox() as api:
        token = api.account_token
        settings = sandbox_settings(tmp_path, sandbox=False, base_url=api.url)
        with live_server(settings) as live:
            page = Page(live)
            state = page.get("/api/state").json()
            assert state["token_needed"] is True
            assert page.upload(EXAMPLE).status_code == 200
            assert page.post("/api/send").status_code == 400  # no token yet
            kept = page.post("/api/token", json={"token": token})
            assert kept.json() == {"token_in_memory": True}
            assert page.post("/api/send").status_code == 202
            job = page.wait()
            assert job["result"]["exit_code"] == 0, job
            events = page.get(f"/api/jobs/{job['id']}/events")
            assert b"finished" in events.content
            page.get(f"/api/jobs/{job['id']}/workbook")
            page.get("/api/state")
    secret = token.encode()
    assert not [r for r in page.replies if secret in r]
    assert token not in caplog.text
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".xlsx" for p in written)
    assert not [p for p in written if secret in p.read_bytes()]


def test_password_is_required_when_remote(tmp_path: Path) -> None:
    """With --allow-remote the page asks for BATCH_UPLOADER_PASSWORD (HTTP Basic)."""
    settings = sandbox_settings(tmp_path, remote=True, password="open sesame")
    with live_server(settings) as live:
        assert httpx.get(live.url).status_code == 401
        wrong = base64.b64encode(b"clerk:nope").decode()
        right = base64.b64encode(b"clerk:open sesame").decode()
        assert httpx.get(live.url, headers={"Authorization": f"Basic {wrong}"}).status_code == 401
        page = httpx.get(live.url, headers={"Authorization": f"Basic {right}"})
        assert page.status_code == 200
        assert "plain HTTP" in page.text


def test_serve_binds_loopback_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another host needs --allow-remote, and that needs the password variable."""
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    runner = CliRunner()
    everywhere = "0.0.0.0"  # noqa: S104 -- refused before anything binds
    refused = runner.invoke(serve, ["--host", everywhere, "--sandbox"])
    assert refused.exit_code != 0
    assert "--allow-remote" in refused.output
    no_password = runner.invoke(serve, ["--host", everywhere, "--sandbox", "--allow-remote"])
    assert no_password.exit_code != 0
    assert PASSWORD_ENV in no_password.output


def test_serve_runs_until_ctrl_c(tmp_path: Path) -> None:
    """`serve --sandbox --port 0` prints its URL, serves the page, and Ctrl-C ends it cleanly."""
    command = [sys.executable, "-c", "from batch_uploader.web.command import serve; serve()"]
    options = ["--sandbox", "--port", "0", "--report-dir", str(tmp_path / "reports")]
    options += ["--journal", str(tmp_path / "journal.sqlite3")]
    process = subprocess.Popen([*command, *options], stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line
        assert httpx.get(url.group(), timeout=10).status_code == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        process.kill()
        process.wait()


def test_allowed_hosts_name_only_this_server() -> None:
    """On loopback the page answers to 127.0.0.1, localhost and [::1] on its own port only."""
    hosts = allowed_hosts_for("127.0.0.1", 8800)
    assert hosts == {"127.0.0.1:8800", "localhost:8800", "[::1]:8800"}


def test_every_serve_option_has_help() -> None:
    """`serve --help` documents every option."""
    for param in serve.params:
        assert getattr(param, "help", None), param.name
