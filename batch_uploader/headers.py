"""Which header means which field, by the words it uses.

A header is split into words whatever its style (`order_id`, `OrderId`, `order-id`,
`ORDER #`, `Lineitem sku`, `Shipment - Tracking Number`), common spellings are folded
(`qty` → quantity, `#`/`no`/`num` → number, `purchase order`/`P.O.` → po), and each field's
rule says whether the words name it and how well (a score; higher is better).

The precedence rule, in one sentence: an exact field name beats an alias, an alias beats a
word match, and among word matches the higher score wins (e.g. a "shipped" quantity over a
plain one over an "ordered" one); two different headers left equal for one field are a tie,
which the caller refuses rather than guesses.

Guarantees: pure (no I/O), and each distinct header text is analysed once (cached), so
scoring the first rows of a file for its header stays in the microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from batch_uploader import header_words as hw

__all__ = [
    "EXACT",
    "RANK_NAMES",
    "Candidate",
    "HeaderTie",
    "best_columns",
    "field_scores",
    "normalize_header",
    "recognised_fields",
    "words",
]

_NOT_ALNUM = re.compile(r"[\W_]+")  # keeps letters of every script
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_TOKEN = re.compile(r"#|[^\W_]+")
LONGEST_HEADER_CHARS = 80
"""Longer cells are text, not headers: they are never analysed (keeps the scan cheap)."""

COMPOUND_MIN_CHARS = 5
"""Shorter words are never split into known words (`poid` stays one word)."""

EXACT = 0
ALIAS = 1
WORDS = 2
RANK_NAMES = {EXACT: "exact", ALIAS: "alias", WORDS: "words"}


def normalize_header(name: str) -> str:
    """`PO #` → `po`, `Tracking No.` → `trackingno`: case, space and punctuation do not matter."""
    return _NOT_ALNUM.sub("", name.casefold())


def _split_compound(token: str) -> list[str] | None:
    """`trackingnumber` → [tracking, number]; None when it is not made of known words."""
    if token in hw.VOCABULARY:
        return [token]
    for word in hw.VOCABULARY:
        if token.startswith(word) and len(token) > len(word):
            rest = _split_compound(token[len(word) :])
            if rest is not None:
                return [word, *rest]
    return None


@lru_cache(maxsize=8192)
def words(header: str) -> tuple[str, ...]:
    """The header's words, folded: `Qty_Shipped` → (quantity, shipped); `P.O. #` → (po, number)."""
    spaced = _CAMEL.sub(" ", header)
    raw = _TOKEN.findall(spaced.casefold())
    out: list[str] = []
    for token in raw:
        parts = _split_compound(token) if len(token) > COMPOUND_MIN_CHARS else None
        for part in parts or [token]:
            out.append(hw.SYNONYMS.get(part, part))
    folded: list[str] = []
    index = 0
    while index < len(out):  # two-word spellings of one meaning
        pair = tuple(out[index : index + 2])
        if pair in (("purchase", "order"), ("p", "o")):
            folded.append("po")
            index += 2
        elif pair == ("line", "item"):
            folded.append("item")
            index += 2
        else:
            folded.append(out[index])
            index += 1
    return tuple(folded)


def _scores(tokens: tuple[str, ...]) -> dict[str, int]:
    """Each field these words could name, with how well (higher is better)."""
    t = frozenset(tokens)
    out: dict[str, int] = {}
    for rule in (_tracking, _carrier, _shipment, _item, _identities):
        rule(t, out)
    return out


def _tracking(t: frozenset[str], out: dict[str, int]) -> None:
    """Tracking number, its URL, and the master/lead number of a multi-package shipment."""
    tracking = "tracking" in t or bool(t & {"waybill", "awb", "airbill"})
    if tracking and t & hw.URL:
        out["tracking_url"] = 6
    elif tracking and t & hw.MASTER:
        out["master_tracking_number"] = 6
    elif tracking and "return" not in t and "returned" not in t:
        carrier_only = "carrier" in t and not t & hw.NUMBER
        other = {"company", "provider", "status", "event", "date", "time", "type", "service"}
        if not carrier_only and not t & other and not t & {"email", "sent", "notification"}:
            out["tracking_number"] = 6 if t & hw.NUMBER else 5


def _carrier(t: frozenset[str], out: dict[str, int]) -> None:
    """The carrier: its name or code, never an account or phone number."""
    if "carrier" in t and not t & {"number", "id", "url", "link", "account", "phone"}:
        out["carrier"] = 5 if "code" in t else 6
    elif (
        t & {"company", "provider"}
        and t & (hw.SHIP | {"tracking", "logistics", "delivery"})
        and not t & {"number", "id", "url", "link", "to", "from", "recipient", "customer"}
    ):
        out["carrier"] = 5


def _shipment(t: frozenset[str], out: dict[str, int]) -> None:
    """Method, ship date, shipping cost, note, suppressed, void."""
    if not t & {"payment", "confirmation", "customer", "date", "cost", "fee", "price", "charge"}:
        if "method" in t:
            out["method"] = 6
        elif ("service" in t and "provider" not in t) or ("via" in t and t & hw.SHIP):
            out["method"] = 5
        elif t & {"option", "class"} and t & (hw.SHIP | {"delivery", "mail"}):
            out["method"] = 3
    if t & (hw.SHIP | hw.SHIPPED) and t & hw.WHEN and not t & hw.NOT_SHIP_DATE:
        out["shipped_at"] = 6 if t & hw.SHIPPED else 5
    cost = t & {"cost", "costs", "charge", "charges", "freight", "postage"}
    if cost and not t & hw.NOT_COST and t & (hw.SHIP | {"label", "carrier", "freight", "postage"}):
        out["shipping_cost"] = 6 if t & {"cost", "costs"} else 5
    if "note" in t and not t & hw.NOT_NOTE:
        out["note"] = 6 if t & hw.SHIP else 5
    if t & {"suppress", "suppressed"}:
        out["suppressed"] = 6
    if t & {"void", "voided"} and not t & {"date", "time", "reason", "by"}:
        out["void"] = 6


def _item(t: frozenset[str], out: dict[str, int]) -> None:
    """SKU and quantity: a "shipped" quantity beats a plain one, which beats "ordered"."""
    if "sku" in t and not t & hw.NOT_SKU:
        out["sku"] = 2 if "id" in t else 6
    elif (
        t & {"item", "part", "product", "vendor", "style"}
        and t & {"number", "code"}
        and not t & (hw.NOT_SKU | {"order", "po", "tracking", "upc", "ean", "gtin", "barcode"})
    ):
        out["sku"] = 3
    if "quantity" in t and not t & hw.NOT_QUANTITY:
        if t & (hw.SHIPPED | hw.SHIP):
            out["quantity"] = 6
        elif t & {"ordered", "order", "purchased", "sold"}:
            out["quantity"] = 3
        else:
            out["quantity"] = 5


def _identities(t: frozenset[str], out: dict[str, int]) -> None:
    """PO number and Flxpoint IDs (fulfillment request, PO item, source, variant, RMA)."""
    if ("po" in t and "item" in t) or {"fulfillment", "request", "item"} <= t:
        out["purchase_order_item_id"] = 6
    elif {"fulfillment", "request"} <= t:
        out["fulfillment_request_id"] = 6
    elif "po" in t and "id" not in t and not t & hw.NOT_PO:
        out["po_number"] = 6
    elif "order" in t and not t & hw.NOT_PO and not t & {"line", "sku"}:
        if "number" in t:
            out["po_number"] = 5
        elif "id" in t:
            out["po_number"] = 4
        elif t <= {"order", "customer"}:
            out["po_number"] = 3
    elif "reference" in t and not t & hw.NOT_PO and not t & {"id"}:
        out["po_number"] = 1 if t & {"2", "3", "4", "5"} else 2
    if {"source", "id"} <= t and not t & {"order", "item"}:
        out["source_id"] = 6
    if {"inventory", "variant"} <= t:
        out["inventory_variant_id"] = 6
    if {"rma", "item"} <= t:
        out["rma_item_id"] = 6


@lru_cache(maxsize=65536)
def field_scores(header: str) -> dict[str, int]:
    """The fields one header's words could name, with scores; {} for text that is no header."""
    if not header or len(header) > LONGEST_HEADER_CHARS or not any(c.isalpha() for c in header):
        return {}
    return _scores(words(header))


@dataclass(frozen=True)
class Candidate:
    """One column that could hold one field, and how good a match it is."""

    field: str
    index: int
    header: str
    rank: int  # EXACT, ALIAS or WORDS
    score: int  # higher is better within a rank

    @property
    def how(self) -> str:
        """`exact`, `alias` or `words`: what the mapping rests on, for the printed mapping."""
        return RANK_NAMES[self.rank]

    @property
    def key(self) -> tuple[int, int]:
        """Sort key: better candidates first."""
        return (self.rank, -self.score)


class HeaderTie(Exception):
    """Two different headers are equally good for one field; the caller refuses the file."""

    def __init__(self, field: str, first: str, second: str) -> None:
        super().__init__(field, first, second)
        self.field = field
        self.headers = (first, second)


def _candidates(
    header: Sequence[str],
    fields: Container[str],
    skip: Container[int],
    exact: Mapping[str, str],
    aliases: Mapping[str, Sequence[str]],
) -> list[Candidate]:
    exact_of = {normalize_header(name): field for field, name in exact.items() if field in fields}
    exact_of.update({normalize_header(field): field for field in exact if field in fields})
    alias_of: dict[str, tuple[str, int]] = {}
    for field, names in aliases.items():
        if field in fields:
            for position, alias in reversed(list(enumerate(names))):
                alias_of[normalize_header(alias)] = (field, position)
    found: list[Candidate] = []
    for index, raw in enumerate(header):
        if index in skip or not raw.strip():
            continue
        key = normalize_header(raw)
        if key in exact_of:
            found.append(Candidate(exact_of[key], index, raw, EXACT, 0))
            continue
        if key in alias_of:
            field, position = alias_of[key]
            found.append(Candidate(field, index, raw, ALIAS, -position))
            continue
        for field, score in field_scores(raw).items():
            if field in fields:
                found.append(Candidate(field, index, raw, WORDS, score))
    return found


def best_columns(
    header: Sequence[str],
    *,
    fields: Iterable[str],
    skip: Container[int] = (),
    exact: Mapping[str, str] | None = None,
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Candidate]:
    """The best column for each of `fields`, each column used once; `skip` columns are taken.

    `exact` maps fields to their own names (`PO Number`); `aliases` to other names they go
    by. Raises HeaderTie when two different headers are equally the best for one field.
    """
    wanted = frozenset(fields)
    found = sorted(
        _candidates(header, wanted, skip, exact or {}, aliases or {}),
        key=lambda c: (*c.key, c.index),
    )
    chosen: dict[str, Candidate] = {}
    used: set[int] = set()
    for candidate in found:
        if candidate.field in chosen or candidate.index in used:
            continue
        for rival in found:
            if (
                rival.field == candidate.field
                and rival.key == candidate.key
                and rival.index not in used
                and rival.index != candidate.index
                and normalize_header(rival.header) != normalize_header(candidate.header)
            ):
                raise HeaderTie(candidate.field, candidate.header, rival.header)
        chosen[candidate.field] = candidate
        used.add(candidate.index)
    return chosen


def recognised_fields(row: Sequence[str]) -> int:
    """How many different fields the cells of a row name by their words (header likeness)."""
    seen: set[str] = set()
    for cell in row:
        # Cells with digits are data (dates, money, tracking numbers) far more often than
        # headers; skipping them keeps the header scan of wide files within milliseconds.
        if cell and not any(c.isdigit() for c in cell):
            seen.update(field_scores(cell))
    return len(seen)
