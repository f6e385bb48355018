"""The Starlette app of `serve`: one page, a small JSON API, and a live event stream.

Routes (every POST needs the page's CSRF token, see guard.py):
    GET  /                          the page
    GET  /api/state                 what the page shows after a (re)load
    GET  /api/runs                  the Past runs
    POST /api/uploads               choose files → preview (nothing sent)
    POST /api/mapping               change one field's column → preview again
    POST /api/profile               save the mapping as a user profile
    POST /api/token                 keep an API token in this server's memory
    POST /api/check | /api/send     start the Flxpoint check (dry run) or the upload
    POST /api/jobs/{id}/stop        stop like Ctrl-C
    GET  /api/jobs/{id}/events      server-sent progress events
    GET  /api/jobs/{id}/workbook    that run's results workbook
    POST /api/runs/{run_id}/retry   `batch-uploader retry` of a past run's workbook
    GET  /runs/{run_id}/workbook    a past run's results workbook
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from batch_uploader import profiles
from batch_uploader.config import Config, check_token
from batch_uploader.errors import ConfigError, UploaderError
from batch_uploader.report import STATUS_COLOURS
from batch_uploader.web.guard import Guard
from batch_uploader.web.history import describe, find_run, past_runs
from batch_uploader.web.jobs import Busy, Job, Jobs, lock_key, make_config
from batch_uploader.web.preview import build_preview, save_profile
from batch_uploader.web.sessions import SESSION_COOKIE, Session, Sessions
from batch_uploader.web.settings import WebSettings
from batch_uploader.web.uploads import ACCEPTED_SUFFIXES, Upload

log = logging.getLogger(__name__)
EVENT_POLL_S = 0.2
"""How often the event stream looks for a change of its job (5 updates a second at most)."""
KEEPALIVE_S = 15.0
MAX_FILES = 20
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_STATIC = resources.files("batch_uploader.web") / "static"


def create_app(settings: WebSettings) -> Starlette:
    """The whole page for these settings; `uvicorn.Server` serves it (see command.py)."""
    sessions = Sessions()
    jobs = Jobs()
    page = _Page(settings, sessions, jobs)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        # Ctrl-C: stop every run like the CLI's Ctrl-C (workbook written), then clean up.
        await run_in_threadpool(jobs.stop_all)
        sessions.close_all()

    routes = [
        Route("/", page.index),
        Route("/api/state", page.state),
        Route("/api/runs", page.runs),
        Route("/api/uploads", page.upload, methods=["POST"]),
        Route("/api/mapping", page.mapping, methods=["POST"]),
        Route("/api/profile", page.save_profile, methods=["POST"]),
        Route("/api/token", page.token, methods=["POST"]),
        Route("/api/check", page.check, methods=["POST"]),
        Route("/api/send", page.send, methods=["POST"]),
        Route("/api/jobs/{job_id}/stop", page.stop, methods=["POST"]),
        Route("/api/jobs/{job_id}/events", page.events),
        Route("/api/jobs/{job_id}/workbook", page.job_workbook),
        Route("/api/runs/{run_id}/retry", page.retry, methods=["POST"]),
        Route("/runs/{run_id}/workbook", page.run_workbook),
        Mount("/static", StaticFiles(directory=str(_STATIC)), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, settings=settings, sessions=sessions)],
        lifespan=lifespan,
    )
    app.state.jobs = jobs
    app.state.sessions = sessions
    return app


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


class _Page:
    """The route handlers, sharing the settings, sessions and jobs of one server."""

    def __init__(self, settings: WebSettings, sessions: Sessions, jobs: Jobs) -> None:
        self.settings = settings
        self.sessions = sessions
        self.jobs = jobs

    # -- helpers ---------------------------------------------------------------------------

    def _session(self, request: Request) -> Session | None:
        return self.sessions.get(request.cookies.get(SESSION_COOKIE))

    def _token(self, session: Session) -> str | None:
        return self.settings.token or session.api_token

    def _needs_token(self, session: Session) -> bool:
        return not self.settings.sandbox and not self._token(session)

    async def _json(self, request: Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except (ValueError, UnicodeDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def _job_view(self, job: Job | None) -> dict[str, Any] | None:
        return job.snapshot() if job is not None else None

    def _runs(self) -> list[dict[str, Any]]:
        return [describe(r) for r in past_runs(self.settings.journal_path)]

    # -- the page ----------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        session = self._session(request)
        if session is None:
            client = request.client.host if request.client else "unknown"
            session = self.sessions.new(client)
        text = (_STATIC / "index.html").read_text(encoding="utf-8")
        colours = "".join(
            f"--status-{status.value.replace(' ', '-')}: {colour};"
            for status, colour in STATUS_COLOURS.items()
        )
        config = {
            "sandbox": self.settings.sandbox,
            "target": "the built-in sandbox" if self.settings.sandbox else self.settings.base_url,
            "remote": self.settings.remote,
            "uploadLimit": self.settings.upload_limit_bytes,
            "accept": list(ACCEPTED_SUFFIXES),
        }
        text = (
            text.replace("{{csrf}}", html.escape(session.csrf))
            .replace("{{status_colours}}", colours)
            .replace("{{config}}", html.escape(json.dumps(config)))
            .replace("{{accept}}", html.escape(",".join(ACCEPTED_SUFFIXES)))
        )
        response = HTMLResponse(text, headers=_PAGE_HEADERS)
        response.set_cookie(SESSION_COOKIE, session.id, httponly=True, samesite="strict", path="/")
        return response

    async def state(self, request: Request) -> Response:
        session = self._session(request)
        if session is None:
            return _error(401, "No session: reload the page.")
        key = lock_key(self.settings, self._token(session))
        mine = self.jobs.get(session.last_job) if session.last_job else None
        running = self.jobs.running(key)
        job = running if running is not None else mine
        upload = session.upload
        return JSONResponse(
            {
                "token_needed": self._needs_token(session),
                "token_in_memory": bool(session.api_token) and not self.settings.token,
                "preview": await self._preview(session) if upload and not upload.gone else None,
                "job": self._job_view(job),
                "job_is_mine": job is not None and job.owner == session.id,
                "runs": self._runs(),
            },
            headers=_NO_STORE,
        )

    async def runs(self, request: Request) -> Response:
        if self._session(request) is None:
            return _error(401, "No session: reload the page.")
        return JSONResponse({"runs": self._runs()}, headers=_NO_STORE)

    # -- files and mapping -----------------------------------------------------------------

    async def _preview(self, session: Session) -> dict[str, Any]:
        upload = session.upload
        if upload is None or upload.gone:
            return {"error": "Choose the files again: these were sent and removed."}
        try:
            config = self._reading_config(session, upload)
        except ConfigError as exc:
            return {"error": str(exc)}
        if upload.preview is None:
            upload.preview = await run_in_threadpool(build_preview, config)
        return upload.preview

    def _reading_config(self, session: Session, upload: Upload) -> Config:
        """The files as the page shows them: read with the chosen columns, nothing asked."""
        return make_config(
            self.settings,
            self._token(session),
            tuple(upload.files),
            dry_run=True,
            offline=True,
            column_overrides=tuple(upload.overrides.items()),
        )

    async def upload(self, request: Request) -> Response:
        session = self._session(request)
        if session is None:
            return _error(401, "No session: reload the page.")
        async with request.form(max_files=MAX_FILES, max_fields=10) as form:
            files = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
            if not files:
                return _error(400, "Choose at least one file.")
            new = Upload.create()
            try:
                for item in files:
                    await run_in_threadpool(new.add, item.filename or "", item.file)
            except OSError as exc:
                new.discard()
                return _error(500, f"Cannot store the files: {exc.strerror or exc}")
        if session.upload is not None:
            session.upload.discard()
        session.upload = new
        return JSONResponse({"preview": await self._preview(session)}, headers=_NO_STORE)

    async def mapping(self, request: Request) -> Response:
        session = self._session(request)
        if session is None or session.upload is None or session.upload.gone:
            return _error(409, "Choose the files first.")
        data = await self._json(request)
        field, header = data.get("field"), data.get("header")
        if field not in profiles.FIELD_LABELS or not isinstance(header, str):
            return _error(400, "Unknown field or column.")
        if header:
            session.upload.overrides[field] = header
        else:
            session.upload.overrides.pop(field, None)
        session.upload.preview = None
        return JSONResponse({"preview": await self._preview(session)}, headers=_NO_STORE)

    async def save_profile(self, request: Request) -> Response:
        session = self._session(request)
        upload = session.upload if session is not None else None
        if session is None or upload is None or upload.gone:
            return _error(409, "Choose the files first.")
        data = await self._json(request)
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            return _error(400, "Give the profile a name.")
        try:
            config = self._reading_config(session, upload)
            path = await run_in_threadpool(save_profile, config, name.strip())
        except UploaderError as exc:
            return _error(400, str(exc))
        upload.preview = None  # the new profile may now be the detected format
        return JSONResponse({"saved": str(path), "name": name.strip()})

    # -- token and runs ---------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        session = self._session(request)
        if session is None:
            return _error(401, "No session: reload the page.")
        if self.settings.token or self.settings.sandbox:
            return _error(409, "This server already has its token.")
        data = await self._json(request)
        token = data.get("token")
        if not isinstance(token, str):
            return _error(400, "Type the API token.")
        try:
            check_token(token.strip(), "the API token field")
        except ConfigError as exc:
            return _error(400, str(exc))
        session.api_token = token.strip()
        return JSONResponse({"token_in_memory": True})

    async def check(self, request: Request) -> Response:
        return await self._start(request, "check")

    async def send(self, request: Request) -> Response:
        return await self._start(request, "send")

    async def _start(self, request: Request, kind: str) -> Response:
        session = self._session(request)
        if session is None:
            return _error(401, "No session: reload the page.")
        upload = session.upload
        if upload is None or upload.gone:
            return _error(409, "Choose the files first.")
        token = self._token(session)
        if self._needs_token(session):
            return _error(400, "Type the API token first.")
        options: dict[str, Any] = {"column_overrides": tuple(upload.overrides.items())}
        if kind == "check":
            options |= {"dry_run": True, "offline": False}
        try:
            config = make_config(self.settings, token, tuple(upload.files), **options)
        except ConfigError as exc:
            return _error(400, str(exc))
        job = Job(
            kind=kind,
            key=lock_key(self.settings, token),
            owner=session.id,
            client=session.client,
            files=[p.name for p in upload.files],
        )
        upload.hold()

        def ended() -> None:
            upload.release()
            if kind == "send":
                upload.discard()  # sent: the temporary copies go (the workbook keeps the rows)

        try:
            self.jobs.start(job, config, ended)
        except Busy as busy:
            upload.release()
            return _error(409, str(busy), job=busy.job.snapshot())
        session.last_job = job.id
        return JSONResponse({"job": job.snapshot()}, status_code=202)

    async def retry(self, request: Request) -> Response:
        session = self._session(request)
        if session is None:
            return _error(401, "No session: reload the page.")
        run = find_run(self.settings.journal_path, request.path_params["run_id"])
        if run is None or run.workbook is None or not run.workbook.is_file():
            return _error(404, "That run's results workbook is not there any more.")
        if self._needs_token(session):
            return _error(400, "Type the API token first.")
        token = self._token(session)
        try:
            config = make_config(self.settings, token, (run.workbook,), retry_of=run.workbook)
        except ConfigError as exc:
            return _error(400, str(exc))
        job = Job(
            kind="retry",
            key=lock_key(self.settings, token),
            owner=session.id,
            client=session.client,
            files=[run.workbook.name],
        )
        try:
            self.jobs.start(job, config)
        except Busy as busy:
            return _error(409, str(busy), job=busy.job.snapshot())
        session.last_job = job.id
        return JSONResponse({"job": job.snapshot()}, status_code=202)

    async def stop(self, request: Request) -> Response:
        session = self._session(request)
        job = self.jobs.get(request.path_params["job_id"])
        if session is None or job is None:
            return _error(404, "No such run.")
        if job.key != lock_key(self.settings, self._token(session)):
            return _error(403, "Only a page with the same token can stop this run.")
        self.jobs.stop(job)
        return JSONResponse({"job": job.snapshot()})

    async def events(self, request: Request) -> Response:
        if self._session(request) is None:
            return _error(401, "No session: reload the page.")
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return _error(404, "No such run.")

        async def stream() -> AsyncIterator[str]:
            seen = -1
            quiet = 0.0
            while True:
                snapshot = job.snapshot()
                if snapshot["version"] != seen:
                    seen, quiet = snapshot["version"], 0.0
                    yield f"data: {json.dumps(snapshot)}\n\n"
                    if snapshot["phase"] == "finished":
                        yield "event: end\ndata: {}\n\n"
                        return
                elif quiet >= KEEPALIVE_S:
                    quiet = 0.0
                    yield ": keep-alive\n\n"
                await asyncio.sleep(EVENT_POLL_S)
                quiet += EVENT_POLL_S

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={**_NO_STORE, "X-Accel-Buffering": "no"},
        )

    async def job_workbook(self, request: Request) -> Response:
        if self._session(request) is None:
            return _error(401, "No session: reload the page.")
        job = self.jobs.get(request.path_params["job_id"])
        result = job.result if job is not None else None
        if not result or not result.get("workbook"):
            return _error(404, "That run has no results workbook.")
        return _workbook(Path(result["workbook"]))

    async def run_workbook(self, request: Request) -> Response:
        if self._session(request) is None:
            return _error(401, "No session: reload the page.")
        run = find_run(self.settings.journal_path, request.path_params["run_id"])
        if run is None or run.workbook is None:
            return _error(404, "No such run.")
        return _workbook(run.workbook)


def _workbook(path: Path) -> Response:
    """A results workbook as a download; only ever a path the pipeline or journal gave."""
    if path.suffix.lower() != ".xlsx" or not path.is_file():
        return _error(404, "The results workbook is not there any more.")
    return FileResponse(path, media_type=XLSX_TYPE, filename=path.name, headers=_NO_STORE)


_NO_STORE = {"Cache-Control": "no-store"}
_PAGE_HEADERS = {
    **_NO_STORE,
    # Everything comes from this server: no CDN, no inline script, no framing by other sites.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
