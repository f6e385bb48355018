"""`batch-uploader report RUN_ID`: rebuild a run's results workbook from the journal.

The journal holds every request's outcome the moment it is known; a workbook lost to a crash
(or deleted) is rebuilt by reading the run's inputs again, exactly as the run did, and
looking each request up. Statuses are as the journal knows them now.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from batch_uploader.config import DEFAULT_REPORT_DIR, Config
from batch_uploader.errors import ConfigError
from batch_uploader.journal import Entry, Journal, State, request_key
from batch_uploader.models import Outcome, Status
from batch_uploader.pipeline import new_workbook_path, prepare, row_results, summarize
from batch_uploader.replies import UNKNOWN_OUTCOME
from batch_uploader.report import write_workbook
from batch_uploader.sender import ALREADY_CREATED, INTERRUPTED_IN_FLIGHT, NOT_SENT_STOPPED
from batch_uploader.sending import SendReport

REBUILT_NOTE = "rebuilt from the journal: statuses are as the journal knows them now"


def rebuild_workbook(journal_path: Path, run_id: str, report_dir: Path | None = None) -> Path:
    """Write the run's workbook again and return its path; ConfigError if the run is unknown."""
    if not journal_path.exists():
        msg = f"journal {journal_path} does not exist; pass the run's --journal"
        raise ConfigError(msg)
    journal = Journal(journal_path)
    try:
        settings = journal.run_settings(run_id)
        if settings is None:
            recent = ", ".join(journal.recent_runs()) or "none"
            msg = f"run {run_id!r} is not in journal {journal_path} (recent runs: {recent})"
            raise ConfigError(msg)
        config = _config(settings, journal_path)
        prepared = prepare(config)
        outcomes = []
        for request in prepared.requests:
            source = str(request.po.source_id)
            fingerprint = settings["source_fingerprints"].get(source) or settings.get(
                "default_fingerprint"
            )
            key = request_key(settings["scope"], fingerprint or "", request)
            outcomes.append(_outcome(journal.get(key), journal.run_of(key) == run_id))
    finally:
        journal.close()
    directory = report_dir or Path(settings.get("report_dir") or DEFAULT_REPORT_DIR)
    started = datetime.strptime(run_id[:15], "%Y%m%d-%H%M%S").astimezone()
    results = row_results(prepared, outcomes)
    sent = SendReport(notes=(REBUILT_NOTE,))
    summary = summarize(run_id, prepared, started, results, outcomes, sent, dry_run=False)
    return write_workbook(
        new_workbook_path(config, directory, started), prepared.tables, results, summary
    )


def _config(settings: dict[str, Any], journal_path: Path) -> Config:
    """The run's reading settings, as a dry run (reading only: no token needed)."""
    retry_of = Path(settings["retry_of"]) if settings.get("retry_of") else None
    return Config(
        inputs=tuple(Path(p) for p in settings["inputs"]),
        sheet=settings.get("sheet"),
        encoding=settings.get("encoding"),
        profile=settings.get("profile"),
        source_id=settings.get("source_id"),
        allow_duplicate_tracking=bool(settings.get("allow_duplicate_tracking")),
        retry_of=retry_of,
        dry_run=True,
        journal_path=journal_path,
    )


def _outcome(entry: Entry | None, this_run: bool) -> Outcome:
    if entry is None:
        return Outcome(Status.NOT_SENT, error=NOT_SENT_STOPPED)
    if entry.state is State.CREATED:
        if this_run:
            return Outcome(Status.CREATED, shipment_id=entry.shipment_id)
        return Outcome(Status.SKIPPED, shipment_id=entry.shipment_id, error=ALREADY_CREATED)
    if entry.state is State.SENDING:
        return Outcome(Status.FAILED, error=INTERRUPTED_IN_FLIGHT)
    if entry.state is State.UNKNOWN:
        return Outcome(Status.FAILED, error=UNKNOWN_OUTCOME)
    return Outcome(Status.FAILED, error=entry.last_error)
