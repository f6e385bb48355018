"""Valid rows → Create Shipment requests: one per PO identity + tracking number.

Rows of one request must agree on every shipment-level field they fill in; a blank cell does
not disagree (clerks often fill the carrier on the first row only). If two rows disagree,
none of the group is sent: guessing which row is right would put wrong data on a live order.

Rows without item lines ship the whole PO (their items are looked up in Flxpoint before
sending). Packages of one PO are one shipment only when the export ties them: a master or
lead tracking number (FedEx, UPS WorldShip), or several numbers in one cell. Untied packages
of one PO are refused unless `packages="first"`: nobody can know which box holds what.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Literal

from batch_uploader.models import (
    PoIdentity,
    RowProblem,
    RowRef,
    ShipmentFields,
    ShipmentLine,
    ShipmentRequest,
)
from batch_uploader.profiles import FIELD_LABELS

GroupKey = tuple[str, str]
RowLabel = Callable[[RowRef], str]
Packages = Literal["refuse", "first"]
MERGED_FIELDS = tuple(f.name for f in fields(ShipmentFields) if f.name != "custom_fields")
"""Shipment-level fields the rows of one request must agree on (custom fields apart)."""
PACKAGES_NOTE = "packages"


@dataclass(frozen=True)
class Grouped:
    """The requests to send, and the rows refused because their group disagrees."""

    requests: tuple[ShipmentRequest, ...]
    problems: tuple[RowProblem, ...]


def group_lines(
    lines: Iterable[ShipmentLine],
    *,
    allow_duplicate_tracking: bool = False,
    packages: Packages = "refuse",
    row_label: RowLabel = lambda ref: f"row {ref.row_number}",
) -> Grouped:
    """Group rows in input order; requests come out in the order their first row appears."""
    groups: dict[GroupKey, list[ShipmentLine]] = {}
    whole: list[ShipmentLine] = []
    for line in lines:
        if line.item is None:
            whole.append(line)
        else:
            assert line.po is not None  # validation gives item rows a PO
            groups.setdefault((line.po.key, line.tracking_number), []).append(line)
    problems: list[RowProblem] = []
    item_pos = {key[0] for key in groups}
    groups.update(_whole_po_groups(whole, item_pos, packages, problems))
    requests: list[ShipmentRequest] = []
    for (_, number), members in sorted(groups.items(), key=lambda g: g[1][0].ref):
        merged, conflicts = _merge_shipment(members, row_label)
        if conflicts:
            reason = (
                f"rows for {_po(members).label} with tracking {number} disagree "
                f"on {'; '.join(conflicts)}; make them agree so the shipment can be sent"
            )
            problems.extend(RowProblem(m.ref, reason, m.warnings) for m in members)
            continue
        items = tuple(m.item for m in members if m.item is not None)
        if not items:
            merged = _with_packages(merged, number, members)
        requests.append(
            ShipmentRequest(
                po=_po(members),
                tracking_number=number,
                shipment=merged,
                items=items,
                refs=tuple(m.ref for m in members),
                allow_duplicate_tracking=allow_duplicate_tracking,
            )
        )
    return Grouped(tuple(requests), tuple(problems))


def _po(members: Sequence[ShipmentLine]) -> PoIdentity:
    """The group's PO: a package row that names only its master borrows it from the others."""
    return next(m.po for m in members if m.po is not None)


def _whole_po_groups(
    lines: list[ShipmentLine],
    item_pos: set[str],
    packages: Packages,
    problems: list[RowProblem],
) -> dict[GroupKey, list[ShipmentLine]]:
    """Whole-PO rows → one group per PO and shipment number (a master number ties packages)."""
    po_of_master = {
        line.master_tracking: line.po for line in lines if line.master_tracking and line.po
    }
    by_po: dict[str, dict[str, list[ShipmentLine]]] = {}
    for line in lines:
        po = line.po or po_of_master.get(line.master_tracking or "")
        if po is None:
            reason = (
                f"package of master tracking number {line.master_tracking}: no row names its "
                f"PO; fill in the PO on the master package's row"
            )
            problems.append(RowProblem(line.ref, reason, line.warnings))
            continue
        if po.key in item_pos:
            reason = (
                f"{po.label} has rows with items and rows without; fill in the SKU and "
                f"Quantity on every row of this PO, or on none to ship what remains"
            )
            problems.append(RowProblem(line.ref, reason, line.warnings))
            continue
        number = line.master_tracking or line.tracking_number
        by_po.setdefault(po.key, {}).setdefault(number, []).append(replace(line, po=po))
    groups: dict[GroupKey, list[ShipmentLine]] = {}
    for po_key, shipments in by_po.items():
        if len(shipments) == 1 or packages == "first":
            first_number = next(iter(shipments))
            groups[(po_key, first_number)] = [m for group in shipments.values() for m in group]
            continue
        shown = ", ".join(shipments)
        for group in shipments.values():
            for line in group:
                reason = (
                    f"{_po(group).label} has {len(shipments)} tracking numbers ({shown}) and no "
                    f"item lines: it is not known which box holds what. Add SKU and Quantity "
                    f"columns, a master tracking number, or upload with --packages first"
                )
                problems.append(RowProblem(line.ref, reason, line.warnings))
    return groups


def _with_packages(
    shipment: ShipmentFields, number: str, members: Sequence[ShipmentLine]
) -> ShipmentFields:
    """A whole-PO shipment's note lists the other packages' tracking numbers."""
    others: list[str] = []
    for member in members:
        for package in (member.tracking_number, *member.packages):
            if package != number and package not in others:
                others.append(package)
    if not others:
        return shipment
    listed = f"{PACKAGES_NOTE}: {', '.join([number, *others])}"
    note = f"{shipment.note}; {listed}" if shipment.note else listed
    return replace(shipment, note=note)


def _merge_shipment(
    members: list[ShipmentLine], row_label: RowLabel
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
    members: list[ShipmentLine], row_label: RowLabel
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
