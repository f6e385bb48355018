"""WebSettings: what `serve` was started with, validated once."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

from batch_uploader.config import DEFAULT_BASE_URL, is_loopback
from batch_uploader.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8800
DEFAULT_UPLOAD_LIMIT_BYTES = 200 * 1024 * 1024
"""The largest upload (all files of one choice together) the page accepts: 200 MB."""
PASSWORD_ENV = "BATCH_UPLOADER_PASSWORD"  # noqa: S105 -- the variable's name, not a secret
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 -- names of "every interface"


@dataclass(frozen=True)
class WebSettings:
    """How the page sends (token, base URL or sandbox) and who may reach it.

    The token and the password are excluded from repr, so neither ever prints.
    """

    report_dir: Path
    journal_path: Path
    token: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL
    sandbox: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    """`Host` header values (host:port, lower case) this server answers; any other is refused."""
    password: str | None = field(default=None, repr=False)
    upload_limit_bytes: int = DEFAULT_UPLOAD_LIMIT_BYTES
    remote: bool = False
    """Reachable from other machines: the page warns that the connection is plain HTTP."""

    def __post_init__(self) -> None:
        if not self.allowed_hosts:
            msg = "WebSettings needs the Host names it answers (allowed_hosts)"
            raise ConfigError(msg)
        if self.remote and not self.password:
            msg = f"--allow-remote needs a password: set the {PASSWORD_ENV} environment variable"
            raise ConfigError(msg)
        if self.upload_limit_bytes < 1:
            msg = "the upload limit must be a positive number of bytes"
            raise ConfigError(msg)


def allowed_hosts_for(host: str, port: int) -> frozenset[str]:
    """The `Host` headers that name this server, so a rebinding DNS name is refused.

    On loopback: the loopback names. On every interface (0.0.0.0): this machine's names and
    addresses. Otherwise: the address or name it was bound to.
    """
    names = {host}
    if is_loopback(host):
        names |= {"127.0.0.1", "localhost", "[::1]"}
    elif host in WILDCARD_HOSTS:
        names |= {"127.0.0.1", "localhost", "[::1]"}
        hostname = socket.gethostname()
        names |= {hostname, socket.getfqdn()}
        try:
            infos = socket.getaddrinfo(hostname, None)
        except OSError:
            infos = []
        for info in infos:
            address = str(info[4][0])
            names.add(f"[{address}]" if ":" in address else address)
    names = {f"[{n}]" if ":" in n and not n.startswith("[") else n for n in names if n}
    return frozenset(f"{name.lower()}:{port}" for name in names)
