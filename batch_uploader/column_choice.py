"""Which column of a header row holds which field: profiles first, then the header's words.

`choose_columns` is the one place that decides a table's mapping (and refuses, in one line,
a file that cannot be used); `header_score` tells the reader which of the top rows is the
header. Profiles themselves (what a format calls its columns) live in profiles.py; the
words of headers in headers.py.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence

from batch_uploader.errors import ConfigError, InputError
from batch_uploader.headers import Candidate, HeaderTie, best_columns, normalize_header, words
from batch_uploader.headers import recognised_fields as _word_fields
from batch_uploader.profiles import (
    CANONICAL,
    CUSTOM_HEADER,
    FIELD_LABELS,
    GENERIC,
    ColumnMap,
    Profile,
    canonical_aliases,
    loose_header,
)

MAX_SUGGESTIONS = 3
SUGGESTION_CUTOFF = 0.6
"""How alike (difflib ratio) a header must be to a missing field's names to be suggested."""

SPELLING_BONUS = 0.4
"""Added (times the share of cells) when a profile's columns are spelled exactly as it writes
them: Amazon's template has a label row ("Order ID") above the real header ("order-id")."""
WORD_FIELD_WEIGHT = 0.01
"""Per field named by words: breaks ties and finds headers no profile knows (< 1 in all)."""


def header_score(profiles: Sequence[Profile]) -> Callable[[Sequence[str]], float]:
    """How header-like a row is.

    The integer part is the most columns any profile recognises in it; the fraction prefers
    a row spelled exactly as that profile writes its headers, then rows whose words name
    more fields (a generic header no profile knows still scores above a title line).
    Each cell is normalized once per row, not once per profile: the scan reads up to 20
    rows of up to ~100 columns against every profile.
    """
    prepared = [
        (p._wanted, {loose_header(a) for names in p.aliases.values() for a in names})
        for p in profiles
    ]

    def score(row: Sequence[str]) -> float:
        keys = [normalize_header(cell) for cell in row]
        custom = sum(1 for cell in row if ":" in cell and _is_custom(cell))
        best = float(custom)
        for wanted, spelled in prepared:
            found: dict[str, str] = {}
            for cell, key in zip(row, keys, strict=True):
                hit = wanted.get(key)
                if hit is not None and hit[0] not in found:
                    found[hit[0]] = cell
            if not found:
                continue
            exact = sum(1 for cell in found.values() if loose_header(cell) in spelled)
            value = len(found) + custom + SPELLING_BONUS * exact / len(found)
            best = max(best, value)
        return best + WORD_FIELD_WEIGHT * _word_fields(row)

    return score


def _is_custom(cell: str) -> bool:
    custom = CUSTOM_HEADER.match(cell)
    return bool(custom and custom.group(2).strip())


def _pick_profile(
    header: Sequence[str], label: str, profiles: Sequence[Profile], forced: bool
) -> ColumnMap | None:
    """The profile that applies to this header, or None (then only word matching applies)."""
    if forced:
        return profiles[0].match(header) if profiles else None
    named = [p.match(header) for p in profiles if p.detected(header)]
    plain = [p.match(header) for p in profiles if not p.detect]
    for group in (named, [m for m in plain if not m.missing()]):
        if not group:
            continue
        top = max(m.recognised for m in group)
        winners = [m for m in group if m.recognised == top]
        if len(winners) > 1:
            names = ", ".join(m.profile.name for m in winners)
            msg = (
                f"{label}: the header matches several profiles equally ({names}); "
                f"choose one with --profile NAME"
            )
            raise InputError(msg)
        return winners[0]
    return None


def _overrides(header: Sequence[str], overrides: Mapping[str, str]) -> dict[str, tuple[int, str]]:
    """`--map FIELD=HEADER` → field: (column, header); a wrong field or header is ConfigError."""
    out: dict[str, tuple[int, str]] = {}
    for field, wanted in overrides.items():
        if field not in FIELD_LABELS:
            msg = f"--map {field}={wanted}: unknown field {field!r}; choose one of: " + ", ".join(
                FIELD_LABELS
            )
            raise ConfigError(msg)
        exact = [i for i, h in enumerate(header) if h.strip() == wanted.strip()]
        loose = [i for i, h in enumerate(header) if normalize_header(h) == normalize_header(wanted)]
        found = exact or loose
        if not found or not normalize_header(wanted):
            columns = ", ".join(f'"{h}"' for h in header if h.strip())
            msg = (
                f'--map {field}={wanted}: the file has no column "{wanted}"; its columns: {columns}'
            )
            raise ConfigError(msg)
        out[field] = (found[0], header[found[0]])
    return out


def _suggestions(header: Sequence[str], taken: set[int], targets: Sequence[str]) -> list[str]:
    """The file's free headers closest to the names of a missing field (closest first)."""
    wanted = [normalize_header(t) for t in targets if normalize_header(t)]
    target_words = {w for t in targets for w in words(t)} - {"number", "id", "or"}
    scored: list[tuple[float, int, str]] = []
    for index, raw in enumerate(header):
        key = normalize_header(raw)
        if index in taken or not key:
            continue
        ratio = max(difflib.SequenceMatcher(None, key, w).ratio() for w in wanted)
        if target_words & set(words(raw)):
            ratio = max(ratio, SUGGESTION_CUTOFF + 0.01)
        if ratio >= SUGGESTION_CUTOFF:
            scored.append((-ratio, index, raw))
    return [raw for _, _, raw in sorted(scored)[:MAX_SUGGESTIONS]]


_REQUIRED_TARGETS = {
    FIELD_LABELS["tracking_number"]: ("tracking_number",),
    f"{FIELD_LABELS['po_number']} or {FIELD_LABELS['fulfillment_request_id']}": (
        "po_number",
        "fulfillment_request_id",
    ),
}


def _refusal(label: str, chosen: ColumnMap) -> str:
    """One line naming only the missing fields, each with the file's closest headers."""
    taken = set(chosen.fields.values()) | {i for cols in chosen.columns.values() for i in cols}
    aliases = canonical_aliases()
    parts = []
    names = []
    for missing in chosen.missing():
        fields = _REQUIRED_TARGETS[missing]
        names.append(fields[0])
        targets = [n for f in fields for n in (FIELD_LABELS[f], *aliases.get(f, ()))]
        targets += [n for f in fields for n in chosen.profile.aliases.get(f, ())]
        close = _suggestions(chosen.header, taken, targets)
        hint = " or ".join(f'"{h}"' for h in close)
        parts.append(f"{missing} (did you mean {hint}?)" if close else missing)
    maps = " and ".join(f"--map {name}=HEADER" for name in names)
    return f"{label}: required column missing: {'; '.join(parts)}. Name it with {maps}."


def choose_columns(
    header: Sequence[str],
    label: str,
    profiles: Sequence[Profile],
    forced: bool,
    overrides: Mapping[str, str] | None = None,
) -> ColumnMap:
    """Map the header's columns to fields, or explain in one line why the file cannot be used.

    `--map` overrides win over everything; then the profile that applies (the forced one,
    with `--profile`); every field still unmapped is looked up by the header's meaning
    (exact name > canonical alias > word match). A format that carries no tracking numbers
    is refused with its profile's message; a tie between two headers for one field, or
    between two profiles, is refused rather than guessed.
    """
    mapped = _overrides(header, overrides or {})
    chosen = _pick_profile(header, label, profiles, forced)
    if chosen is not None and chosen.profile.refuse and "tracking_number" not in mapped:
        msg = f"{label}: {chosen.profile.refuse}"
        raise InputError(msg)
    base = chosen if chosen is not None else GENERIC.match(header)
    columns, how = _profile_columns(header, base, mapped)
    taken = {i for cols in columns.values() for i in cols}
    taken |= {i for _, i in base.shipment_custom} | {i for _, i in base.item_custom}
    used = set(taken)
    taken |= {i for i, h in enumerate(header) if normalize_header(h) in base.profile.ignored_keys}
    for field, candidate in _by_words(header, label, columns, taken).items():
        columns[field] = (candidate.index,)
        how[field] = candidate.how
        used.add(candidate.index)
    ordered = [f for f in FIELD_LABELS if f in columns]
    result = ColumnMap(
        base.profile,
        tuple(header),
        {f: columns[f][0] for f in ordered},
        base.shipment_custom,
        base.item_custom,
        {f: columns[f] for f in ordered},
        how={f: how[f] for f in ordered},
        ignored=tuple(h for i, h in enumerate(header) if i not in used and h.strip()),
    )
    if result.missing():
        raise InputError(_refusal(label, result))
    return result


def _profile_columns(
    header: Sequence[str], base: ColumnMap, mapped: Mapping[str, tuple[int, str]]
) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """The profile's columns per field (and how each was found), with `--map` on top."""
    columns = dict(base.columns)
    how = dict(base.how)
    if base.profile.name == CANONICAL:  # the contract's own names: say which kind it was
        canonical = {normalize_header(n) for n in FIELD_LABELS.values()}
        for field, indexes in columns.items():
            exact = normalize_header(header[indexes[0]]) in canonical
            how[field] = "exact" if exact else "alias"
    for field, (index, _) in mapped.items():
        for other in list(columns):  # a column --map gives one field is no other field's
            kept = tuple(i for i in columns[other] if i != index)
            if kept:
                columns[other] = kept
            else:
                del columns[other], how[other]
        columns[field] = (index,)
        how[field] = "--map"
    return columns, how


def _by_words(
    header: Sequence[str],
    label: str,
    columns: Mapping[str, tuple[int, ...]],
    taken: set[int],
) -> dict[str, Candidate]:
    """Fields the profile left unmapped, found by their names and words in the free columns."""
    unmapped = [f for f in FIELD_LABELS if f not in columns]
    try:
        return best_columns(
            header,
            fields=unmapped,
            skip=taken,
            exact={f: FIELD_LABELS[f] for f in unmapped},
            aliases=canonical_aliases(),
        )
    except HeaderTie as tie:
        first, second = tie.headers
        msg = (
            f'{label}: two columns could be the {FIELD_LABELS[tie.field]}: "{first}" and '
            f'"{second}"; choose one with --map {tie.field}=HEADER'
        )
        raise InputError(msg) from None
