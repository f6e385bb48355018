"""The CLI on real networks: the sandbox served over HTTPS with a test CA, and a CONNECT proxy.

Everything runs on 127.0.0.1 (tests/tlshelpers.py); the sandbox speaks TLS with a
certificate of a throw-away CA, as a TLS-inspecting proxy would present one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from batch_uploader.sandbox import Sandbox, SandboxOptions
from tests.conftest import write_csv
from tests.tlshelpers import ConnectProxy, ProxyMode, TestCA, closed_port

PROXY_VARS = (
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "all_proxy",
    "no_proxy",
    "REQUEST_METHOD",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy and no extra CA from the machine running the tests."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def ca(tmp_path: Path) -> TestCA:
    return TestCA(tmp_path)


@pytest.fixture
def https_sandbox(ca: TestCA) -> Iterator[Sandbox]:
    """The seeded sandbox, over HTTPS with the test CA's certificate for 127.0.0.1."""
    with Sandbox(SandboxOptions(ssl_context=ca.server_context())) as server:
        assert server.url.startswith("https://127.0.0.1:")
        yield server


def _rows(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "net.csv",
        [
            ["TEST-1", "101", "", "1ZNET0001", "UPS", "", "", "", "", "SKU-1", "1"],
            ["TEST-2", "101", "", "1ZNET0002", "UPS", "", "", "", "", "SKU-2", "2"],
        ],
    )


def _env(server: Sandbox, **more: str) -> dict[str, str]:
    return {"FLXPOINT_API_TOKEN": server.account_token, "FLXPOINT_BASE_URL": server.url} | more


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("batch-uploader: error:")]


def test_https_with_ca_bundle_creates(
    https_sandbox: Sandbox, ca: TestCA, cli_run, tmp_path: Path
) -> None:
    """--ca-bundle naming the CA: the TLS handshake succeeds and the rows are created."""
    run = cli_run(
        "upload", str(_rows(tmp_path)), "--ca-bundle", str(ca.ca_pem), env=_env(https_sandbox)
    )
    assert run.code == 0, run.stderr
    assert {r["Status"] for r in run.workbook().table("Results")} == {"created"}
    assert len(https_sandbox.shipments()) == 2


def test_untrusted_certificate_stops_at_once(
    https_sandbox: Sandbox, cli_run, tmp_path: Path
) -> None:
    """Without the CA: exit 2 within seconds, one line naming the certificate and --ca-bundle,
    every row `not sent`, nothing reached the API."""
    began = time.monotonic()
    run = cli_run("upload", str(_rows(tmp_path)), "--quiet", env=_env(https_sandbox))
    assert time.monotonic() - began < 5
    assert run.code == 2
    (line,) = _error_lines(run.stderr)
    assert "TLS certificate is not trusted" in line
    assert "--ca-bundle" in line
    results = run.workbook().table("Results")
    assert {r["Status"] for r in results} == {"not sent"}
    assert https_sandbox.stats().requests == 0


def test_through_a_connect_proxy_creates(
    https_sandbox: Sandbox, ca: TestCA, cli_run, tmp_path: Path
) -> None:
    """HTTPS_PROXY: the requests go through the proxy's tunnel, TLS verified end to end."""
    with ConnectProxy() as proxy:
        env = _env(https_sandbox, HTTPS_PROXY=proxy.url)
        run = cli_run("upload", str(_rows(tmp_path)), "--ca-bundle", str(ca.ca_pem), env=env)
        assert run.code == 0, run.stderr
        assert proxy.connects  # the tunnel was used
        assert set(proxy.connects) == {https_sandbox.url.removeprefix("https://")}
    assert len(https_sandbox.shipments()) == 2
    # The CONNECT is not an API request: the run counted (and paced) only the two POSTs.
    assert run.workbook().summary()["Requests sent"] == 2


@pytest.mark.parametrize("mode", ["closed port", "407"])
def test_a_dead_proxy_is_named_in_one_line(
    https_sandbox: Sandbox, ca: TestCA, cli_run, tmp_path: Path, mode: str
) -> None:
    """A proxy that refuses: retried like a connection error, then one line names the proxy;
    exit 2, rows `not sent`."""
    with closed_port() as port, ConnectProxy(ProxyMode.REFUSE_407) as refusing:
        proxy_url = f"http://127.0.0.1:{port}" if mode == "closed port" else refusing.url
        run = cli_run(
            "upload",
            str(_rows(tmp_path)),
            "--quiet",
            "--ca-bundle",
            str(ca.ca_pem),
            "--max-attempts",
            "2",
            env=_env(https_sandbox, HTTPS_PROXY=proxy_url),
        )
    assert run.code == 2
    (line,) = _error_lines(run.stderr)
    assert f"proxy {proxy_url}" in line
    assert "HTTPS_PROXY" in line
    assert {r["Status"] for r in run.workbook().table("Results")} == {"not sent"}
    assert https_sandbox.stats().requests == 0


def test_untrusted_certificate_while_asking_flxpoint(
    https_sandbox: Sandbox, cli_run, tmp_path: Path
) -> None:
    """Whole-PO rows meet the certificate in the look-up: the same one line, exit 2, nothing
    posted (the reader retries its GET a few times first)."""
    source = write_csv(
        tmp_path / "whole.csv",
        [["PO-20001", "101", "1ZNETW0001"]],
        header=["PO Number", "Source ID", "Tracking Number"],
    )
    run = cli_run("upload", str(source), "--quiet", env=_env(https_sandbox))
    assert run.code == 2
    (line,) = _error_lines(run.stderr)
    assert "TLS certificate is not trusted" in line
    assert "--ca-bundle" in line
    assert {r["Status"] for r in run.workbook().table("Results")} == {"not sent"}
    assert https_sandbox.stats().reads == 0
