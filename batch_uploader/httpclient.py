"""The HTTP client for the Flxpoint API on real networks: proxies, extra CAs, clear failures.

Guarantees:
- every https:// URL is verified: against the system's CAs, certifi's, and any extra CA given
  by SSL_CERT_FILE / SSL_CERT_DIR or ``--ca-bundle`` (these add to the others, never replace
  them), so a TLS-inspecting proxy's CA is trusted once it is given and never otherwise;
- HTTPS_PROXY / ALL_PROXY / NO_PROXY (and the system's proxy settings where Python reads
  them) decide the proxy with httpx's rules; an https:// proxy is verified the same way;
- plain http:// (loopback only, see config.check_base_url) builds no TLS context and never
  goes through a proxy;
- a certificate failure and an unreachable proxy can be named in one line (for the console),
  without credentials.
"""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

import certifi
import httpcore
import httpx

from batch_uploader.errors import ConfigError

CA_FILE_ENV = "SSL_CERT_FILE"
CA_DIR_ENV = "SSL_CERT_DIR"
CA_HINT = "pass its CA with --ca-bundle FILE (or set SSL_CERT_FILE)"
PROXY_SCHEMES = ("http", "https")  # socks would need the socksio package
# OpenSSL's verify codes that say the name or the clock is wrong rather than the CA.
_NAME_MISMATCH = (62, 64)  # host name, IP address
_NOT_YET_VALID, _EXPIRED = 9, 10
_E = TypeVar("_E", bound=BaseException)


def make_client(
    base_url: str,
    *,
    ca_bundle: Path | None,
    max_connections: int,
    timeout: httpx.Timeout,
    headers: Mapping[str, str],
    context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient for `base_url` that verifies TLS and goes through the proxy, if any.

    `context`: a `tls_context` already built (several clients share one: loading the CA
    files costs ~50 ms). Raises ConfigError for an unreadable CA file or an unusable proxy
    setting, before any connection is made.
    """
    https = httpx.URL(base_url).scheme == "https"
    context = (context or tls_context(ca_bundle)) if https else None
    proxy = proxy_for(base_url)
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=timeout,
        limits=httpx.Limits(max_connections=max_connections),
        headers=dict(headers),
        follow_redirects=False,
        # Plain http is loopback only: a verifying context there would only cost start-up time
        # (~50 ms of CA files); the unverifying one httpx builds for False is never used.
        verify=context if context is not None else False,
        # An https:// proxy is verified with the same CAs (httpx would use certifi's only).
        proxy=_proxy(proxy, context),
        # The proxy is decided above by httpx's rules, so proxy_problem() names the one really
        # used; SSL_CERT_FILE is already in the context.
        trust_env=False,
    )


def _proxy(url: str | None, context: ssl.SSLContext | None) -> httpx.Proxy | None:
    if url is None:
        return None
    if url.startswith("https://"):
        return httpx.Proxy(url, ssl_context=context)
    return httpx.Proxy(url)


def tls_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """A verifying client context: system CAs + certifi + SSL_CERT_FILE/SSL_CERT_DIR + bundle.

    Call it early (e.g. while checking options) to refuse a bad --ca-bundle with exit 2.
    """
    # create_default_context() loads the system store (Windows' certificate store, OpenSSL's
    # default paths). OpenSSL lets SSL_CERT_FILE/SSL_CERT_DIR *replace* its default paths, so
    # those are loaded explicitly too; certifi covers stores that are empty or filled lazily
    # (python.org macOS builds, fresh Windows). httpx on its own trusts certifi's only.
    # Each file is loaded once (~25 ms each for the big bundles).
    context = ssl.create_default_context()
    defaults = ssl.get_default_verify_paths()
    loaded = {os.path.realpath(defaults.cafile)} if defaults.cafile else set()
    for cafile in (defaults.openssl_cafile, certifi.where()):
        if cafile and os.path.isfile(cafile) and os.path.realpath(cafile) not in loaded:
            context.load_verify_locations(cafile=cafile)
            loaded.add(os.path.realpath(cafile))
    if defaults.openssl_capath and os.path.isdir(defaults.openssl_capath):
        context.load_verify_locations(capath=defaults.openssl_capath)  # read lazily
    env_file = os.environ.get(CA_FILE_ENV)
    if env_file and os.path.realpath(env_file) not in loaded:
        _add_ca_file(context, Path(env_file), f"{CA_FILE_ENV}={env_file}")
    if (env_dir := os.environ.get(CA_DIR_ENV)) and os.path.isdir(env_dir):
        context.load_verify_locations(capath=env_dir)
    if ca_bundle is not None:
        _add_ca_file(context, ca_bundle, f"--ca-bundle {ca_bundle}")
    return context


def _add_ca_file(context: ssl.SSLContext, path: Path, label: str) -> None:
    """Trust the CA certificates of a PEM bundle, or of one DER (.cer) file as IT hands out."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        msg = f"{label}: cannot be read ({exc.strerror or exc}); give the CA certificate file"
        raise ConfigError(msg) from exc
    try:
        if b"-----BEGIN" in data:
            context.load_verify_locations(cadata=data.decode("ascii", errors="replace"))
        else:
            context.load_verify_locations(cadata=data)
    except (ssl.SSLError, ValueError) as exc:
        msg = (
            f"{label}: holds no CA certificate ({exc}); give a PEM file "
            f"(-----BEGIN CERTIFICATE-----) or a DER .cer file"
        )
        raise ConfigError(msg) from exc


def proxy_for(url: str) -> str | None:
    """The proxy URL that requests to `url` go through, or None when they go direct.

    The rules are httpx's own (``get_environment_proxies``): ``urllib.request.getproxies()``
    (the environment, else the Windows registry / macOS settings), the scheme's proxy before
    ALL_PROXY, NO_PROXY entries as hosts, domain suffixes, IPs, or ``*``. Plain http:// is
    loopback only and never proxied.
    """
    target = httpx.URL(url)
    if target.scheme != "https":
        return None
    proxies = urllib.request.getproxies()
    for entry in proxies.get("no", "").split(","):
        if _bypasses(entry.strip(), target):
            return None
    raw = proxies.get(target.scheme) or proxies.get("all")
    if not raw:
        return None
    proxy = raw if "://" in raw else f"http://{raw}"
    scheme = proxy.split("://", 1)[0].lower()
    if scheme not in PROXY_SCHEMES:
        msg = (
            f"proxy {redact(proxy)} (HTTPS_PROXY or ALL_PROXY): {scheme}:// proxies are not "
            f"supported; use an http:// proxy, or list {target.host} in NO_PROXY"
        )
        raise ConfigError(msg)
    return proxy


def _bypasses(entry: str, target: httpx.URL) -> bool:
    """Whether one NO_PROXY entry sends `target` direct (httpx's URLPattern semantics)."""
    if not entry:
        return False
    if entry == "*":
        return True
    if "://" in entry:
        pattern = httpx.URL(entry)
        if pattern.scheme != "all" and pattern.scheme != target.scheme:
            return False
        host = pattern.host
    else:
        pattern = httpx.URL(f"all://{entry}")
        host = pattern.host
        if not _is_ip(host) and host != "localhost":
            host = f"*{host}"  # "example.com" also covers "www.example.com"
    if pattern.port is not None and pattern.port != target.port:
        return False
    if not host or host == "*":
        return True
    if host.startswith("*."):
        return re.fullmatch(rf".+\.{re.escape(host[2:])}", target.host) is not None
    if host.startswith("*"):
        return re.fullmatch(rf"(.+\.)?{re.escape(host[1:])}", target.host) is not None
    return host == target.host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def redact(url: str) -> str:
    """A proxy URL fit to print: scheme, host and port, never a user name or password."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port is not None else ""
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{parsed.scheme}://{host}{port}"


def certificate_problem(exc: BaseException) -> str | None:
    """One line naming the TLS certificate failure behind `exc`, or None if it is not one.

    A certificate failure is not transient: retrying cannot fix it, a CA or a URL must change.
    """
    error = _find(exc, ssl.SSLCertVerificationError)
    if error is None:
        return None
    reason = error.verify_message or error.reason or str(error)
    host = _host(exc)
    if error.verify_code in _NAME_MISMATCH:
        return (
            f"the API's TLS certificate is not valid for {host} ({reason}): check --base-url; "
            f"if a proxy inspects TLS here, {CA_HINT}"
        )
    if error.verify_code in (_NOT_YET_VALID, _EXPIRED):
        return (
            f"the API's TLS certificate for {host} is out of date ({reason}): check this "
            f"computer's date and time; if a proxy inspects TLS here, {CA_HINT}"
        )
    return (
        f"the API's TLS certificate is not trusted ({reason}) for {host}: "
        f"if a proxy inspects TLS here, {CA_HINT}"
    )


def proxy_problem(exc: BaseException, base_url: str) -> str | None:
    """One line naming the proxy when `exc` is a failure to get through it, else None.

    That is: the proxy refused the tunnel (ProxyError), it could not be connected to, or it
    did not answer the tunnel request (CONNECT) in time. Certificate failures are left to
    certificate_problem().
    """
    if certificate_problem(exc) is not None:
        return None
    try:
        proxy = proxy_for(base_url)
    except ConfigError:
        return None
    if proxy is None:
        return None
    shown, host = redact(proxy), httpx.URL(base_url).host
    refused = _find(exc, httpx.ProxyError) or _find(exc, httpcore.ProxyError)
    if refused is not None:
        login = (
            " (http://USER:PASSWORD@HOST:PORT if it needs a login)" if "407" in str(refused) else ""
        )
        return (
            f"the proxy {shown} refused the connection to {host} ({refused}); check "
            f"HTTPS_PROXY{login}, or list {host} in NO_PROXY to go direct"
        )
    connect = _find(exc, httpx.ConnectError) or _find(exc, httpx.ConnectTimeout)
    if connect is None and not _failed_in_tunnel_setup(exc):
        return None
    kind = type(connect if connect is not None else exc).__name__
    return (
        f"could not reach the API at {host} through the proxy {shown} ({kind}); check "
        f"HTTPS_PROXY, or list {host} in NO_PROXY to go direct"
    )


def is_proxy_connect(trace_info: object) -> bool:
    """Whether an httpx "trace" event is about the proxy's CONNECT, not an API request.

    httpcore passes the request's extensions (its "trace" callback too) to the CONNECT it
    sends a proxy: a trace hook that paces or journals API requests must skip these.
    """
    if not isinstance(trace_info, Mapping):
        return False
    request = trace_info.get("request")
    return isinstance(request, httpcore.Request) and request.method == b"CONNECT"


def _failed_in_tunnel_setup(exc: BaseException) -> bool:
    """Whether the failure happened while a CONNECT request was being sent or answered."""
    for error in _chain(exc):
        tb = error.__traceback__
        while tb is not None:
            if is_proxy_connect({"request": tb.tb_frame.f_locals.get("request")}):
                return True
            tb = tb.tb_next
    return False


def _find(exc: BaseException, kind: type[_E]) -> _E | None:
    for error in _chain(exc):
        if isinstance(error, kind):
            return error
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and its causes and contexts, each once."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo:
        error = todo.pop()
        if any(error is known for known in seen):
            continue
        seen.append(error)
        todo.extend(e for e in (error.__cause__, error.__context__) if e is not None)
    return seen


def _host(exc: BaseException) -> str:
    for error in _chain(exc):
        if isinstance(error, httpx.RequestError):
            try:
                return error.request.url.host
            except RuntimeError:  # an error raised without its request
                continue
    return "the API"
