"""A durable SQLite record of every request's intent and outcome: the exactly-once memory.

Intent is committed before a request leaves and the outcome right after its reply, so a
process killed at any instant leaves either "created" (with the Shipment ID) or "sending"
(the shipment may exist: treat as ambiguous). Keys hold a one-way fingerprint of the token,
never the token itself.
"""

from __future__ import annotations

import enum
import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from batch_uploader.errors import ConfigError
from batch_uploader.models import ShipmentRequest

BUSY_TIMEOUT_MS = 30_000  # another run on the same journal may hold the write lock briefly
_SCHEMA = """
CREATE TABLE IF NOT EXISTS shipments (
    key TEXT PRIMARY KEY,
    po TEXT NOT NULL,
    tracking TEXT NOT NULL,
    state TEXT NOT NULL,
    shipment_id INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    ambiguous INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    run_id TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    fingerprint TEXT PRIMARY KEY,
    last_sent REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    inputs TEXT NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}',
    workbook TEXT,
    exit_code INTEGER
);
"""


class State(enum.StrEnum):
    """Where a shipment request stands across runs."""

    SENDING = "sending"  # intent recorded, no reply seen: it may exist in Flxpoint
    CREATED = "created"  # Flxpoint has it (Shipment ID when known)
    FAILED = "failed"  # refused by the API (4xx) or gave up on transient errors
    UNKNOWN = "unknown"  # ambiguous and not re-sent (duplicates allowed): a person must check


@dataclass(frozen=True)
class Entry:
    """One request's journal line."""

    key: str
    state: State
    shipment_id: int | None
    attempts: int
    ambiguous: bool
    last_error: str


def token_fingerprint(token: str) -> str:
    """A one-way fingerprint: tells tokens apart in keys without storing anything secret."""
    return hashlib.sha256(f"batch-uploader token\n{token}".encode()).hexdigest()[:16]


def request_key(scope: str, token_fp: str, request: ShipmentRequest) -> str:
    """Stable identity of a shipment: API base URL, token fingerprint, PO identity, tracking."""
    text = "\n".join((scope.rstrip("/"), token_fp, request.po.key, request.tracking_number))
    return hashlib.sha256(text.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Journal:
    """The journal file; one connection, used from the sending thread only."""

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a commit is in the WAL file before the next statement, so a killed
            # process (kill -9, a crash) never loses one; only a power cut can lose the last
            # few, which the 409 check then repairs. FULL would fsync on every intent, and that
            # disk-dependent delay sits between the pacer and the wire.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            msg = f"journal {path}: cannot be opened ({exc}); choose another file with --journal"
            raise ConfigError(msg) from exc
        self.path = path

    def close(self) -> None:
        """Close the file; everything is already committed."""
        self._db.close()

    def get(self, key: str) -> Entry | None:
        """The entry for a request key, if any run has seen it."""
        row = self._db.execute(
            "SELECT key, state, shipment_id, attempts, ambiguous, last_error "
            "FROM shipments WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return Entry(row[0], State(row[1]), row[2], row[3], bool(row[4]), row[5])

    def record_intent(
        self, key: str, request: ShipmentRequest, run_id: str, token_fp: str = ""
    ) -> None:
        """Committed BEFORE the request is sent: a crash from here on leaves `sending`.

        Also remembers when this token last sent, so that the next run (another file a
        second later) keeps the spacing instead of meeting a 429.
        """
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute(
            "INSERT INTO tokens (fingerprint, last_sent) VALUES (?, ?) "
            "ON CONFLICT(fingerprint) DO UPDATE SET last_sent = excluded.last_sent",
            (token_fp, time.time()),
        )
        self._db.execute(
            "INSERT INTO shipments (key, po, tracking, state, attempts, run_id, updated_at) "
            "VALUES (?, ?, ?, 'sending', 1, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET state = 'sending', attempts = attempts + 1, "
            "run_id = excluded.run_id, updated_at = excluded.updated_at "
            "WHERE shipments.state != 'created'",  # a concurrent run never un-creates one
            (key, request.po.label, request.tracking_number, run_id, _now()),
        )
        self._db.execute("COMMIT")

    def last_sent(self, token_fp: str) -> float | None:
        """When (Unix time) any run last sent a request with this token, if ever."""
        row = self._db.execute(
            "SELECT last_sent FROM tokens WHERE fingerprint = ?", (token_fp,)
        ).fetchone()
        return float(row[0]) if row else None

    def record_outcome(
        self,
        key: str,
        state: State,
        *,
        shipment_id: int | None = None,
        error: str = "",
        ambiguous: bool = False,
    ) -> None:
        """Committed right after the reply; `ambiguous` is sticky until the shipment is created."""
        self._db.execute(
            "UPDATE shipments SET state = ?, shipment_id = COALESCE(?, shipment_id), "
            "last_error = ?, ambiguous = CASE WHEN ? = 'created' THEN 0 "
            "ELSE MAX(ambiguous, ?) END, updated_at = ? WHERE key = ?",
            (state.value, shipment_id, error, state.value, int(ambiguous), _now(), key),
        )

    def start_run(self, run_id: str, inputs: list[str], settings: dict[str, Any]) -> None:
        """Remember a run and how to read its inputs again, so its workbook can be rebuilt.

        `settings` must not hold the token: it keeps token fingerprints only.
        """
        self._db.execute(
            "INSERT OR REPLACE INTO runs (run_id, started_at, inputs, settings) "
            "VALUES (?, ?, ?, ?)",
            (run_id, _now(), "\n".join(inputs), json.dumps(settings)),
        )

    def run_settings(self, run_id: str) -> dict[str, Any] | None:
        """What start_run stored for a run, or None if the journal never saw it."""
        row = self._db.execute("SELECT settings FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        settings: dict[str, Any] = json.loads(row[0])
        return settings

    def recent_runs(self, limit: int = 5) -> list[str]:
        """The newest run IDs, for a helpful message."""
        rows = self._db.execute(
            "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT ?", (limit,)
        ).fetchall()
        return [r[0] for r in rows]

    def run_of(self, key: str) -> str | None:
        """The run that last sent (or created) this request."""
        row = self._db.execute("SELECT run_id FROM shipments WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def finish_run(self, run_id: str, workbook: str | None, exit_code: int) -> None:
        """Record where the run's workbook went and how it ended."""
        self._db.execute(
            "UPDATE runs SET finished_at = ?, workbook = ?, exit_code = ? WHERE run_id = ?",
            (_now(), workbook, exit_code, run_id),
        )
