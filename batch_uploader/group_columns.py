"""Rows checked in bulk → Create Shipment requests, grouped column-wise; the rest by `grouping`.

The rule is `grouping.group_lines`' rule: one request per PO identity + tracking number,
across every input file, requests in the order their first row appears, and a group whose
rows disagree on a shipment-level field is refused as a whole. Here groups are found with
numpy over whole columns; any group that needs words (rows that disagree, or a group that
also holds a row RowValidator checked) is handed to `group_lines`, which explains it.

Requests of the bulk lane are built when asked for (`Requests[i]`): a million rows group
in well under a second, and the sender only ever needs two requests a second.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from batch_uploader.columns import BuiltOnDemand, IntArray, to_mask
from batch_uploader.grouping import MERGED_FIELDS, group_lines
from batch_uploader.models import (
    ItemFields,
    PoIdentity,
    RowProblem,
    RowRef,
    ShipmentFields,
    ShipmentLine,
    ShipmentRequest,
)
from batch_uploader.validate import ITEM_ID_FIELDS
from batch_uploader.validate_columns import CheckedTable

_TYPES: dict[str, pa.DataType] = {
    "tracking_number": pa.string(),
    "po_number": pa.string(),
    "source_id": pa.int64(),
    "sku": pa.string(),
    "quantity": pa.int64(),
    "carrier": pa.string(),
    "method": pa.string(),
    "shipped_at": pa.string(),
    "shipping_cost": pa.float64(),
    "tracking_url": pa.string(),
    "note": pa.string(),
    "suppressed": pa.bool_(),
    **dict.fromkeys(ITEM_ID_FIELDS, pa.int64()),
}


@dataclass(frozen=True)
class GroupedTables:
    """The requests to send (in first-row order) and every row refused, with its reason."""

    requests: Sequence[ShipmentRequest]
    problems: tuple[RowProblem, ...]
    warnings: dict[RowRef, tuple[str, ...]]


def group_tables(
    tables: Sequence[CheckedTable],
    *,
    allow_duplicate_tracking: bool = False,
    row_label: Callable[[RowRef], str] = lambda ref: f"row {ref.row_number}",
) -> GroupedTables:
    """Group every valid row of every table; see the module docstring for the rule."""
    bulk = _BulkRows.concat(tables)
    group_of, first_rows = bulk.groups()
    members = _Members(group_of, len(first_rows))
    demoted = bulk.disagreeing(group_of, members) | bulk.touched_by(group_of, tables)

    slow_lines: list[tuple[int, int, ShipmentLine]] = []  # (file, position, line)
    problems: list[RowProblem] = []
    warnings: dict[RowRef, tuple[str, ...]] = {}
    for table in tables:
        for position, verdict in table.one_by_one:
            if isinstance(verdict, RowProblem):
                problems.append(verdict)
            else:
                slow_lines.append((table.file_index, position, verdict))
                if verdict.warnings:
                    warnings[verdict.ref] = verdict.warnings
        for position, warning in table.warnings.items():
            ref = RowRef(table.file_index, int(table.block.row_numbers[position]))
            warnings[ref] = (warning,)
    for group in sorted(demoted):
        for row in bulk.accepted[members.of(group)]:
            table = tables[bulk.table_of[row]]
            slow_lines.append(
                (table.file_index, int(bulk.position[row]), table.line(int(bulk.position[row])))
            )
    slow_lines.sort(key=lambda item: (item[0], item[1]))
    slow = group_lines(
        (line for _, _, line in slow_lines),
        allow_duplicate_tracking=allow_duplicate_tracking,
        row_label=row_label,
    )
    problems.extend(slow.problems)

    kept = np.setdiff1d(np.arange(len(first_rows)), np.fromiter(demoted, np.int64, len(demoted)))
    order_fast = np.stack(
        [bulk.file_index[first_rows[kept]], bulk.row_number[first_rows[kept]]], axis=1
    ).reshape(-1, 2)
    order_slow = np.array(
        [(r.refs[0].file_index, r.refs[0].row_number) for r in slow.requests], dtype=np.int64
    ).reshape(-1, 2)
    entries = np.concatenate([kept, -1 - np.arange(len(slow.requests), dtype=np.int64)])
    keys = np.concatenate([order_fast, order_slow])
    entries = entries[np.lexsort((keys[:, 1], keys[:, 0]))] if len(entries) else entries
    requests = Requests(bulk, members, entries, slow.requests, allow_duplicate_tracking)
    return GroupedTables(requests, tuple(problems), warnings)


class _Members:
    """Rows of each group, in input order (a CSR index over the bulk rows)."""

    def __init__(self, group_of: IntArray, groups: int) -> None:
        self._rows = np.argsort(group_of, kind="stable")
        counts = np.bincount(group_of, minlength=groups)
        self._starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def in_groups_of_two_or_more(self) -> IntArray:
        """The rows of every group with several rows, group by group (a lone row agrees)."""
        sizes = np.diff(self._starts)
        shared: IntArray = self._rows[np.repeat(sizes > 1, sizes)]
        return shared

    def of(self, group: int) -> IntArray:
        start, stop = self._starts[group], self._starts[group + 1]
        members: IntArray = self._rows[start:stop]
        return members


@dataclass(frozen=True)
class _BulkRows:
    """All rows of all tables, one array per field; `accepted` lists the bulk-checked ones.

    Row indexes here are global (the tables one after another); groups and members are
    numbered over the accepted rows only.
    """

    accepted: IntArray
    table_of: IntArray  # index into the tables list
    file_index: IntArray
    position: IntArray
    row_number: IntArray
    fields: dict[str, pa.Array]
    shipment_custom: dict[str, pa.Array]
    item_custom: dict[str, pa.Array]
    custom_order: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]  # per table

    @classmethod
    def concat(cls, tables: Sequence[CheckedTable]) -> _BulkRows:
        sizes = [len(t.block) for t in tables]
        none = np.zeros(0, np.int64)
        flags = [t.accepted for t in tables] or [np.zeros(0, np.bool_)]
        accepted = np.flatnonzero(np.concatenate(flags))
        table_of = np.repeat(np.arange(len(tables), dtype=np.int64), sizes)
        file_index = np.repeat(np.array([t.file_index for t in tables], np.int64), sizes)
        position = np.concatenate([np.arange(n, dtype=np.int64) for n in sizes] or [none])
        row_number = np.concatenate([t.block.row_numbers for t in tables] or [none])
        fields = {
            name: _concat([t.fields.get(name) for t in tables], sizes, kind)
            for name, kind in _TYPES.items()
        }
        ship_names = dict.fromkeys(n for t in tables for n, _ in t.shipment_custom)
        item_names = dict.fromkeys(n for t in tables for n, _ in t.item_custom)
        shipment_custom = {
            name: _concat([dict(t.shipment_custom).get(name) for t in tables], sizes, pa.string())
            for name in ship_names
        }
        item_custom = {
            name: _concat([dict(t.item_custom).get(name) for t in tables], sizes, pa.string())
            for name in item_names
        }
        order = tuple(
            (tuple(n for n, _ in t.shipment_custom), tuple(n for n, _ in t.item_custom))
            for t in tables
        )
        return cls(
            accepted.astype(np.int64),
            table_of,
            file_index,
            position.astype(np.int64),
            row_number.astype(np.int64),
            fields,
            shipment_custom,
            item_custom,
            order,
        )

    def __len__(self) -> int:
        return len(self.accepted)

    def groups(self) -> tuple[IntArray, IntArray]:
        """Each row's group (numbered by first appearance) and each group's first row."""
        if not len(self):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        source = _codes(self.fields["source_id"])[self.accepted] + 1
        po = _codes(self.fields["po_number"])[self.accepted]
        tracking = _codes(self.fields["tracking_number"])[self.accepted]
        po_count, tracking_count = int(po.max()) + 1, int(tracking.max()) + 1
        # One int64 per (source, PO, tracking); every factor is at most the row count, which
        # one results sheet bounds at 2**20, so the product stays far below 2**63.
        key = (source * po_count + po) * tracking_count + tracking
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        by_appearance = np.argsort(first, kind="stable")
        rank = np.empty_like(by_appearance)
        rank[by_appearance] = np.arange(len(by_appearance))
        group_of: IntArray = rank[inverse.reshape(-1)].astype(np.int64)
        first_rows: IntArray = self.accepted[first[by_appearance]]
        return group_of, first_rows

    def disagreeing(self, group_of: IntArray, members: _Members) -> set[int]:
        """Groups where two rows fill a shipment-level field with different values."""
        if not len(self):
            return set()
        order = members.in_groups_of_two_or_more()
        groups = group_of[order]
        take = pa.array(self.accepted[order], type=pa.int64())
        conflicts: set[int] = set()
        columns = [self.fields[name] for name in MERGED_FIELDS]
        for array in [*columns, *self.shipment_custom.values()]:
            if array.null_count == len(array) or not len(order):
                continue  # a column nobody filled in
            values = _codes(pc.take(array, take))
            given = values >= 0
            g, v = groups[given], values[given]
            clash = (g[1:] == g[:-1]) & (v[1:] != v[:-1])
            conflicts.update(np.unique(g[1:][clash]).tolist())
        return conflicts

    def touched_by(self, group_of: IntArray, tables: Sequence[CheckedTable]) -> set[int]:
        """Groups that share their PO + tracking with a row RowValidator checked."""
        keys = {
            (v.po.source_id, v.po.po_number, v.tracking_number)
            for t in tables
            for _, v in t.one_by_one
            if isinstance(v, ShipmentLine) and v.po.fulfillment_request_id is None
        }
        if not keys or not len(self):
            return set()
        po = self.fields["po_number"]
        tracking = self.fields["tracking_number"]
        maybe = pc.and_(
            pc.is_in(po, pa.array([k[1] for k in keys], pa.string())),
            pc.is_in(tracking, pa.array([k[2] for k in keys], pa.string())),
        )
        hits = to_mask(maybe)
        source = self.fields["source_id"]
        group_by_row = dict(zip(self.accepted.tolist(), group_of.tolist(), strict=True))
        return {
            group_by_row[r]
            for r in np.flatnonzero(hits).tolist()
            if r in group_by_row and (source[r].as_py(), po[r].as_py(), tracking[r].as_py()) in keys
        }

    @cached_property
    def lists(self) -> dict[str, list[Any]]:
        """Python values of every field, made once when the first request is built."""
        values = {name: array.to_pylist() for name, array in self.fields.items()}
        values.update({f"custom:{n}": a.to_pylist() for n, a in self.shipment_custom.items()})
        values.update({f"itemcustom:{n}": a.to_pylist() for n, a in self.item_custom.items()})
        return values


class Requests(BuiltOnDemand[ShipmentRequest]):
    """The requests of a run, bulk ones built on demand, in first-row order."""

    def __init__(
        self,
        bulk: _BulkRows,
        members: _Members,
        entries: IntArray,
        explained: Sequence[ShipmentRequest],
        allow_duplicate_tracking: bool,
    ) -> None:
        self._bulk = bulk
        self._members = members
        self._entries = entries
        self._explained = explained
        self._allow_duplicate_tracking = allow_duplicate_tracking

    def __len__(self) -> int:
        return len(self._entries)

    def _make(self, index: int) -> ShipmentRequest:
        entry = int(self._entries[index])
        if entry < 0:
            return self._explained[-1 - entry]
        return self._build(entry)

    def _build(self, group: int) -> ShipmentRequest:
        bulk = self._bulk
        values = bulk.lists
        rows = bulk.accepted[self._members.of(group)].tolist()
        first = rows[0]
        shipment: dict[str, Any] = {}
        for name in MERGED_FIELDS:
            column = values[name]
            shipment[name] = next((column[r] for r in rows if column[r] is not None), None)
        custom: dict[str, str] = {}
        items = []
        refs = []
        for r in rows:
            ship_names, item_names = bulk.custom_order[int(bulk.table_of[r])]
            for name in ship_names:
                value = values[f"custom:{name}"][r]
                if value is not None and name not in custom:
                    custom[name] = value
            items.append(
                ItemFields(
                    quantity=values["quantity"][r],
                    sku=values["sku"][r],
                    purchase_order_item_id=values["purchase_order_item_id"][r],
                    order_item_id=values["order_item_id"][r],
                    inventory_variant_id=values["inventory_variant_id"][r],
                    rma_item_id=values["rma_item_id"][r],
                    custom_fields=tuple(
                        (name, value)
                        for name in item_names
                        if (value := values[f"itemcustom:{name}"][r]) is not None
                    ),
                )
            )
            refs.append(RowRef(int(bulk.file_index[r]), int(bulk.row_number[r])))
        return ShipmentRequest(
            po=PoIdentity(
                po_number=values["po_number"][first], source_id=values["source_id"][first]
            ),
            tracking_number=values["tracking_number"][first],
            shipment=ShipmentFields(**shipment, custom_fields=tuple(custom.items())),
            items=tuple(items),
            refs=tuple(refs),
            allow_duplicate_tracking=self._allow_duplicate_tracking,
        )


def _concat(arrays: list[pa.Array | None], sizes: list[int], kind: pa.DataType) -> pa.Array:
    """One array over all tables; a table without the field contributes nulls."""
    if len(arrays) == 1 and arrays[0] is not None and arrays[0].type == kind:
        return arrays[0]
    parts = [
        a.cast(kind) if a is not None else pa.nulls(size, kind)
        for a, size in zip(arrays, sizes, strict=True)
    ]
    return pa.concat_arrays(parts) if parts else pa.array([], kind)


def _codes(array: pa.Array) -> IntArray:
    """Equal values get equal non-negative codes; nulls get -1."""
    encoded = pc.dictionary_encode(array)
    indices = pc.fill_null(encoded.indices.cast(pa.int64()), -1)
    codes: IntArray = np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes
