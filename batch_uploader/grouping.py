"""Valid rows → Create Shipment requests: one per PO identity + tracking number.

Rows of one request must agree on every shipment-level field they fill in; a blank cell does
not disagree (clerks often fill the carrier on the first row only). If two rows disagree,
none of the group is sent: guessing which row is right would put wrong data on a live order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace

from batch_uploader.models import RowProblem, RowRef, ShipmentFields, ShipmentLine, ShipmentRequest
from batch_uploader.profiles import FIELD_LABELS

GroupKey = tuple[str, str]
MERGED_FIELDS = tuple(f.name for f in fields(ShipmentFields) if f.name != "custom_fields")
"""Shipment-level fields the rows of one request must agree on (custom fields apart)."""


@dataclass(frozen=True)
class Grouped:
    """The requests to send, and the rows refused because their group disagrees."""

    requests: tuple[ShipmentRequest, ...]
    problems: tuple[RowProblem, ...]


def group_lines(
    lines: Iterable[ShipmentLine],
    *,
    allow_duplicate_tracking: bool = False,
    row_label: Callable[[RowRef], str] = lambda ref: f"row {ref.row_number}",
) -> Grouped:
    """Group rows in input order; requests come out in the order their first row appears."""
    groups: dict[GroupKey, list[ShipmentLine]] = {}
    for line in lines:
        groups.setdefault((line.po.key, line.tracking_number), []).append(line)
    requests: list[ShipmentRequest] = []
    problems: list[RowProblem] = []
    for members in groups.values():
        merged, conflicts = _merge_shipment(members, row_label)
        if conflicts:
            first = members[0]
            reason = (
                f"rows for {first.po.label} with tracking {first.tracking_number} disagree on "
                f"{'; '.join(conflicts)}; make them agree so the shipment can be sent"
            )
            problems.extend(RowProblem(m.ref, reason, m.warnings) for m in members)
            continue
        requests.append(
            ShipmentRequest(
                po=members[0].po,
                tracking_number=members[0].tracking_number,
                shipment=merged,
                items=tuple(m.item for m in members),
                refs=tuple(m.ref for m in members),
                allow_duplicate_tracking=allow_duplicate_tracking,
            )
        )
    return Grouped(tuple(requests), tuple(problems))


def _merge_shipment(
    members: list[ShipmentLine], row_label: Callable[[RowRef], str]
) -> tuple[ShipmentFields, list[str]]:
    """The group's shipment fields (first filled value of each), and any disagreements."""
    first = members[0].shipment
    if all(m.shipment == first for m in members):  # the usual case: rows repeat the fields
        return first, []
    chosen: dict[str, object] = {}
    conflicts: list[str] = []
    for name in MERGED_FIELDS:
        filled = [m for m in members if name in m.given]
        if not filled:
            continue
        first_value = getattr(filled[0].shipment, name)
        chosen[name] = first_value
        for other in filled[1:]:
            value = getattr(other.shipment, name)
            if value != first_value:
                conflicts.append(
                    f"{FIELD_LABELS[name]}: {_show(first_value)} ({row_label(filled[0].ref)}) vs "
                    f"{_show(value)} ({row_label(other.ref)})"
                )
                break
    custom, custom_conflicts = _merge_custom(members, row_label)
    merged = replace(members[0].shipment, custom_fields=custom, **chosen)  # type: ignore[arg-type]
    return merged, conflicts + custom_conflicts


def _merge_custom(
    members: list[ShipmentLine], row_label: Callable[[RowRef], str]
) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """Custom fields merge by name: a blank cell does not disagree, two values do."""
    seen: dict[str, tuple[str, RowRef]] = {}
    conflicts: list[str] = []
    for member in members:
        for name, value in member.shipment.custom_fields:
            if name not in seen:
                seen[name] = (value, member.ref)
            elif seen[name][0] != value:
                first, ref = seen[name]
                conflicts.append(
                    f"custom fields: {name}={first} ({row_label(ref)}) vs "
                    f"{name}={value} ({row_label(member.ref)})"
                )
    return tuple((name, value) for name, (value, _) in seen.items()), conflicts


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(f"{k}={v}" for k, v in value) or "none"
    return f'"{value}"'
