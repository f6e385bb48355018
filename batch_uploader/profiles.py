"""Column-mapping profiles: which header names mean which shipment field.

A profile is a TOML file (`templates/profiles/*.toml`, or the user's own). The columns of a
file are chosen in this order, the first that speaks winning:

1. `--map FIELD=HEADER` (the user said so);
2. the profile that applies: a named format whose `[detect] headers` are all present beats a
   profile without detection rules; among equals the one recognising the most columns wins,
   and a tie is refused, never guessed;
3. for every field the profile does not map, the header's meaning (headers.py): an exact
   field name, then an alias of the canonical profile, then a word match.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from batch_uploader.errors import ConfigError
from batch_uploader.headers import normalize_header
from batch_uploader.paths import templates_dir, user_config_dir
from batch_uploader.tomlfile import read_toml

__all__ = [
    "FIELD_LABELS",
    "GENERIC",
    "ColumnMap",
    "Profile",
    "bundled_profiles",
    "load_profile",
    "normalize_header",
    "resolve_profile",
]

# The fields a profile may map, with the name a clerk sees in messages.
FIELD_LABELS: dict[str, str] = {
    "po_number": "PO Number",
    "source_id": "Source ID",
    "fulfillment_request_id": "Fulfillment Request ID",
    "tracking_number": "Tracking Number",
    "carrier": "Carrier",
    "method": "Method",
    "shipped_at": "Shipped At",
    "shipping_cost": "Shipping Cost",
    "tracking_url": "Tracking URL",
    "note": "Note",
    "suppressed": "Suppressed",
    "sku": "SKU",
    "quantity": "Quantity",
    "purchase_order_item_id": "PO Item ID",
    "order_item_id": "Order Item ID",
    "inventory_variant_id": "Inventory Variant ID",
    "rma_item_id": "RMA Item ID",
    "void": "Void",
    "master_tracking_number": "Master Tracking Number",
}
ITEM_ID_FIELDS = ("sku", "purchase_order_item_id", "order_item_id")  # what the API accepts
SHIPMENT_CUSTOM_PREFIX = "custom"
ITEM_CUSTOM_PREFIX = "itemcustom"
DATE_ORDERS = ("mdy", "dmy")
CANONICAL = "canonical"
"""difflib ratio from which a header of the file is offered as "did you mean"."""
CUSTOM_HEADER = re.compile(r"^\s*(item\s*custom|custom)\s*:\s*(.+?)\s*$", re.IGNORECASE)


def loose_header(name: str) -> str:
    """How `[detect]` headers compare: case and surrounding/double spaces only.

    Punctuation counts here (Amazon's `order-id` is not TikTok's `Order ID`).
    """
    return " ".join(name.casefold().split())


@dataclass(frozen=True)
class Profile:
    """A named mapping from header names to fields, and what it knows about its format."""

    name: str
    description: str
    aliases: dict[str, tuple[str, ...]]  # field -> header names as written in the profile
    path: Path | None = None
    source: str = ""  # the published layout this profile was checked against
    date_order: str | None = None  # "mdy" / "dmy" when the format fixes it
    detect: tuple[str, ...] = ()  # headers that must all be present to name this format
    refuse: str | None = None  # a format without tracking numbers: why, and what to export
    ignore: tuple[str, ...] = ()  # headers of the format that mean nothing to us
    row_type_column: str | None = None  # e.g. Matrixify's "Line: Type"
    row_types_kept: tuple[str, ...] = ()  # the row types that are data rows
    carrier: str | None = None  # a carrier's own export names no carrier: this is it

    @cached_property
    def _wanted(self) -> dict[str, tuple[str, int]]:
        """Normalized alias → (field, rank); built once (the header scan asks ~100 times)."""
        return {
            normalize_header(alias): (field, rank)
            for field, names in self.aliases.items()
            for rank, alias in reversed(list(enumerate(names)))  # first alias wins a clash
        }

    @cached_property
    def ignored_keys(self) -> frozenset[str]:
        """The `ignore` headers, normalized."""
        return frozenset(normalize_header(name) for name in self.ignore)

    def detected(self, header: Sequence[str]) -> bool:
        """Whether every `[detect]` header is present (False for a profile without any)."""
        if not self.detect:
            return False
        present = {loose_header(h) for h in header}
        return all(loose_header(name) in present for name in self.detect)

    def match(self, header: Sequence[str]) -> ColumnMap:
        """Map each field to the header columns its aliases name, in the profile's order.

        A field may have several columns (Amazon's carrier-name and carrier-code): the
        first alias listed is preferred, and a row whose preferred cell is blank falls
        back to the next.
        """
        wanted = self._wanted
        found: dict[str, list[tuple[int, int]]] = {}
        shipment_custom: list[tuple[str, int]] = []
        item_custom: list[tuple[str, int]] = []
        for index, raw in enumerate(header):
            custom = CUSTOM_HEADER.match(raw)
            if custom and custom.group(2).strip():
                kind = normalize_header(custom.group(1))
                target = item_custom if kind == ITEM_CUSTOM_PREFIX else shipment_custom
                target.append((custom.group(2), index))
                continue
            match = wanted.get(normalize_header(raw))
            if match is not None:
                found.setdefault(match[0], []).append((match[1], index))
        columns = {field: tuple(i for _, i in sorted(hits)) for field, hits in found.items()}
        fields = {field: indexes[0] for field, indexes in columns.items()}
        how = dict.fromkeys(fields, f"profile {self.name}")
        return ColumnMap(
            self,
            tuple(header),
            fields,
            tuple(shipment_custom),
            tuple(item_custom),
            columns,
            how=how,
        )


GENERIC = Profile("generic", "no named format: columns recognised by their words", {})


@dataclass(frozen=True)
class ColumnMap:
    """Where each field sits in one table's header, and why."""

    profile: Profile
    header: tuple[str, ...]
    fields: dict[str, int]
    shipment_custom: tuple[tuple[str, int], ...]
    item_custom: tuple[tuple[str, int], ...]
    # Every column of each field, preferred first (`fields` holds the preferred one).
    columns: dict[str, tuple[int, ...]] = dataclasses.field(default_factory=dict)
    # Per field: "profile NAME", "exact", "alias", "words" or "--map".
    how: dict[str, str] = dataclasses.field(default_factory=dict)
    # Headers mapped to nothing (non-blank ones), in file order.
    ignored: tuple[str, ...] = ()

    @property
    def format_name(self) -> str:
        """The profile whose format this is, or `generic` when only word matching applied."""
        return self.profile.name

    @property
    def recognised(self) -> int:
        """How many columns this profile understands: the detection score."""
        return len(self.fields) + len(self.shipment_custom) + len(self.item_custom)

    @property
    def ignored_indexes(self) -> frozenset[int]:
        """Columns mapped to nothing (what a non-data row may alone fill)."""
        taken = {i for cols in self.columns.values() for i in cols} | set(self.fields.values())
        taken |= {i for _, i in self.shipment_custom} | {i for _, i in self.item_custom}
        return frozenset(i for i in range(len(self.header)) if i not in taken)

    def missing(self) -> list[str]:
        """The required fields that have no column, as clerk-facing names (empty when usable).

        Only the tracking number and a PO identity are required: a row without item
        columns ships the whole PO.
        """
        missing = []
        if "tracking_number" not in self.fields:
            missing.append(FIELD_LABELS["tracking_number"])
        if "po_number" not in self.fields and "fulfillment_request_id" not in self.fields:
            missing.append(
                f"{FIELD_LABELS['po_number']} or {FIELD_LABELS['fulfillment_request_id']}"
            )
        return missing


def _text(data: Mapping[str, Any], key: str, path: Path) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        msg = f"profile {path}: {key} must be text"
        raise ConfigError(msg)
    return value


def _names(data: Mapping[str, Any], key: str, path: Path) -> tuple[str, ...]:
    value = data.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(n, str) and n.strip() for n in value):
        msg = f"profile {path}: {key} must be a header name or a list of header names"
        raise ConfigError(msg)
    return tuple(value)


def _table(data: Mapping[str, Any], key: str, path: Path) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        msg = f"profile {path}: [{key}] must be a table"
        raise ConfigError(msg)
    return value


def load_profile(path: Path) -> Profile:
    """Read one profile file; an unknown field or a malformed file is a ConfigError naming it."""
    data = read_toml(path, f"profile {path}")
    columns = data.get("columns")
    if not isinstance(columns, dict) or not columns:
        msg = f"profile {path}: needs a [columns] table mapping fields to header names"
        raise ConfigError(msg)
    aliases: dict[str, tuple[str, ...]] = {}
    for field, names in columns.items():
        if field not in FIELD_LABELS:
            known = ", ".join(FIELD_LABELS)
            msg = f"profile {path}: unknown column field {field!r}; known fields: {known}"
            raise ConfigError(msg)
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            msg = f"profile {path}: {field} must be a header name or a list of header names"
            raise ConfigError(msg)
        if not all(normalize_header(n) for n in names):
            msg = f"profile {path}: {field} has a header name with no letters or digits"
            raise ConfigError(msg)
        aliases[field] = tuple(names)
    name = data.get("name", path.stem)
    description = data.get("description", "")
    if not isinstance(name, str) or not isinstance(description, str):
        msg = f"profile {path}: name and description must be text"
        raise ConfigError(msg)
    date_order = _text(data, "date_order", path)
    if date_order is not None and date_order not in DATE_ORDERS:
        msg = f"profile {path}: date_order must be one of {', '.join(DATE_ORDERS)}"
        raise ConfigError(msg)
    detect = _names(_table(data, "detect", path), "headers", path)
    refuse = _text(data, "refuse", path)
    if refuse is not None and not detect:
        msg = f"profile {path}: refuse needs [detect] headers naming the format it refuses"
        raise ConfigError(msg)
    rows = _table(data, "rows", path)
    type_column = _text(rows, "type_column", path)
    kept = _names(rows, "keep", path)
    if type_column is not None and not kept:
        msg = f"profile {path}: [rows] type_column needs keep = [row types that are data]"
        raise ConfigError(msg)
    return Profile(
        name,
        description,
        aliases,
        path,
        source=_text(data, "source", path) or "",
        date_order=date_order,
        detect=detect,
        refuse=refuse,
        ignore=_names(data, "ignore", path),
        row_type_column=type_column,
        row_types_kept=kept,
        carrier=_text(data, "carrier", path),
    )


@cache
def _bundled() -> tuple[Profile, ...]:
    paths = sorted((templates_dir() / "profiles").glob("*.toml"))
    profiles = [load_profile(p) for p in paths]
    return tuple(sorted(profiles, key=lambda p: (p.name != CANONICAL, p.name)))


def bundled_profiles() -> list[Profile]:
    """Every profile shipped in templates/profiles, canonical first."""
    return list(_bundled())


def user_profiles_dir() -> Path:
    """Where `profiles new` writes the user's own profiles (the per-user config folder)."""
    return user_config_dir() / "profiles"


def available_profiles() -> list[Profile]:
    """The bundled profiles, then the user's own (`profiles new`), which detection also tries."""
    folder = user_profiles_dir()
    own = [load_profile(p) for p in sorted(folder.glob("*.toml"))] if folder.is_dir() else []
    return [*_bundled(), *own]


PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def save_user_profile(name: str, source_file: str, columns: ColumnMap) -> Path:
    """Write a user profile for this header and mapping; the next run of it is detected.

    Its `[detect]` headers are every mapped header, so it names only this export's layout.
    """
    if not PROFILE_NAME.match(name):
        msg = f"profile name {name!r}: use letters, digits, - and _ (e.g. acme-warehouse)"
        raise ConfigError(msg)
    if any(p.name == name for p in available_profiles()):
        msg = f"a profile named {name!r} exists already: choose another name"
        raise ConfigError(msg)
    mapped = {field: columns.header[index] for field, index in columns.fields.items()}
    lines = [
        f"# Written by `batch-uploader profiles new {name} --from {source_file}`.",
        f"name = {_toml(name)}",
        f"description = {_toml(f'the layout of {source_file}')}",
        f"source = {_toml(f'the header row of {source_file}, mapped by its user')}",
    ]
    if columns.profile.date_order:
        lines.append(f"date_order = {_toml(columns.profile.date_order)}")
    lines += ["", "[detect]", f"headers = [{', '.join(_toml(h) for h in mapped.values())}]"]
    lines += ["", "[columns]", *(f"{field} = [{_toml(h)}]" for field, h in mapped.items())]
    folder = user_profiles_dir()
    path = folder / f"{name}.toml"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        msg = f"cannot write the profile {path}: {exc.strerror or exc}"
        raise ConfigError(msg) from exc
    load_profile(path)  # what we wrote must read back
    return path


def _toml(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def canonical_aliases() -> dict[str, tuple[str, ...]]:
    """The canonical profile's names: the alias layer of word matching."""
    for profile in _bundled():
        if profile.name == CANONICAL:
            return profile.aliases
    return {}


def resolve_profile(name_or_path: str) -> Profile:
    """`--profile NAME|FILE`: a bundled profile's name, or a path to the user's own TOML file."""
    for profile in available_profiles():
        if profile.name == name_or_path:
            return profile
    path = Path(name_or_path)
    if path.suffix.lower() == ".toml" or path.exists():
        if not path.is_file():
            msg = f"profile file {path} does not exist"
            raise ConfigError(msg)
        return load_profile(path)
    names = ", ".join(p.name for p in available_profiles())
    msg = f"unknown profile {name_or_path!r}; choose one of: {names}, or give a .toml file"
    raise ConfigError(msg)
