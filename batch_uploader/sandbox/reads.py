"""Query strings of the read endpoints, parsed strictly into typed queries.

`GET /fulfillment-requests` and `GET /shipments` take the parameters the read-endpoints
notes list (shared/api/flxpoint-read-endpoints.md). What the notes leave open is decided
here, once:
- pages are 1-based; `filterPageSize` defaults to `DEFAULT_PAGE_SIZE` and may be at most
  `MAX_PAGE_SIZE` (the real maximum is unknown); a client pages until an empty or short page;
- `frNumbers` is repeated once per number (no comma splitting), at most `MAX_FR_NUMBERS`;
- a parameter the endpoint does not take, a repeated single parameter, or a value of the
  wrong type is a 400 naming it, so a client's typo cannot pass as "no filter".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs

from batch_uploader.sandbox.schema import ApiError, _date_time, bad_request

FR_NUMBERS = "frNumbers"
MAX_FR_NUMBERS = 50
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
PAGE_NUMBER = "filterPageNumber"
PAGE_SIZE = "filterPageSize"
FULFILMENT_STATUSES = ("Awaiting Shipment", "Partially Shipped", "Shipped", "Canceled")

FR_PARAMETERS = (
    FR_NUMBERS,
    "filterSourceId",
    "findOrderId",
    "sinceId",
    "filterStatus",
    "filterFulfilmentStatus",
    PAGE_NUMBER,
    PAGE_SIZE,
)
SHIPMENT_PARAMETERS = (
    "findByPurchaseOrderId",
    "findByOrderId",
    "filterCreatedAfter",
    "filterUpdatedAfter",
    PAGE_NUMBER,
    PAGE_SIZE,
)


@dataclass(frozen=True)
class Page:
    """Which slice of the (sorted) answer: 1-based page number and its size."""

    number: int = 1
    size: int = DEFAULT_PAGE_SIZE

    def of(self, items: Sequence[object]) -> slice:
        """The slice of `items` this page covers."""
        start = (self.number - 1) * self.size
        return slice(start, start + self.size)


@dataclass(frozen=True)
class FrQuery:
    """`GET /fulfillment-requests` filters; None means "not filtered"."""

    numbers: tuple[str, ...] | None = None
    source_id: int | None = None
    order_id: int | None = None
    since_id: int | None = None
    status: str | None = None
    fulfilment_status: str | None = None
    page: Page = Page()


@dataclass(frozen=True)
class ShipmentQuery:
    """`GET /shipments` filters; None means "not filtered"."""

    fr_id: int | None = None
    order_id: int | None = None
    created_after: datetime | None = None
    updated_after: datetime | None = None
    page: Page = Page()


def _parameters(query: str, allowed: Sequence[str], path: str) -> dict[str, list[str]]:
    try:
        values = parse_qs(query, keep_blank_values=True, strict_parsing=False)
    except ValueError as exc:  # e.g. too many fields
        raise ApiError(400, f"Cannot read the query string of {path}: {exc}") from exc
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        bad_request(
            f"{path} does not take the parameter {unknown[0]!r}; it takes {', '.join(allowed)}"
        )
    for name, given in values.items():
        if name != FR_NUMBERS and len(given) > 1:
            bad_request(f"The parameter {name!r} is given {len(given)} times; give it once")
    return values


def _one(values: Mapping[str, list[str]], name: str) -> str | None:
    given = values.get(name)
    return given[0] if given else None


def _int(values: Mapping[str, list[str]], name: str, minimum: int | None = None) -> int | None:
    text = _one(values, name)
    if text is None:
        return None
    try:
        number = int(text.strip())
    except ValueError:
        bad_request(f"The parameter {name!r} must be an integer, got {text[:40]!r}")
    if minimum is not None and number < minimum:
        bad_request(f"The parameter {name!r} must be at least {minimum}, got {number}")
    return number


def _page(values: Mapping[str, list[str]]) -> Page:
    number = _int(values, PAGE_NUMBER, minimum=1)
    size = _int(values, PAGE_SIZE, minimum=1)
    if size is not None and size > MAX_PAGE_SIZE:
        bad_request(f"The parameter {PAGE_SIZE!r} must be at most {MAX_PAGE_SIZE}, got {size}")
    return Page(number or 1, size or DEFAULT_PAGE_SIZE)


def _after(values: Mapping[str, list[str]], name: str) -> datetime | None:
    text = _one(values, name)
    if text is None:
        return None
    return _date_time({name: text}, name, "")


def parse_fr_query(query: str) -> FrQuery:
    """Parse the query string of `GET /fulfillment-requests`, or raise `ApiError(400)`."""
    values = _parameters(query, FR_PARAMETERS, "GET /fulfillment-requests")
    numbers: tuple[str, ...] | None = None
    if FR_NUMBERS in values:
        numbers = tuple(values[FR_NUMBERS])
        if len(numbers) > MAX_FR_NUMBERS:
            bad_request(
                f"{FR_NUMBERS} takes at most {MAX_FR_NUMBERS} numbers per request, "
                f"got {len(numbers)}"
            )
        if any(not number.strip() for number in numbers):
            bad_request(f"{FR_NUMBERS} must not be blank")
    fulfilment_status = _one(values, "filterFulfilmentStatus")
    if fulfilment_status is not None and fulfilment_status not in FULFILMENT_STATUSES:
        bad_request(
            f"filterFulfilmentStatus must be one of {', '.join(FULFILMENT_STATUSES)}; "
            f"got {fulfilment_status[:40]!r}"
        )
    return FrQuery(
        numbers=numbers,
        source_id=_int(values, "filterSourceId"),
        order_id=_int(values, "findOrderId"),
        since_id=_int(values, "sinceId"),
        status=_one(values, "filterStatus"),
        fulfilment_status=fulfilment_status,
        page=_page(values),
    )


def parse_shipment_query(query: str) -> ShipmentQuery:
    """Parse the query string of `GET /shipments`, or raise `ApiError(400)`."""
    values = _parameters(query, SHIPMENT_PARAMETERS, "GET /shipments")
    return ShipmentQuery(
        fr_id=_int(values, "findByPurchaseOrderId"),
        order_id=_int(values, "findByOrderId"),
        created_after=_after(values, "filterCreatedAfter"),
        updated_after=_after(values, "filterUpdatedAfter"),
        page=_page(values),
    )
