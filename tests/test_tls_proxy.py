"""httpclient.py on real networks: TLS handshakes with a test CA, a CONNECT proxy, failures named.

Everything runs on 127.0.0.1 (tests/tlshelpers.py); timeouts are short so each test takes
well under a second or two.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from batch_uploader.errors import ConfigError
from batch_uploader.httpclient import (
    certificate_problem,
    is_proxy_connect,
    make_client,
    proxy_for,
    proxy_problem,
    redact,
    tls_context,
)
from tests.tlshelpers import ApiServer, ConnectProxy, ProxyMode, TestCA, closed_port

TIMEOUT = httpx.Timeout(3.0, connect=2.0)
SHORT_READ = httpx.Timeout(0.5, connect=2.0)  # for the proxy that never answers
PROXY_VARS = (
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "all_proxy",
    "no_proxy",
    "REQUEST_METHOD",  # urllib ignores HTTP_PROXY under CGI
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy and no extra CA from the machine running the tests."""
    for name in (*PROXY_VARS, "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def ca(tmp_path: Path) -> TestCA:
    return TestCA(tmp_path)


@pytest.fixture
def api(ca: TestCA) -> Iterator[ApiServer]:
    with ApiServer(ca) as server:
        yield server


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    with ConnectProxy() as server:
        yield server


def post(
    url: str,
    *,
    ca_bundle: Path | None = None,
    timeout: httpx.Timeout = TIMEOUT,
    events: list[tuple[str, object]] | None = None,
) -> httpx.Response:
    """POST /shipments once with a client from make_client, as the sender would."""

    async def trace(event: str, info: object) -> None:
        if events is not None:
            events.append((event, info))

    async def main() -> httpx.Response:
        async with make_client(
            url,
            ca_bundle=ca_bundle,
            max_connections=2,
            timeout=timeout,
            headers={"User-Agent": "batch-uploader-test"},
        ) as client:
            return await client.post(
                "/shipments", json={"trackingNumber": "1Z"}, extensions={"trace": trace}
            )

    return asyncio.run(main())


def failure(url: str, **kwargs: object) -> httpx.TransportError:
    """The transport error a request to `url` ends in."""
    with pytest.raises(httpx.TransportError) as caught:
        post(url, **kwargs)  # type: ignore[arg-type]
    return caught.value


# --- TLS -----------------------------------------------------------------------------------


def test_ca_bundle_makes_the_handshake_succeed(ca: TestCA, api: ApiServer) -> None:
    """With --ca-bundle naming the server's CA, a real TLS handshake succeeds."""
    response = post(api.url, ca_bundle=ca.ca_pem)
    assert response.status_code == 201
    assert api.requests == [("POST", "/shipments")]


def test_without_the_ca_the_certificate_problem_is_named(api: ApiServer) -> None:
    """Without the CA the handshake is refused, and the one line says why and what to do."""
    error = failure(api.url)
    assert isinstance(error, httpx.ConnectError)
    message = certificate_problem(error)
    assert message is not None
    assert message.startswith("the API's TLS certificate is not trusted (")
    assert "for 127.0.0.1:" in message
    assert "--ca-bundle FILE" in message
    assert "SSL_CERT_FILE" in message
    assert "\n" not in message
    assert proxy_problem(error, api.url) is None
    assert api.requests == []


def test_ssl_cert_file_adds_the_ca(
    ca: TestCA, api: ApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSL_CERT_FILE pointing at the CA works like --ca-bundle."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.ca_pem))
    assert post(api.url).status_code == 201


def test_extra_ca_adds_to_the_system_cas(ca: TestCA, monkeypatch: pytest.MonkeyPatch) -> None:
    """--ca-bundle and SSL_CERT_FILE add a CA: the system's and certifi's stay trusted."""
    plain = len(tls_context(None).get_ca_certs())
    assert plain > 50
    assert len(tls_context(ca.ca_pem).get_ca_certs()) == plain + 1
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.ca_pem))
    assert len(tls_context(None).get_ca_certs()) == plain + 1


def test_der_ca_file_is_accepted(ca: TestCA, api: ApiServer, tmp_path: Path) -> None:
    """A CA exported as DER (.cer), as corporate IT often hands it out, works too."""
    der = tmp_path / "proxy-ca.cer"
    der.write_bytes(ssl.PEM_cert_to_DER_cert(ca.ca_pem.read_text()))
    assert post(api.url, ca_bundle=der).status_code == 201


def test_hostname_mismatch_is_named(tmp_path: Path) -> None:
    """A certificate for another name points at --base-url, still mentioning --ca-bundle."""
    other = TestCA(tmp_path, "api.example.test")
    with ApiServer(other) as server:
        error = failure(server.url, ca_bundle=other.ca_pem)
    message = certificate_problem(error)
    assert message is not None
    assert message.startswith("the API's TLS certificate is not valid for 127.0.0.1 (")
    assert "check --base-url" in message
    assert "--ca-bundle" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, r"--ca-bundle .*missing\.pem: cannot be read \(No such file or directory\)"),
        (b"not a certificate", r"--ca-bundle .*missing\.pem: holds no CA certificate"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "holds no CA"),
    ],
    ids=["missing", "garbage", "bad-pem"],
)
def test_unusable_ca_bundle_is_a_config_error(
    tmp_path: Path, content: bytes | None, expected: str
) -> None:
    """A --ca-bundle that is not a readable certificate is refused before any connection."""
    path = tmp_path / "missing.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=expected):
        make_client(
            "https://api.flxpoint.com",
            ca_bundle=path,
            max_connections=1,
            timeout=TIMEOUT,
            headers={},
        )


def test_unreadable_ssl_cert_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A wrong SSL_CERT_FILE is named as such, not as --ca-bundle."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "nowhere.pem"))
    with pytest.raises(ConfigError, match=r"^SSL_CERT_FILE=.*nowhere\.pem: cannot be read"):
        tls_context(None)


# --- proxies -------------------------------------------------------------------------------


def test_https_proxy_is_used_with_the_ca(
    ca: TestCA, api: ApiServer, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTPS_PROXY: the request goes through one CONNECT tunnel, TLS verified end to end."""
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    events: list[tuple[str, object]] = []
    response = post(api.url, ca_bundle=ca.ca_pem, events=events)
    assert response.status_code == 201
    assert proxy.connects == [f"127.0.0.1:{api.port}"]
    assert api.requests == [("POST", "/shipments")]
    # httpcore hands the request's trace hook to the CONNECT as well: a hook that paces or
    # journals must tell the two apart (is_proxy_connect), or it counts the tunnel as a send.
    started = [info for event, info in events if event.endswith("send_request_headers.started")]
    assert [is_proxy_connect(info) for info in started] == [True, False]


def test_no_proxy_bypasses_it(
    ca: TestCA, api: ApiServer, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_PROXY=127.0.0.1 sends the request direct."""
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    assert post(api.url, ca_bundle=ca.ca_pem).status_code == 201
    assert proxy.connects == []


def test_certificate_problem_through_the_proxy(
    api: ApiServer, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a proxy (as where one inspects TLS) a missing CA is a certificate problem."""
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    error = failure(api.url)
    assert certificate_problem(error) is not None
    assert proxy_problem(error, api.url) is None
    assert proxy.connects == [f"127.0.0.1:{api.port}"]


def test_closed_proxy_port_is_named(
    ca: TestCA, api: ApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy port nobody listens on: a connect error whose line names the proxy."""
    with closed_port() as port:
        monkeypatch.setenv("HTTPS_PROXY", f"http://clerk:s3cret@127.0.0.1:{port}")
        error = failure(api.url, ca_bundle=ca.ca_pem)
    assert isinstance(error, httpx.ConnectError)
    message = proxy_problem(error, api.url)
    assert message == (
        f"could not reach the API at 127.0.0.1 through the proxy http://127.0.0.1:{port} "
        f"(ConnectError); check HTTPS_PROXY, or list 127.0.0.1 in NO_PROXY to go direct"
    )
    assert "s3cret" not in message
    assert certificate_problem(error) is None
    assert api.requests == []


def test_silent_proxy_is_named(ca: TestCA, api: ApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy that accepts but never answers the CONNECT times out; the line names it."""
    with ConnectProxy(ProxyMode.SILENT) as silent:
        monkeypatch.setenv("HTTPS_PROXY", silent.url)
        error = failure(api.url, ca_bundle=ca.ca_pem, timeout=SHORT_READ)
        assert silent.connects == [f"127.0.0.1:{api.port}"]
    assert isinstance(error, httpx.ReadTimeout)
    message = proxy_problem(error, api.url)
    assert message is not None
    assert f"through the proxy {silent.url} (ReadTimeout)" in message
    assert api.requests == []


def test_proxy_refusal_is_named(
    ca: TestCA, api: ApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 407 from the proxy is a ProxyError; the line names the proxy and how to log in."""
    with ConnectProxy(ProxyMode.REFUSE_407) as refusing:
        monkeypatch.setenv("HTTPS_PROXY", refusing.url)
        error = failure(api.url, ca_bundle=ca.ca_pem)
    assert isinstance(error, httpx.ProxyError)
    message = proxy_problem(error, api.url)
    assert message is not None
    assert message.startswith(f"the proxy {refusing.url} refused the connection to 127.0.0.1 (")
    assert "407 Proxy Authentication Required" in message
    assert "http://USER:PASSWORD@HOST:PORT" in message


def test_read_timeout_from_the_api_is_not_a_proxy_problem(
    ca: TestCA, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the tunnel is up, a slow API is the API's problem, not the proxy's."""
    with ApiServer(ca, delay_s=1.5) as slow:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        error = failure(slow.url, ca_bundle=ca.ca_pem, timeout=SHORT_READ)
    assert isinstance(error, httpx.ReadTimeout)
    assert proxy.connects == [f"127.0.0.1:{slow.port}"]
    assert proxy_problem(error, slow.url) is None


def test_plain_http_loopback_never_uses_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """http:// (the local sandbox) goes direct even when HTTP_PROXY/ALL_PROXY are set."""
    with closed_port() as port, ApiServer(None) as plain:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{port}")
        assert post(plain.url).status_code == 201
    assert proxy_for(plain.url) is None


# --- which proxy, by httpx's rules ---------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        ({}, "https://api.flxpoint.com", None),
        ({"HTTPS_PROXY": "proxy.corp:3128"}, "https://api.flxpoint.com", "http://proxy.corp:3128"),
        ({"ALL_PROXY": "http://p:1"}, "https://api.flxpoint.com", "http://p:1"),
        ({"HTTPS_PROXY": "http://a:1", "ALL_PROXY": "http://b:2"}, "https://x.test", "http://a:1"),
        ({"HTTP_PROXY": "http://p:1"}, "https://api.flxpoint.com", None),
        ({"https_proxy": "http://p:1", "NO_PROXY": "*"}, "https://api.flxpoint.com", None),
        (
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "flxpoint.com"},
            "https://api.flxpoint.com",
            None,
        ),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "flxpoint.com"}, "https://flxpoint.com", None),
        (
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "flxpoint.com"},
            "https://notflxpoint.com",
            "http://p:1",
        ),
        (
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".flxpoint.com"},
            "https://flxpoint.com",
            "http://p:1",
        ),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "x.test:8443"}, "https://x.test:8443", None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "x.test:8443"}, "https://x.test", "http://p:1"),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "10.0.0.1"}, "https://10.0.0.1", None),
        (
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "http://x.test"},
            "https://x.test",
            "http://p:1",
        ),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "https://x.test"}, "https://x.test", None),
        ({"HTTPS_PROXY": "http://p:1"}, "http://127.0.0.1:8765", None),
    ],
)
def test_proxy_for_follows_httpx_rules(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], url: str, expected: str | None
) -> None:
    """Which proxy a URL goes through, by the environment, as httpx itself would decide."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert proxy_for(url) == expected


def test_socks_proxy_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """A socks:// proxy (unsupported without extra packages) is a clear config error."""
    monkeypatch.setenv("ALL_PROXY", "socks5://user:pw@127.0.0.1:1080")
    with pytest.raises(ConfigError, match=r"proxy socks5://127\.0\.0\.1:1080 .*not supported"):
        proxy_for("https://api.flxpoint.com")


def test_redact_drops_credentials() -> None:
    """A proxy URL is printed without user name or password."""
    assert redact("http://clerk:s3cret@proxy.corp:3128/") == "http://proxy.corp:3128"
    assert redact("http://[::1]:3128") == "http://[::1]:3128"
