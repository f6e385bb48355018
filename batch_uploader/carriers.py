"""Carrier cells as shipping software writes them → the names Flxpoint's channels know.

ShipStation exports `stamps_com` or `ups_walleted`, marketplaces `United Parcel Service` or
`FedEx SmartPost`; a channel that Flxpoint forwards the shipment to knows `USPS`, `UPS`,
`FedEx`. The table (`templates/carriers.toml`, extended by the user's own `carriers.toml`)
maps the first to the second, and splits a service written into the carrier cell
(`UPS Ground`, `usps_priority_mail`) into carrier and method when the method is empty.

Guarantees: a carrier the table does not know is sent exactly as written; matching ignores
case, spaces, `_`, `-` and `.`; a method the user filled in is never replaced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batch_uploader.errors import ConfigError
from batch_uploader.paths import CONFIG_DIR_ENV, templates_dir, user_config_dir
from batch_uploader.tomlfile import read_toml

CARRIERS_FILE = "carriers.toml"
__all__ = ["CONFIG_DIR_ENV", "CarrierTable", "SentCarrier", "user_config_dir"]
MIN_PREFIX_LETTERS = 3
"""Aliases shorter than this (`LS`, `RM`) match a whole cell only, never its start."""
RESOLVE_CACHE_SIZE = 65_536
"""Distinct (carrier, method) pairs remembered; a file names a handful, a million times."""
_IGNORED = frozenset(" _-.\t\u00a0®™")
_ENTRY_KEYS = frozenset({"aliases", "services", "service_aliases"})


@dataclass(frozen=True)
class SentCarrier:
    """The carrier and method to send, and whether either differs from the row's cells."""

    carrier: str | None
    method: str | None
    changed: bool


def squash(text: str) -> str:
    """The spelling key: `U.S. Postal-Service` and `us_postal_service` → `uspostalservice`."""
    return "".join(ch for ch in text.casefold() if ch not in _IGNORED and not ch.isspace())


@dataclass(frozen=True, eq=False)
class CarrierTable:
    """Spellings → carrier names, and each carrier's services (see `templates/carriers.toml`).

    `names` maps a squashed alias to the carrier sent; `services` maps a carrier to its
    squashed service spellings and the method sent; `service_aliases` maps a squashed whole
    cell to (carrier, method).
    """

    names: Mapping[str, str]
    services: Mapping[str, Mapping[str, str]]
    service_aliases: Mapping[str, tuple[str, str]]
    _prefixes: tuple[str, ...] = field(init=False, repr=False)
    _cache: dict[tuple[str | None, str | None], SentCarrier] = field(
        init=False, repr=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        # Longest first, so `dhl_ecommerce_parcel_ground` is DHL eCommerce, not a `dhl…`.
        prefixes = sorted(
            (alias for alias in self.names if len(alias) >= MIN_PREFIX_LETTERS),
            key=len,
            reverse=True,
        )
        object.__setattr__(self, "_prefixes", tuple(prefixes))

    @classmethod
    def load(cls, extra: Path | None = None) -> CarrierTable:
        """The bundled table, then the user's `carriers.toml` if there is one, then `extra`.

        A later file's entry for the same spelling wins. A file that cannot be read or does
        not have the table's shape is a ConfigError naming it.
        """
        files = [templates_dir() / CARRIERS_FILE]
        user_file = user_config_dir() / CARRIERS_FILE
        if user_file.is_file():
            files.append(user_file)
        if extra is not None:
            files.append(extra)
        tables: list[tuple[str, Mapping[str, Any]]] = []
        for path in files:
            tables.extend(_entries(path))
        return cls.from_entries(tables)

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[str, Mapping[str, Any]]]) -> CarrierTable:
        """A table from (carrier, entry) pairs already checked; later pairs win."""
        names: dict[str, str] = {}
        services: dict[str, dict[str, str]] = {}
        service_aliases: dict[str, tuple[str, str]] = {}
        for carrier, entry in entries:
            names[squash(carrier)] = carrier
            for alias in entry.get("aliases", ()):
                names[squash(alias)] = carrier
                service_aliases.pop(squash(alias), None)
            own = services.setdefault(carrier, {})
            for spelling, method in entry.get("services", {}).items():
                own[squash(spelling)] = method
            for spelling, method in entry.get("service_aliases", {}).items():
                service_aliases[squash(spelling)] = (carrier, method)
                names.pop(squash(spelling), None)
        return cls(names, services, service_aliases)

    def resolve(self, carrier: str | None, method: str | None) -> SentCarrier:
        """The carrier (and method) to send for one row's Carrier and Method cells.

        A known spelling becomes its carrier name; a service after a known carrier's name
        (`UPS Ground`, `fedex_2day`) becomes the method if the Method cell is empty; an
        unknown carrier is returned as it is, unchanged.
        """
        key = (carrier, method)
        known = self._cache.get(key)
        if known is None:
            known = self._resolve(carrier, method)
            if len(self._cache) < RESOLVE_CACHE_SIZE:
                self._cache[key] = known
        return known

    def _resolve(self, carrier: str | None, method: str | None) -> SentCarrier:
        if not carrier or not carrier.strip():
            return SentCarrier(carrier, method, False)
        text = carrier.strip()
        squashed = squash(text)
        if squashed in self.service_aliases:
            name, service = self.service_aliases[squashed]
            return _sent(carrier, method, name, method or service)
        if squashed in self.names:
            return _sent(carrier, method, self.names[squashed], method)
        split = self._split(text, squashed)
        if split is None:
            return SentCarrier(carrier, method, False)
        name, rest = split
        if method:
            return _sent(carrier, method, name, method)
        service = self.services.get(name, {}).get(squash(rest)) or _service_text(rest)
        return _sent(carrier, method, name, service)

    def _split(self, text: str, squashed: str) -> tuple[str, str] | None:
        """(carrier, the rest as written) when the cell starts with a carrier's name + a gap."""
        for prefix in self._prefixes:
            if not squashed.startswith(prefix):
                continue
            rest = _after(text, len(prefix))
            if rest and (rest[0] in _IGNORED or rest[0].isspace()):
                service = rest.strip("".join(_IGNORED)).strip()
                if service:
                    return self.names[prefix], service
        return None


def _sent(carrier: str, method: str | None, name: str, service: str | None) -> SentCarrier:
    return SentCarrier(name, service, (name, service) != (carrier, method))


def _after(text: str, letters: int) -> str:
    """`text` after its first `letters` significant characters (those `squash` keeps)."""
    seen = 0
    for index, ch in enumerate(text):
        if ch in _IGNORED or ch.isspace():
            continue
        seen += 1
        if seen == letters:
            return text[index + 1 :]
    return ""


def _service_text(rest: str) -> str:
    """A service not in the table: a code (`next_day_air`) reads `Next Day Air`; text stays."""
    if " " in rest or not ("_" in rest or rest.islower()):
        return rest
    words = rest.replace("-", "_").split("_")
    return " ".join(w.capitalize() if w[:1].isalpha() else w for w in words if w)


def _entries(path: Path) -> list[tuple[str, Mapping[str, Any]]]:
    """The carrier entries of one file, checked; a wrong shape is a ConfigError naming it."""
    what = f"carriers file {path}"
    data = read_toml(path, what)
    entries: list[tuple[str, Mapping[str, Any]]] = []
    for carrier, entry in data.items():
        problem = _entry_problem(entry)
        if problem:
            msg = (
                f'{what}: [{carrier}] {problem} (expected aliases = ["..."], and optional '
                f'[{carrier}.services] / [{carrier}.service_aliases] tables of "text" = '
                '"method")'
            )
            raise ConfigError(msg)
        entries.append((carrier, entry))
    return entries


def _entry_problem(entry: object) -> str | None:
    if not isinstance(entry, dict):
        return "is not a table"
    unknown = sorted(set(entry) - _ENTRY_KEYS)
    if unknown:
        return f"has unknown keys: {', '.join(unknown)}"
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        return "aliases must be a list of non-empty texts"
    for key in ("services", "service_aliases"):
        table = entry.get(key, {})
        if not isinstance(table, dict) or not all(
            isinstance(v, str) and v and k for k, v in table.items()
        ):
            return f"{key} must map texts to non-empty method names"
    return None
