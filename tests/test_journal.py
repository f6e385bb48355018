"""journal.py: the SQLite record of intents and outcomes that makes re-runs exactly-once."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from batch_uploader.errors import ConfigError
from batch_uploader.journal import Entry, Journal, State, request_key, token_fingerprint
from batch_uploader.models import ItemFields, PoIdentity, RowRef, ShipmentFields, ShipmentRequest

BASE_URL = "https://api.flxpoint.com"
TOKEN = "tok_live_5f8c1e9a7b3d4c2e"


def shipment(
    po: PoIdentity | None = None, tracking: str = "1Z999AA10123456784", sku: str = "A-1"
) -> ShipmentRequest:
    return ShipmentRequest(
        po=po or PoIdentity(po_number="1001", source_id=101),
        tracking_number=tracking,
        shipment=ShipmentFields(),
        items=(ItemFields(quantity=1, sku=sku),),
        refs=(RowRef(0, 2),),
    )


KEY = request_key(BASE_URL, token_fingerprint(TOKEN), shipment())


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    opened = Journal(tmp_path / "journal.sqlite3")
    yield opened
    opened.close()


def test_unknown_key_has_no_entry(journal: Journal) -> None:
    """A request no run has seen has no entry."""
    assert journal.get(KEY) is None


def test_intent_records_sending(journal: Journal) -> None:
    """Before a request leaves, its entry says `sending` with one attempt."""
    journal.record_intent(KEY, shipment(), "run-1")
    assert journal.get(KEY) == Entry(KEY, State.SENDING, None, 1, False, "")


def test_each_intent_counts_an_attempt(journal: Journal) -> None:
    """Sending again (a retry or a later run) counts another attempt and says `sending`."""
    journal.record_intent(KEY, shipment(), "run-1")
    journal.record_outcome(KEY, State.FAILED, error="503 Service Unavailable")
    journal.record_intent(KEY, shipment(), "run-2")
    entry = journal.get(KEY)
    assert entry is not None
    assert (entry.state, entry.attempts) == (State.SENDING, 2)


def test_created_outcome_keeps_the_shipment_id(journal: Journal) -> None:
    """A created shipment is recorded with its Shipment ID."""
    journal.record_intent(KEY, shipment(), "run-1")
    journal.record_outcome(KEY, State.CREATED, shipment_id=98765)
    assert journal.get(KEY) == Entry(KEY, State.CREATED, 98765, 1, False, "")


@pytest.mark.parametrize("state", [State.FAILED, State.UNKNOWN])
def test_failed_outcome_keeps_the_error(journal: Journal, state: State) -> None:
    """A refused or unknown outcome is recorded with its error text."""
    journal.record_intent(KEY, shipment(), "run-1")
    journal.record_outcome(KEY, state, error="400 Bad Request: sku not on PO")
    assert journal.get(KEY) == Entry(KEY, state, None, 1, False, "400 Bad Request: sku not on PO")


def test_ambiguous_flag_is_sticky_until_created(journal: Journal) -> None:
    """Once a reply was lost, the entry stays ambiguous through later failures, until created."""
    journal.record_intent(KEY, shipment(), "run-1")
    journal.record_outcome(KEY, State.FAILED, error="timeout", ambiguous=True)
    history = [journal.get(KEY)]
    journal.record_intent(KEY, shipment(), "run-2")
    history.append(journal.get(KEY))
    journal.record_outcome(KEY, State.FAILED, error="503 Service Unavailable")
    history.append(journal.get(KEY))
    journal.record_outcome(KEY, State.UNKNOWN, error="check by hand")
    history.append(journal.get(KEY))
    journal.record_outcome(KEY, State.CREATED, shipment_id=5)
    history.append(journal.get(KEY))
    assert [(e.state, e.ambiguous) for e in history if e is not None] == [
        (State.FAILED, True),
        (State.SENDING, True),
        (State.FAILED, True),
        (State.UNKNOWN, True),
        (State.CREATED, False),
    ]


def test_a_later_outcome_without_id_keeps_the_known_shipment_id(journal: Journal) -> None:
    """A Shipment ID, once known, is not erased by an outcome that does not carry one."""
    journal.record_intent(KEY, shipment(), "run-1")
    journal.record_outcome(KEY, State.CREATED, shipment_id=98765)
    journal.record_outcome(KEY, State.FAILED, error="409 Conflict")
    entry = journal.get(KEY)
    assert entry is not None
    assert entry.shipment_id == 98765


def test_entries_survive_closing_and_reopening(tmp_path: Path) -> None:
    """What one run recorded, the next run reads back from the same file."""
    path = tmp_path / "journal.sqlite3"
    first = Journal(path)
    first.record_intent(KEY, shipment(), "run-1")
    first.record_outcome(KEY, State.CREATED, shipment_id=42)
    first.close()
    second = Journal(path)
    try:
        assert second.get(KEY) == Entry(KEY, State.CREATED, 42, 1, False, "")
    finally:
        second.close()


def test_journal_creates_its_directory(tmp_path: Path) -> None:
    """A journal path in a directory that does not exist yet is created."""
    path = tmp_path / "a" / "b" / "journal.sqlite3"
    Journal(path).close()
    assert path.is_file()


def test_unopenable_journal_is_a_config_error(tmp_path: Path) -> None:
    """A journal path that cannot be a database says so and names --journal."""
    with pytest.raises(ConfigError) as caught:
        Journal(tmp_path)  # a directory
    assert re.fullmatch(
        re.escape(f"journal {tmp_path}: cannot be opened (")
        + r".+"
        + re.escape("); choose another file with --journal"),
        str(caught.value),
    )


def test_runs_are_recorded_with_inputs_workbook_and_exit_code(tmp_path: Path) -> None:
    """start_run and finish_run leave a line saying which files, which workbook, which exit."""
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path)
    journal.start_run("run-1", ["east.csv", "west.xlsx"], {"scope": "https://api"})
    journal.finish_run("run-1", "reports/east-results.xlsx", 1)
    assert journal.run_settings("run-1") == {"scope": "https://api"}
    assert journal.run_settings("run-2") is None
    journal.close()
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT run_id, inputs, workbook, exit_code, started_at <= finished_at FROM runs"
        ).fetchall()
    assert rows == [("run-1", "east.csv\nwest.xlsx", "reports/east-results.xlsx", 1, 1)]


def test_token_never_appears_in_the_journal_files(tmp_path: Path) -> None:
    """The token is not in the database, its WAL, or anything else written next to it."""
    path = tmp_path / "journal" / "journal.sqlite3"
    journal = Journal(path)
    fingerprint = token_fingerprint(TOKEN)
    for number in range(5):
        request = shipment(tracking=f"TRK-{number}")
        key = request_key(BASE_URL, fingerprint, request)
        journal.record_intent(key, request, "run-1")
        journal.record_outcome(key, State.CREATED, shipment_id=number)
    journal.start_run(
        "run-1", ["east.csv"], {"scope": BASE_URL, "default_fingerprint": fingerprint}
    )

    def contents() -> bytes:
        return b"".join(p.read_bytes() for p in sorted(path.parent.iterdir()))

    while_open = contents()
    journal.close()
    after_close = contents()
    assert b"TRK-4" in while_open + after_close  # the files do hold what was recorded
    assert TOKEN.encode() not in while_open
    assert TOKEN.encode() not in after_close


def test_token_fingerprint_is_stable_short_and_one_way() -> None:
    """The same token always gives the same 16 hex digits, which do not contain the token."""
    fingerprint = token_fingerprint(TOKEN)
    assert fingerprint == token_fingerprint(TOKEN)
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint)
    assert TOKEN not in fingerprint
    assert token_fingerprint(TOKEN + "x") != fingerprint


def test_request_key_is_stable() -> None:
    """Equal requests give the same 64-hex key, run after run."""
    key = request_key(BASE_URL, token_fingerprint(TOKEN), shipment())
    assert key == KEY
    assert re.fullmatch(r"[0-9a-f]{64}", key)


def test_request_key_ignores_a_trailing_slash_on_the_base_url() -> None:
    """`https://api.flxpoint.com/` and `https://api.flxpoint.com` are the same API."""
    assert request_key(BASE_URL + "/", token_fingerprint(TOKEN), shipment()) == KEY


def test_request_key_is_the_shipment_not_its_contents() -> None:
    """A fixed SKU does not make a new shipment: the key is PO identity + tracking number."""
    assert request_key(BASE_URL, token_fingerprint(TOKEN), shipment(sku="A-2")) == KEY


@pytest.mark.parametrize(
    ("base_url", "token", "other"),
    [
        ("https://sandbox.flxpoint.example", TOKEN, shipment()),
        (BASE_URL, "tok_other_account", shipment()),
        (BASE_URL, TOKEN, shipment(po=PoIdentity(po_number="1002", source_id=101))),
        (BASE_URL, TOKEN, shipment(po=PoIdentity(po_number="1001", source_id=102))),
        (BASE_URL, TOKEN, shipment(po=PoIdentity(po_number="1001"))),
        (BASE_URL, TOKEN, shipment(po=PoIdentity(fulfillment_request_id=1001))),
        (BASE_URL, TOKEN, shipment(tracking="1Z999AA10123456792")),
    ],
    ids=[
        "base-url",
        "token",
        "po-number",
        "source",
        "no-source",
        "fulfillment-request",
        "tracking",
    ],
)
def test_request_key_differs_for_another_api_token_po_or_tracking(
    base_url: str, token: str, other: ShipmentRequest
) -> None:
    """Another base URL, token, PO identity or tracking number is another shipment."""
    assert request_key(base_url, token_fingerprint(token), other) != KEY
