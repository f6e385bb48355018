"""validate_columns.py + group_columns.py: the bulk lane agrees with RowValidator + group_lines.

Both are roads of check_and_group.py; `pipeline.prepare(config, in_bulk=...)` picks one.

The bulk lane is only a faster road to the same verdicts, so every test here compares it
with the row-at-a-time reference (RowValidator, then grouping.group_lines) on real files, and
checks that clean rows really take the bulk road (else agreement would prove nothing).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from batch_uploader import pipeline
from batch_uploader.config import Config
from batch_uploader.errors import UploaderError
from batch_uploader.parsing import CellError, parse_datetime
from batch_uploader.profiles import bundled_profiles, choose_columns
from batch_uploader.validate_columns import _datetimes_in_bulk, check_table

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
HEADER = (
    "PO Number",
    "Source ID",
    "Tracking Number",
    "Carrier",
    "Shipped At",
    "Shipping Cost",
    "SKU",
    "Quantity",
    "Note",
    "Custom: Gift",
    "Item Custom: Lot",
)
USPS = "9400111899223100012348"
UPS = "1Z999AA10123456784"
CELLS: dict[str, tuple[str, ...]] = {
    "PO Number": ("PO-1", "PO-2", " PO-1 ", "'PO-3", "", "9.4055E+21", "po-\u00e9", "PO-1\t"),
    "Source ID": ("101", "102", "", "101.0", "abc", "0", " 101", "99999999999999999999"),
    "Tracking Number": (
        *(USPS, UPS, "1Z999AA10123456785", "1Z999AA1012345678A"),
        *("12345", "", "'0012", '="0042"'),
    ),
    "Carrier": ("USPS", "UPS", "", "FedEx", " UPS", "\u00a0"),
    "Shipped At": ("11/03/2026 07:38 PM", "2026-11-03", "02/30/2026", "", "soon", "1/3/26"),
    "Shipping Cost": ("19.52", "$1,204.50", "", "12,50", "-1", "7"),
    "SKU": ("SKU-1", "SKU-2", "", "1E5", "sku\u00a0"),
    "Quantity": ("1", "2", "", "two", "1.0", "0", "1.5"),
    "Note": ("", "fragile", "=1+1", "line\nbreak"),
    "Custom: Gift": ("", "yes", "no"),
    "Item Custom: Lot": ("", "L1", "L2"),
}


def reference(config: Config) -> pipeline.Prepared:
    """The row-at-a-time verdicts: RowValidator, then grouping.group_lines."""
    return pipeline.prepare(config, in_bulk=False)


def assert_same_as_reference(config: Config) -> pipeline.Prepared:
    prepared = pipeline.prepare(config, in_bulk=True)
    expected = reference(config)
    assert prepared.results == expected.results
    assert list(prepared.results) == list(expected.results)  # row order, as the workbook
    assert dict(prepared.warnings) == expected.warnings
    assert list(prepared.requests) == list(expected.requests)
    return prepared


def fixture_inputs() -> Iterator[Path]:
    for path in sorted(FIXTURES.rglob("*")):
        if path.suffix.lower() in {".csv", ".tsv", ".txt", ".xlsx", ".xlsm"}:
            yield path
    yield TEMPLATES / "example-shipments.csv"


@pytest.mark.parametrize("path", list(fixture_inputs()), ids=lambda p: p.name)
@pytest.mark.parametrize(
    "options", [{}, {"source_id": 101}, {"allow_duplicate_tracking": True}], ids=str
)
def test_every_fixture_gets_the_reference_verdicts(path: Path, options: dict) -> None:
    """Each checked-in export, bulk lane vs row-at-a-time: same results, warnings, requests."""
    config = Config(inputs=(path,), dry_run=True, **options)
    try:
        assert_same_as_reference(config)
    except UploaderError:
        with pytest.raises(UploaderError):
            reference(config)


def random_table(rnd: random.Random, rows: int) -> list[list[str]]:
    """Rows drawn from CELLS, with runs of repeated shipments so groups have several rows."""
    table: list[list[str]] = []
    while len(table) < rows:
        base = [rnd.choice(CELLS[name]) for name in HEADER]
        for _ in range(rnd.choice((1, 1, 2, 3))):
            row = list(base)
            for index, name in enumerate(HEADER):
                if rnd.random() < 0.15:
                    row[index] = rnd.choice(CELLS[name])
            table.append(row)
    return table[:rows]


def write(path: Path, rows: list[list[str]]) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("seed", range(int(os.environ.get("BULK_SEEDS", "12"))))
def test_random_messy_tables_get_the_reference_verdicts(tmp_path: Path, seed: int) -> None:
    """Random mixes of clean and broken cells (and groups that disagree) give the same verdicts."""
    rnd = random.Random(seed)
    first = write(tmp_path / "a.csv", random_table(rnd, 60))
    second = write(tmp_path / "b.csv", random_table(rnd, 30))
    assert_same_as_reference(Config(inputs=(first,), dry_run=True))
    assert_same_as_reference(Config(inputs=(first, second), dry_run=True, source_id=102))


def test_clean_rows_take_the_bulk_lane(tmp_path: Path) -> None:
    """A clean export is accepted in bulk: no row is left to RowValidator."""
    rows = [
        [f"PO-{n // 2}", "101", USPS, "USPS", "2026-11-03", "1.50", f"SKU-{n}", "1", "", "", ""]
        for n in range(200)
    ]
    path = write(tmp_path / "clean.csv", rows)
    table = pipeline._load(Config(inputs=(path,), dry_run=True), bundled_profiles())[0]
    columns = choose_columns(table.header, table.label, bundled_profiles(), forced=False)
    checked = check_table(table, columns, 0, None)
    assert checked.accepted.all()
    assert checked.one_by_one == ()
    prepared = assert_same_as_reference(Config(inputs=(path,), dry_run=True))
    assert len(prepared.requests) == 100
    assert [len(r.items) for r in prepared.requests] == [2] * 100


def test_padded_and_accented_cells_take_the_bulk_lane(tmp_path: Path) -> None:
    """Spaces around values and accents at the edges are stripped in bulk, as str.strip() does."""
    rows = [
        [f" PO-{n} ", "101\t", USPS, "USPS\u00a0", "", "", "SKU-1", " 2", "Caf\u00e9", "", ""]
        for n in range(50)
    ]
    path = write(tmp_path / "padded.csv", rows)
    table = pipeline._load(Config(inputs=(path,), dry_run=True), bundled_profiles())[0]
    columns = choose_columns(table.header, table.label, bundled_profiles(), forced=False)
    assert check_table(table, columns, 0, None).accepted.all()
    prepared = assert_same_as_reference(Config(inputs=(path,), dry_run=True))
    first = prepared.requests[0]
    assert (first.po.po_number, first.shipment.carrier, first.shipment.note) == (
        "PO-0",
        "USPS",
        "Caf\u00e9",
    )
    assert first.items[0].quantity == 2


def test_a_group_split_between_lanes_is_one_request(tmp_path: Path) -> None:
    """Rows of one shipment, one clean and one padded with spaces, still make one request."""
    rows = [
        ["PO-1", "101", USPS, "USPS", "", "", "SKU-1", "1", "", "", ""],
        [" PO-1", "101", USPS, "USPS", "", "", "SKU-2", "2", "", "", ""],
        ["PO-2", "101", UPS, "UPS", "", "", "SKU-1", "1", "", "", ""],
    ]
    prepared = assert_same_as_reference(
        Config(inputs=(write(tmp_path / "split.csv", rows),), dry_run=True)
    )
    assert [(r.po.po_number, len(r.items)) for r in prepared.requests] == [("PO-1", 2), ("PO-2", 1)]


def test_rows_that_disagree_are_refused_with_both_values(tmp_path: Path) -> None:
    """Two clean rows of one shipment with different costs: both invalid, the reason names both."""
    rows = [
        ["PO-1", "101", USPS, "USPS", "", "1.50", "SKU-1", "1", "", "", ""],
        ["PO-1", "101", USPS, "USPS", "", "2.50", "SKU-2", "1", "", "", ""],
    ]
    prepared = assert_same_as_reference(
        Config(inputs=(write(tmp_path / "clash.csv", rows),), dry_run=True)
    )
    assert not prepared.requests
    reasons = {r.error for r in prepared.results.values()}
    assert len(reasons) == 1
    assert 'Shipping Cost: "1.5" (row 2) vs "2.5" (row 3)' in reasons.pop()


@pytest.fixture
def utc() -> Iterator[None]:
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


def test_dates_parsed_in_bulk_match_parse_datetime(utc: None) -> None:
    """Arrow's date parsing is used only where it gives parse_datetime's exact answer."""
    rnd = random.Random(7)
    values = []
    for _ in range(3000):
        y = rnd.choice((1970, 1971, 2026, 2999, 3000))
        m, d, hour, minute = rnd.randint(0, 13), rnd.randint(0, 32), rnd.randint(0, 24), 7
        ampm = rnd.choice(("AM", "PM", "am", " PM", ""))
        values += [
            f"{m:02d}/{d:02d}/{y} {hour:02d}:{minute:02d} {ampm}",
            f"{m}/{d}/{y} {hour}:{minute:02d} {ampm}",
            f"{y}-{m:02d}-{d:02d}",
            f"{y}-{m:02d}-{d:02d} {hour:02d}:{minute:02d}:00",
            f"{m:02d}/{d:02d}/{y}",
        ]
    bulk = _datetimes_in_bulk(pa.array(values)).to_pylist()
    taken = 0
    for value, parsed in zip(values, bulk, strict=True):
        if parsed is None:
            continue
        taken += 1
        try:
            expected = parse_datetime("Shipped At", value)
        except CellError:
            expected = "refused"
        assert parsed == expected, value
    assert taken > len(values) // 5  # the common shapes really are taken in bulk


def test_dates_stay_with_python_outside_utc() -> None:
    """With a local zone that has rules, no date is converted by Arrow."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        assert _datetimes_in_bulk(pa.array(["2026-11-03"])).to_pylist() == [None]
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()
