"""Column-mapping profiles: which header names mean which shipment field.

A profile is a TOML file (`templates/profiles/*.toml`, or the user's own). The profile for a
file is detected from its header row: the one that recognises the most columns wins, and a
tie is refused rather than guessed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from batch_uploader.errors import ConfigError, InputError
from batch_uploader.paths import templates_dir
from batch_uploader.tomlfile import read_toml

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
}
ITEM_ID_FIELDS = ("sku", "purchase_order_item_id", "order_item_id")  # what the API accepts
SHIPMENT_CUSTOM_PREFIX = "custom"
ITEM_CUSTOM_PREFIX = "itemcustom"
_CUSTOM_HEADER = re.compile(r"^\s*(item\s*custom|custom)\s*:\s*(.+?)\s*$", re.IGNORECASE)
_NOT_ALNUM = re.compile(r"[\W_]+")  # keeps letters of every script


def normalize_header(name: str) -> str:
    """`PO #` → `po`, `Tracking No.` → `trackingno`: case, space and punctuation do not matter."""
    return _NOT_ALNUM.sub("", name.casefold())


@dataclass(frozen=True)
class Profile:
    """A named mapping from header names to fields."""

    name: str
    description: str
    aliases: dict[str, tuple[str, ...]]  # field -> header names as written in the profile
    path: Path | None = None

    @cached_property
    def _wanted(self) -> dict[str, tuple[str, int]]:
        """Normalized alias → (field, rank); built once (the header scan asks ~100 times)."""
        return {
            normalize_header(alias): (field, rank)
            for field, names in self.aliases.items()
            for rank, alias in reversed(list(enumerate(names)))  # first alias wins a clash
        }

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
            custom = _CUSTOM_HEADER.match(raw)
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
        return ColumnMap(
            self, tuple(header), fields, tuple(shipment_custom), tuple(item_custom), columns
        )


@dataclass(frozen=True)
class ColumnMap:
    """Where each field sits in one table's header, under one profile."""

    profile: Profile
    header: tuple[str, ...]
    fields: dict[str, int]
    shipment_custom: tuple[tuple[str, int], ...]
    item_custom: tuple[tuple[str, int], ...]
    # Every column of each field, preferred first (`fields` holds the preferred one).
    columns: dict[str, tuple[int, ...]] = dataclasses.field(default_factory=dict)

    @property
    def recognised(self) -> int:
        """How many columns this profile understands: the detection score."""
        return len(self.fields) + len(self.shipment_custom) + len(self.item_custom)

    def missing(self) -> list[str]:
        """The required columns that are absent, as clerk-facing names (empty when usable)."""
        missing = []
        if "tracking_number" not in self.fields:
            missing.append(self._names("tracking_number"))
        if "quantity" not in self.fields:
            missing.append(self._names("quantity"))
        if "po_number" not in self.fields and "fulfillment_request_id" not in self.fields:
            missing.append(f"{self._names('po_number')} or {self._names('fulfillment_request_id')}")
        if not any(field in self.fields for field in ITEM_ID_FIELDS):
            missing.append(" or ".join(self._names(f) for f in ITEM_ID_FIELDS))
        return missing

    def _names(self, field: str) -> str:
        aliases = self.profile.aliases.get(field)
        return f'"{aliases[0]}"' if aliases else f'"{FIELD_LABELS[field]}"'


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
    return Profile(name, description, aliases, path)


def bundled_profiles() -> list[Profile]:
    """Every profile shipped in templates/profiles, canonical first."""
    paths = sorted((templates_dir() / "profiles").glob("*.toml"))
    profiles = [load_profile(p) for p in paths]
    return sorted(profiles, key=lambda p: (p.name != "canonical", p.name))


def resolve_profile(name_or_path: str) -> Profile:
    """`--profile NAME|FILE`: a bundled profile's name, or a path to the user's own TOML file."""
    for profile in bundled_profiles():
        if profile.name == name_or_path:
            return profile
    path = Path(name_or_path)
    if path.suffix.lower() == ".toml" or path.exists():
        if not path.is_file():
            msg = f"profile file {path} does not exist"
            raise ConfigError(msg)
        return load_profile(path)
    names = ", ".join(p.name for p in bundled_profiles())
    msg = f"unknown profile {name_or_path!r}; choose one of: {names}, or give a .toml file"
    raise ConfigError(msg)


def header_score(profiles: Sequence[Profile]) -> Callable[[Sequence[str]], float]:
    """How header-like a row is: the most columns any profile recognises in it."""

    def score(row: Sequence[str]) -> float:
        return float(max((p.match(row).recognised for p in profiles), default=0))

    return score


def choose_columns(
    header: Sequence[str], label: str, profiles: Sequence[Profile], forced: bool
) -> ColumnMap:
    """Pick the profile for a header row, or explain exactly why none fits.

    With one forced profile (`--profile`), its required columns must be present. Otherwise the
    usable profile recognising the most columns wins; a tie is refused, never guessed.
    """
    found = ", ".join(f'"{h}"' for h in header)
    maps = [p.match(header) for p in profiles]
    usable = [m for m in maps if not m.missing()]
    if forced or not usable:
        best = maps[0] if forced else max(maps, key=lambda m: m.recognised)
        if forced and not best.missing():
            return best
        missing = "; ".join(best.missing())
        hint = "" if forced else " Use --profile NAME|FILE if this export has other column names."
        msg = (
            f"{label}: required column missing: {missing} "
            f"(profile {best.profile.name}; columns found: {found}).{hint}"
        )
        raise InputError(msg)
    top = max(m.recognised for m in usable)
    winners = [m for m in usable if m.recognised == top]
    if len(winners) > 1:
        names = ", ".join(m.profile.name for m in winners)
        msg = (
            f"{label}: the header matches several profiles equally ({names}); "
            f"choose one with --profile NAME"
        )
        raise InputError(msg)
    return winners[0]
