"""`batch-uploader serve`: the local web page, until Ctrl-C.

cli.py registers `serve`; this module only turns options into WebSettings and runs uvicorn.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import webbrowser
from pathlib import Path

import click

from batch_uploader.config import (
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_REPORT_DIR,
    TOKEN_ENV,
    check_base_url,
    check_token,
    default_journal_path,
    is_loopback,
)
from batch_uploader.errors import ConfigError
from batch_uploader.web.settings import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_UPLOAD_LIMIT_BYTES,
    PASSWORD_ENV,
    WebSettings,
    allowed_hosts_for,
)

GRACEFUL_SHUTDOWN_S = 3
"""After Ctrl-C, how long open event streams may take to close before they are cut."""


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port to listen on (0 picks a free one).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the browser.")
@click.option(
    "--sandbox",
    is_flag=True,
    help="Upload to the built-in sandbox API, for practice with your own files (no token).",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help=(
        f"Allow a --host other than this machine; then the {PASSWORD_ENV} environment "
        "variable is the page's password. The connection is plain HTTP."
    ),
)
@click.option(
    "--token",
    envvar=TOKEN_ENV,
    show_envvar=True,
    help=(
        f"API token. Prefer the {TOKEN_ENV} environment variable; without either, the page "
        "asks for it and keeps it in memory only."
    ),
)
@click.option(
    "--base-url",
    envvar=BASE_URL_ENV,
    show_envvar=True,
    default=DEFAULT_BASE_URL,
    show_default=True,
    help="API base URL. Plain http:// only for loopback hosts.",
)
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_REPORT_DIR,
    show_default=True,
    help="Where results workbooks go.",
)
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"SQLite journal that makes re-runs exactly-once; default: {default_journal_path()}.",
)
def serve(
    host: str,
    port: int,
    open_browser: bool,
    sandbox: bool,
    allow_remote: bool,
    token: str | None,
    base_url: str,
    report_dir: Path,
    journal: Path | None,
) -> None:
    """Serve the upload page on http://127.0.0.1:8800/ until Ctrl-C."""
    import uvicorn  # only `serve` needs the web stack

    from batch_uploader.web.app import create_app

    password = os.environ.get(PASSWORD_ENV) or None
    try:
        if not is_loopback(host) and not allow_remote:
            msg = (
                f"--host {host} would let other machines reach the page; add --allow-remote "
                f"(and set {PASSWORD_ENV}), or use --host 127.0.0.1"
            )
            raise ConfigError(msg)
        if not sandbox:
            check_base_url(base_url)
        if token:
            check_token(token, f"--token / {TOKEN_ENV}")
        sock = _bind(host, port)
        bound_port = int(sock.getsockname()[1])
        settings = WebSettings(
            report_dir=report_dir,
            journal_path=journal or default_journal_path(),
            token=token or None,
            base_url=base_url,
            sandbox=sandbox,
            allowed_hosts=allowed_hosts_for(host, bound_port),
            password=password if allow_remote else None,
            upload_limit_bytes=DEFAULT_UPLOAD_LIMIT_BYTES,
            remote=allow_remote and not is_loopback(host),
        )
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        msg = f"cannot serve on {host}:{port}: {exc.strerror or exc}"
        raise click.ClickException(msg) from exc
    url = _announce(host, bound_port, settings)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
    )
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it handled
        server.run(sockets=[sock])
    click.echo("batch-uploader page stopped", err=True)


def _announce(host: str, port: int, settings: WebSettings) -> str:
    """Say on stderr where the page is and where it sends; return its URL."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 -- a comparison
    url = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}/"
    where = "the built-in sandbox" if settings.sandbox else settings.base_url
    click.echo(f"batch-uploader page: {url}  (sends to {where}; Ctrl-C to stop)", err=True)
    if settings.remote:
        click.echo(
            "warning: plain HTTP: the password and files cross the network unencrypted", err=True
        )
    return url


def _bind(host: str, port: int) -> socket.socket:
    """Listen before the app is built, so the Host check knows the real port (0 → a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock
