"""Runs started from the page: one at a time per token, watched live, stoppable like Ctrl-C.

A job is `pipeline.run(config, observer, control)` in a worker thread (it runs its own event
loop). The observer's hooks fire on that thread; they only update the job under its lock, and
the page's event stream reads consistent snapshots of it.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from batch_uploader import pipeline
from batch_uploader.config import Config
from batch_uploader.errors import NothingToDo, UploaderError
from batch_uploader.journal import token_fingerprint
from batch_uploader.models import Outcome, ShipmentRequest
from batch_uploader.progress import SendCounts
from batch_uploader.sender import Attempt
from batch_uploader.web.settings import WebSettings
from batch_uploader.web.workbooks import failed_rows

log = logging.getLogger(__name__)
STOP_JOIN_S = 30.0
"""How long shutdown waits for a stopped run to write its workbook."""


def make_config(
    settings: WebSettings, token: str | None, inputs: tuple[Path, ...], **options: Any
) -> Config:
    """The Config the CLI would build for the same settings: the page's one road to the engine."""
    return Config(
        inputs=inputs,
        token=None if settings.sandbox else token,
        base_url=settings.base_url,
        sandbox=settings.sandbox,
        report_dir=settings.report_dir,
        journal_path=settings.journal_path,
        **options,
    )


def lock_key(settings: WebSettings, token: str | None) -> str:
    """Who may run only once at a time: one token at one API (never the token itself)."""
    if settings.sandbox:
        return "sandbox"
    return f"{settings.base_url}#{token_fingerprint(token) if token else 'no-token'}"


@dataclass
class Job:
    """One check, upload or retry, as the page sees it."""

    kind: str  # "check" | "send" | "retry"
    key: str
    owner: str  # the session that started it
    client: str  # its address, for "who is running"
    files: list[str]
    id: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    started: datetime = field(default_factory=lambda: datetime.now().astimezone())
    control: pipeline.RunControl = field(default_factory=pipeline.RunControl)
    phase: str = "loading"  # loading → sending → finished
    rows: int = 0
    invalid: int = 0
    total: int = 0
    counts: SendCounts = field(default_factory=SendCounts)
    stop_asked: bool = False
    result: dict[str, Any] | None = None
    version: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None

    def change(self, update: Callable[[Job], None]) -> None:
        """Apply one update under the lock and bump the version the event stream waits on."""
        with self._lock:
            update(self)
            self.version += 1

    @property
    def running(self) -> bool:
        """Not finished yet (loading, sending, or writing the workbook)."""
        return self.phase != "finished"

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy for the page (never the token: a job does not hold it)."""
        with self._lock:
            counts = self.counts
            left = counts.seconds_left if self.phase == "sending" else None
            return {
                "id": self.id,
                "kind": self.kind,
                "phase": self.phase,
                "files": list(self.files),
                "started": self.started.isoformat(timespec="seconds"),
                "rows": self.rows,
                "invalid": self.invalid,
                "total": self.total,
                "done": counts.done,
                "counts": {s.value: n for s, n in counts.by_status.items()},
                "rate": round(counts.rate, 2),
                "seconds_left": round(left) if left is not None else None,
                "stop_asked": self.stop_asked,
                "result": self.result,
                "version": self.version,
            }

    def who(self) -> str:
        """The sentence a second Send shows: who is running, since when, on which files."""
        what = {"check": "A check", "send": "An upload", "retry": "A retry"}[self.kind]
        return (
            f"{what} with this token is already running: started {self.started:%H:%M:%S} "
            f"from {self.client}, files: {', '.join(self.files) or '-'}. "
            f"Wait for it to finish (or stop it) and send again."
        )


class _JobObserver(pipeline.Observer):
    """Pipeline hooks → job updates (called on the run's own thread)."""

    def __init__(self, job: Job) -> None:
        self._job = job

    def loaded(self, rows: int, requests: int, invalid: int) -> None:
        def update(job: Job) -> None:
            job.rows, job.total, job.invalid = rows, requests, invalid
            job.counts.total = requests

        self._job.change(update)

    def sending(self, total: int) -> None:
        def update(job: Job) -> None:
            job.total, job.phase = total, "sending"
            job.counts.total = total

        self._job.change(update)

    def outcome(self, request: ShipmentRequest, outcome: Outcome) -> None:
        def update(job: Job) -> None:
            job.counts.add(outcome)

        self._job.change(update)

    def attempt(self, attempt: Attempt) -> None:
        def update(job: Job) -> None:
            job.counts.sent(attempt)

        self._job.change(update)


class Busy(Exception):
    """A run with the same token is going on; `job` says whose."""

    def __init__(self, job: Job) -> None:
        super().__init__(job.who())
        self.job = job


class Jobs:
    """Every job of this server; at most one running per lock key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, Job] = {}
        self._running: dict[str, Job] = {}

    def get(self, job_id: str) -> Job | None:
        """A job by id (finished ones stay, so a reloaded page finds its result)."""
        with self._lock:
            return self._by_id.get(job_id)

    def running(self, key: str) -> Job | None:
        """The job now running under this lock key, if any."""
        with self._lock:
            return self._running.get(key)

    def start(self, job: Job, config: Config, on_end: Callable[[], None] = lambda: None) -> Job:
        """Run `config` in a worker thread, or raise Busy if the key's run is going on."""
        with self._lock:
            current = self._running.get(job.key)
            if current is not None:
                raise Busy(current)
            self._running[job.key] = job
            self._by_id[job.id] = job
        job.thread = threading.Thread(
            target=self._work, args=(job, config, on_end), name=f"run-{job.id}", daemon=True
        )
        job.thread.start()
        return job

    def stop(self, job: Job) -> None:
        """Stop sending like Ctrl-C: what was sent is recorded, the workbook is written."""

        def update(j: Job) -> None:
            j.stop_asked = True

        job.change(update)
        job.control.stop()

    def stop_all(self) -> None:
        """Server shutdown: stop every run and wait for its workbook."""
        with self._lock:
            running = list(self._running.values())
        for job in running:
            self.stop(job)
        deadline = time.monotonic() + STOP_JOIN_S
        for job in running:
            if job.thread is not None:
                job.thread.join(max(0.0, deadline - time.monotonic()))

    def _work(self, job: Job, config: Config, on_end: Callable[[], None]) -> None:
        try:
            result = _outcome_of(job, config)
        finally:
            on_end()
            with self._lock:
                if self._running.get(job.key) is job:
                    del self._running[job.key]

        def update(j: Job) -> None:
            j.result, j.phase = result, "finished"

        job.change(update)


def _outcome_of(job: Job, config: Config) -> dict[str, Any]:
    """Run the pipeline and say how it ended, as the CLI would (exit code, message)."""
    try:
        run = pipeline.run(config, _JobObserver(job), job.control)
    except NothingToDo as exc:
        return {"exit_code": 0, "message": str(exc)}
    except UploaderError as exc:
        return {"exit_code": exc.exit_code, "message": str(exc)}
    except Exception as exc:  # a bug of ours: say so on the page; the log names the type only
        log.error("internal error in run %s: %s", job.id, type(exc).__name__)
        return {"exit_code": 2, "message": f"internal error ({type(exc).__name__})"}
    summary = run.summary
    header, rows, more = failed_rows(run.workbook)
    return {
        "exit_code": run.exit_code,
        "message": run.message,
        "interrupted": run.interrupted,
        "run_id": summary.run_id,
        "dry_run": summary.dry_run,
        "rows": {s.value: n for s, n in summary.rows.items()},
        "shipments": {s.value: n for s, n in summary.shipments.items()},
        "rows_total": summary.total_rows,
        "notes": list(summary.notes),
        "workbook_name": run.workbook.name,
        "workbook": str(run.workbook),
        "failed_header": header,
        "failed_rows": rows,
        "failed_more": more,
    }
