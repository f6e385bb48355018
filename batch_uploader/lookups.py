"""The read endpoints: purchase orders (fulfillment requests) and shipments, batched and paced.

Every field and parameter name of `GET /fulfillment-requests` and `GET /shipments` lives in
this module, and nowhere else: much of their shape is inferred, not documented
(shared/api/flxpoint-read-endpoints.md), so when a real answer differs, this is the one
place to change, and the run stops with `LookupFailed` naming the endpoint and the field
instead of guessing.

Guarantees:
- requests of one token go through its `Pacer`, exactly as the sender's POSTs do (they share
  the API's 2 requests per second); a 429 is waited out and retried, never an error;
- at most `MAX_FR_NUMBERS` numbers per `GET /fulfillment-requests`, the parameter repeated
  once per number; every query is paged until an empty or short page;
- 401 raises `LookupAuthError` (exit 3); a 5xx or transport error is retried
  `MAX_ATTEMPTS` times with backoff, then `LookupFailed` (exit 2); any other refusal is
  `LookupFailed` with the API's own words;
- the token is never in a message.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from batch_uploader.errors import EXIT_AUTH, UploaderError
from batch_uploader.httpclient import certificate_problem, is_proxy_connect
from batch_uploader.pacing import MAX_RATE_LIMITED_S, Pacer
from batch_uploader.replies import api_message, retry_after

FULFILLMENT_REQUESTS = "/fulfillment-requests"
SHIPMENTS = "/shipments"
TOKEN_HEADER = "X-API-TOKEN"  # noqa: S105 (a header name, not a secret)

MAX_FR_NUMBERS = 50  # documented: frNumbers takes at most 50 numbers
# Known integrations page with 20; the real maximum is unknown, so we ask for no more.
DEFAULT_PAGE_SIZE = 20
# Batches of numbers looked up at the same time; the pacer still spaces every request.
MAX_READS_IN_FLIGHT = 4
MAX_ATTEMPTS = 4
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 8.0
# How much of a malformed answer a message quotes.
EXCERPT_CHARS = 200


_Param = tuple[str, str | int | float | bool | None]
_T = TypeVar("_T")


class LookupFailed(UploaderError):
    """Flxpoint could not be asked, or answered in a shape we cannot use (exit 2)."""


class LookupAuthError(UploaderError):
    """A read endpoint refused the token (401): nothing further is asked or sent (exit 3)."""

    exit_code = EXIT_AUTH


@dataclass(frozen=True, slots=True)
class FrItem:
    """One line of a fulfillment request (PO) and how much of it is shipped or voided."""

    id: int
    sku: str | None
    quantity: int
    shipped: int
    voided: int
    order_item_id: int | None = None

    @property
    def remaining(self) -> int:
        """What is left to ship: ordered - shipped - voided, never below 0."""
        return max(0, self.quantity - self.shipped - self.voided)


@dataclass(frozen=True, slots=True)
class FulfillmentRequest:
    """A fulfillment request (what older pages call a purchase order) with its lines."""

    id: int
    number: str
    source_id: int | None
    items: tuple[FrItem, ...]


@dataclass(frozen=True, slots=True)
class KnownShipment:
    """A shipment Flxpoint already has."""

    id: int
    tracking_number: str
    fr_id: int | None


class FlxpointReader:
    """Asks Flxpoint's read endpoints with one token; counts its requests in `requests`."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        token: str,
        pacer: Pacer,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        backoff_base_s: float = BACKOFF_BASE_S,
    ) -> None:
        self._client = client
        self._token = token
        self._pacer = pacer
        self._page_size = page_size
        self._backoff_base_s = backoff_base_s
        self._in_flight = asyncio.Semaphore(MAX_READS_IN_FLIGHT)
        self.requests = 0
        """HTTP requests that left for the API (each retry and each page counts)."""
        self.rate_limited = 0

    def __repr__(self) -> str:
        return f"FlxpointReader(requests={self.requests})"  # never the token

    # --- fulfillment requests -------------------------------------------------------

    async def fulfillment_requests(
        self, numbers: Sequence[str], source_id: int | None
    ) -> dict[str, FulfillmentRequest]:
        """The FRs named by `numbers` (of `source_id`, if given), keyed by number.

        A number Flxpoint does not know is absent. An FR of another source than
        `source_id` is not a match. With `source_id` None (a source token sees one source),
        a number that names FRs of several sources matches none of them: an account token
        must name the source, as `POST /shipments` requires.
        """
        wanted = list(dict.fromkeys(numbers))
        batches = [
            wanted[start : start + MAX_FR_NUMBERS]
            for start in range(0, len(wanted), MAX_FR_NUMBERS)
        ]
        answers = await all_or_none([self._fr_batch(batch, source_id) for batch in batches])
        found: dict[str, FulfillmentRequest] = {}
        ambiguous: set[str] = set()
        for batch, frs in zip(batches, answers, strict=True):
            asked = set(batch)
            for fr in frs:
                if fr.number not in asked:
                    continue  # not asked for: the API matched more loosely than we do
                if source_id is not None and fr.source_id not in (None, source_id):
                    continue
                known = found.get(fr.number)
                if known is not None and known.id != fr.id:
                    ambiguous.add(fr.number)
                found[fr.number] = fr
        for number in ambiguous:
            del found[number]
        return found

    async def _fr_batch(
        self, numbers: list[str], source_id: int | None
    ) -> list[FulfillmentRequest]:
        params: list[_Param] = [("frNumbers", number) for number in numbers]
        if source_id is not None:
            params.append(("filterSourceId", source_id))
        context = f"POs {', '.join(numbers[:3])}{', ...' if len(numbers) > 3 else ''}"
        async with self._in_flight:
            return [
                _fulfillment_request(raw, context)
                for raw in await self._all_pages(FULFILLMENT_REQUESTS, params, context)
            ]

    async def fulfillment_request_by_id(self, fr_id: int) -> FulfillmentRequest | None:
        """The FR with this id, or None if the token sees no such FR.

        No read endpoint is documented to take an FR id, so this asks
        `GET /fulfillment-requests?sinceId=<id - 1>` (sinceId is a documented parameter;
        that it means "ids above" and sorts by id is inferred) and reads one page: the FR,
        if it exists, has the smallest id above `id - 1`. An answer with an id at or below
        `sinceId` means the API ignored it: `LookupFailed`, not a wrong "not found".
        """
        since = fr_id - 1
        context = f"fulfillment request {fr_id}"
        params: list[_Param] = [
            ("sinceId", since),
            ("filterPageNumber", 1),
            ("filterPageSize", self._page_size),
        ]
        page = await self._get_array(FULFILLMENT_REQUESTS, params, context)
        for raw in page:
            fr = _fulfillment_request(raw, context)
            if fr.id <= since:
                msg = (
                    f"GET {FULFILLMENT_REQUESTS} ignored sinceId={since} (answered id {fr.id}), "
                    f"so {context} cannot be looked up by its id; give the PO number instead"
                )
                raise LookupFailed(msg)
            if fr.id == fr_id:
                return fr
        return None

    # --- shipments ------------------------------------------------------------------

    async def shipments_for(self, fr_id: int) -> list[KnownShipment]:
        """Every shipment Flxpoint has for the FR `fr_id`, oldest first."""
        context = f"fulfillment request {fr_id}"
        params: list[_Param] = [("findByPurchaseOrderId", fr_id)]
        shipments = [
            _known_shipment(raw, context)
            for raw in await self._all_pages(SHIPMENTS, params, context)
        ]
        # Another FR's shipment means the filter was not applied; it is not ours anyway.
        return [s for s in shipments if s.fr_id in (None, fr_id)]

    # --- HTTP -----------------------------------------------------------------------

    async def _all_pages(self, path: str, params: list[_Param], context: str) -> list[Any]:
        """Every entry of every page, until an empty or short page."""
        entries: list[Any] = []
        page_number = 1
        while True:
            paged = [
                *params,
                ("filterPageNumber", page_number),
                ("filterPageSize", self._page_size),
            ]
            page = await self._get_array(path, paged, context)
            entries.extend(page)
            if len(page) < self._page_size:
                return entries
            page_number += 1

    async def _get_array(self, path: str, params: list[_Param], context: str) -> list[Any]:
        """One GET whose answer must be a bare JSON array; paced, retried, classified."""
        headers = {TOKEN_HEADER: self._token, "Accept": "application/json"}
        attempt = 0
        rate_limited_since: float | None = None
        while True:
            attempt += 1
            try:
                response = await self._client.get(
                    path, params=params, headers=headers, extensions={"trace": self._gate}
                )
            except httpx.TransportError as exc:
                problem = certificate_problem(exc)
                if problem is not None:  # not transient: a missing CA stays missing
                    raise LookupFailed(problem) from None
                problem = f"could not reach the API ({type(exc).__name__})"
                if attempt >= MAX_ATTEMPTS:
                    raise LookupFailed(_gave_up(path, context, problem, attempt)) from None
                await self._backoff(attempt)
                continue
            status = response.status_code
            if status == 429:
                self.rate_limited += 1
                rate_limited_since = rate_limited_since or time.monotonic()
                if time.monotonic() - rate_limited_since >= MAX_RATE_LIMITED_S:
                    problem = "it kept answering 429 Too Many Requests for 15 minutes"
                    raise LookupFailed(_gave_up(path, context, problem, attempt))
                attempt -= 1  # not processed: not an attempt
                self._pacer.rate_limited(retry_after(response))
                continue
            rate_limited_since = None
            if status >= 500 and attempt < MAX_ATTEMPTS:
                await self._backoff(attempt)
                continue
            _raise_for_status(response, path, context, attempt)
            return _array(response, path, context)

    async def _gate(self, event: str, info: object) -> None:
        """Pace at the last moment, when the request line is about to leave.

        A proxy's CONNECT (the tunnel) is not a request to the API: it is not paced.
        """
        if is_proxy_connect(info):
            return
        if event.endswith("send_request_headers.complete"):
            self._pacer.sent()
        elif event.endswith("send_request_headers.started"):
            await self._pacer.wait_turn()
            self._pacer.leaving()
            self.requests += 1

    async def _backoff(self, attempt: int) -> None:
        """Exponential backoff with jitter, so parallel batches do not retry together."""
        ceiling = min(BACKOFF_MAX_S, self._backoff_base_s * 2 ** (attempt - 1))
        await asyncio.sleep(random.uniform(ceiling / 2, ceiling))


def _raise_for_status(response: httpx.Response, path: str, context: str, attempt: int) -> None:
    """A 401 stops the run (exit 3); any other answer but a success is LookupFailed."""
    status = response.status_code
    if status == 401:
        msg = (
            f"GET {path} refused the token (401 Unauthorized) while looking up "
            f"{context}; nothing was sent. Check the token and --base-url"
        )
        raise LookupAuthError(msg)
    if status >= 500:
        problem = f"HTTP {status}: {api_message(response)}"
        raise LookupFailed(_gave_up(path, context, problem, attempt))
    if not 200 <= status < 300:
        msg = (
            f"GET {path} answered HTTP {status} while looking up {context}: {api_message(response)}"
        )
        raise LookupFailed(msg)


async def all_or_none(jobs: Sequence[Coroutine[Any, Any, _T]]) -> list[_T]:
    """Run `jobs` together; when one fails, cancel the others and raise its error as is
    (not wrapped in an ExceptionGroup, as a TaskGroup would)."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


# --- answers -> domain types (every field name of the answers is below) ---------------


def _gave_up(path: str, context: str, problem: str, attempts: int) -> str:
    return (
        f"GET {path} failed while looking up {context}: {problem} "
        f"(gave up after {attempts} attempts)"
    )


def _excerpt(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 3] + "..."


def _array(response: httpx.Response, path: str, context: str) -> list[Any]:
    try:
        data = response.json()
    except ValueError:
        excerpt = response.text[:EXCERPT_CHARS]
        msg = f"GET {path} answered something that is not JSON ({context}): {excerpt!r}"
        raise LookupFailed(msg) from None
    if not isinstance(data, list):
        msg = f"GET {path} answered {_excerpt(data)} ({context}); expected a JSON array"
        raise LookupFailed(msg)
    return data


class _Fields:
    """Typed access to one JSON object of an answer; a missing required field is named."""

    def __init__(self, raw: object, what: str, path: str, context: str) -> None:
        self._what, self._path, self._context = what, path, context
        if not isinstance(raw, dict):
            msg = (
                f"GET {path} answered {what} that is not a JSON object ({context}): {_excerpt(raw)}"
            )
            raise LookupFailed(msg)
        self._raw: Mapping[str, Any] = raw

    def _fail(self, name: str, problem: str) -> LookupFailed:
        msg = (
            f'GET {self._path} answered {self._what} {problem} "{name}" ({self._context}): '
            f"{_excerpt(self._raw)}"
        )
        return LookupFailed(msg)

    def optional_int(self, name: str) -> int | None:
        value = self._raw.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(name, "with a non-integer")
        if isinstance(value, float):
            if not value.is_integer():
                raise self._fail(name, "with a non-integer")
            return int(value)
        return value

    def required_int(self, name: str) -> int:
        value = self.optional_int(name)
        if value is None:
            raise self._fail(name, "without")
        return value

    def optional_str(self, name: str) -> str | None:
        value = self._raw.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._fail(name, "with a non-text")
        return value

    def required_str(self, name: str) -> str:
        value = self.optional_str(name)
        if value is None:
            raise self._fail(name, "without")
        return value

    def entries(self, name: str) -> Iterator[object]:
        value = self._raw.get(name)
        if value is None:
            raise self._fail(name, "without")
        if not isinstance(value, list):
            raise self._fail(name, "with a non-list")
        return iter(value)


def _fulfillment_request(raw: object, context: str) -> FulfillmentRequest:
    fields = _Fields(raw, "a fulfillment request", FULFILLMENT_REQUESTS, context)
    number = fields.required_str("fulfillmentRequestNumber")
    item_context = f"PO {number}"
    items = []
    for entry in fields.entries("fulfillmentRequestItems"):
        item = _Fields(entry, "an item", FULFILLMENT_REQUESTS, item_context)
        items.append(
            FrItem(
                id=item.required_int("id"),
                sku=item.optional_str("sku"),
                quantity=item.required_int("quantity"),
                shipped=item.optional_int("shippedQuantity") or 0,
                voided=item.optional_int("voidedQuantity") or 0,
                order_item_id=item.optional_int("orderItemId"),
            )
        )
    return FulfillmentRequest(
        id=fields.required_int("id"),
        number=number,
        source_id=fields.optional_int("sourceId"),
        items=tuple(items),
    )


def _known_shipment(raw: object, context: str) -> KnownShipment:
    fields = _Fields(raw, "a shipment", SHIPMENTS, context)
    fr_id = fields.optional_int("fulfillmentRequestId")
    return KnownShipment(
        id=fields.required_int("id"),
        tracking_number=fields.required_str("trackingNumber"),
        fr_id=fr_id if fr_id is not None else fields.optional_int("purchaseOrderId"),
    )
