"""Send Create Shipment requests: paced, concurrent, retried, and exactly once.

Guarantees:
- never two requests of one token closer than its Pacer's spacing (≤ 2 per second);
- never two requests for the same PO in flight at once;
- several requests in flight, so API latency does not lower the rate;
- a request already created (journal) is not sent again; a 429 is waited out, never a failure;
- a reply that may have been lost (timeout after sending, dropped connection, 5xx) is re-sent
  only while duplicate tracking numbers are refused by the API, where a 409 then proves the
  shipment exists; with duplicates allowed it is reported as unknown instead.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from batch_uploader.journal import Journal, State, request_key
from batch_uploader.models import Outcome, ShipmentRequest, Status
from batch_uploader.pacing import Pacer
from batch_uploader.payload import build_body

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_MAX_IN_FLIGHT = 8
CONNECT_TIMEOUT_S = 10.0
REPLY_TIMEOUT_S = 60.0
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 30.0
DEFAULT_RETRY_AFTER_S = 1.0
MAX_RETRY_AFTER_S = 120.0
# A 429 is never a row failure, but a server that refuses for this long is not coming back.
MAX_RATE_LIMITED_S = 15 * 60.0
INTERRUPT_GRACE_S = 10.0
UNKNOWN_OUTCOME = "outcome unknown — check Flxpoint before re-sending"
_ERROR_TEXT_LIMIT = 300


@dataclass(frozen=True)
class Lane:
    """One token: its secret, its fingerprint for journal keys, and its own pacer."""

    token: str = field(repr=False)
    fingerprint: str
    pacer: Pacer
    source: str = "FLXPOINT_API_TOKEN (or --token)"  # where the token came from, for messages


@dataclass(frozen=True)
class SendOptions:
    """How hard to try; see the module docstring for what never changes."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    include_unknown: bool = False  # retry: re-send groups whose outcome is unknown
    interrupt_grace_s: float = INTERRUPT_GRACE_S


@dataclass(frozen=True)
class Attempt:
    """One HTTP exchange, for the per-run log (never holds the token)."""

    request: ShipmentRequest
    attempt: int
    result: str  # HTTP status code or the transport error's name
    elapsed_ms: float
    at: datetime


@dataclass
class SendStats:
    """Counts over the sending phase, for the summary and the benchmark."""

    requests: int = 0
    rate_limited: int = 0
    first_sent: float | None = None
    last_sent: float | None = None


class _Stop(Exception):
    """Raised inside a worker when the run is stopping (401 or interrupt)."""


class Sender:
    """Sends a batch of requests; one instance per run."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        journal: Journal,
        *,
        scope: str,
        lane_for: Callable[[ShipmentRequest], Lane],
        run_id: str,
        options: SendOptions = SendOptions(),
        on_outcome: Callable[[ShipmentRequest, Outcome], None] = lambda r, o: None,
        on_attempt: Callable[[Attempt], None] = lambda a: None,
    ) -> None:
        self._client = client
        self._journal = journal
        self._scope = scope
        self._lane_for = lane_for
        self._run_id = run_id
        self._options = options
        self._on_outcome = on_outcome
        self._on_attempt = on_attempt
        self.stats = SendStats()
        self.stopping = asyncio.Event()
        self.auth_error: str | None = None  # set when a 401 stopped the run

    def stop(self) -> None:
        """Send nothing new; requests in flight get a short grace period for their reply."""
        self.stopping.set()

    async def send_all(self, requests: Sequence[ShipmentRequest]) -> list[Outcome]:
        """One Outcome per request, in the same order; after a 401 the rest are `not sent`."""
        outcomes: list[Outcome | None] = [None] * len(requests)
        pending = list(range(len(requests)))
        busy_pos: set[str] = set()
        ready = asyncio.Condition()

        async def take() -> int | None:
            async with ready:
                while True:
                    if self.stopping.is_set() or not pending:
                        return None
                    for position, index in enumerate(pending):
                        if requests[index].po.key not in busy_pos:
                            del pending[position]
                            busy_pos.add(requests[index].po.key)
                            return index
                    await ready.wait()

        async def release(index: int) -> None:
            async with ready:
                busy_pos.discard(requests[index].po.key)
                ready.notify_all()

        async def worker() -> None:
            while (index := await take()) is not None:
                try:
                    outcome = await self._send_one(requests[index])
                except _Stop:
                    outcome = None
                finally:
                    await release(index)
                if outcome is not None:
                    outcomes[index] = outcome
                    self._on_outcome(requests[index], outcome)

        async def wake_on_stop() -> None:
            await self.stopping.wait()
            async with ready:
                ready.notify_all()

        workers = [asyncio.create_task(worker()) for _ in range(self._options.max_in_flight)]
        waker = asyncio.create_task(wake_on_stop())
        try:
            done: asyncio.Future[Any] = asyncio.gather(*workers)
            stop_wait: asyncio.Future[Any] = asyncio.create_task(self.stopping.wait())
            await asyncio.wait({done, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            if not done.done():
                # Stopping: let replies in flight arrive, then give up on them.
                await asyncio.wait({done}, timeout=self._options.interrupt_grace_s)
                for task in workers:
                    task.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
            stop_wait.cancel()
            error = done.exception() if done.done() and not done.cancelled() else None
            if error is not None:
                raise error  # a bug of ours: never swallow it
        finally:
            waker.cancel()
        return [o if o is not None else self._unsent(requests[i]) for i, o in enumerate(outcomes)]

    def _unsent(self, request: ShipmentRequest) -> Outcome:
        """A request the run never finished: if it left, the journal says `sending`."""
        entry = self._journal.get(
            request_key(self._scope, self._lane_for(request).fingerprint, request)
        )
        if entry is not None and entry.state is State.SENDING and entry.attempts > 0:
            return Outcome(
                Status.FAILED,
                error="interrupted while waiting for the reply; run again to finish it "
                "(it is not sent twice)",
                attempts=entry.attempts,
            )
        return Outcome(Status.NOT_SENT, error="the run stopped before this was sent")

    async def _send_one(self, request: ShipmentRequest) -> Outcome:
        lane = self._lane_for(request)
        key = request_key(self._scope, lane.fingerprint, request)
        entry = self._journal.get(key)
        ambiguous = False
        if entry is not None:
            if entry.state is State.CREATED:
                return Outcome(
                    Status.SKIPPED,
                    shipment_id=entry.shipment_id,
                    error="already created by an earlier run; not sent again",
                )
            ambiguous = entry.ambiguous or entry.state in (State.SENDING, State.UNKNOWN)
            if ambiguous and request.allow_duplicate_tracking and not self._options.include_unknown:
                self._journal.record_outcome(key, State.UNKNOWN, error=UNKNOWN_OUTCOME)
                return Outcome(Status.FAILED, error=UNKNOWN_OUTCOME, attempts=entry.attempts)
        body = build_body(request)
        headers = {"X-API-TOKEN": lane.token, "Accept": "application/json"}
        attempt = 0
        rate_limited_since: float | None = None
        last_error = ""
        while attempt < self._options.max_attempts:
            if self.stopping.is_set():
                raise _Stop
            attempt += 1
            sent = False
            started = time.monotonic()

            async def gate(event: str, info: object) -> None:
                """Pace and journal at the last moment: when the request line is about to leave.

                Pacing here, after the connection is open, keeps connection set-up time out of
                the gaps the server measures; the intent is committed just before the bytes go,
                and the next turn is booked from when they went.
                """
                nonlocal sent, started
                if event.endswith("send_request_headers.complete"):
                    lane.pacer.sent()
                    return
                if not event.endswith("send_request_headers.started"):
                    return
                await lane.pacer.wait_turn()
                if self.stopping.is_set():
                    raise _Stop
                self._journal.record_intent(key, request, self._run_id, lane.fingerprint)
                lane.pacer.leaving()
                started = time.monotonic()
                self._count_sent(started)
                sent = True

            try:
                response = await self._client.post(
                    "/shipments", json=body, headers=headers, extensions={"trace": gate}
                )
            except httpx.TransportError as exc:
                self._log(request, attempt, type(exc).__name__, started)
                if not sent:
                    # Never left this machine: safe to send again whatever the settings.
                    last_error = f"could not reach the API ({type(exc).__name__})"
                    await self._backoff(attempt)
                    continue
                last_error = f"no reply from the API ({type(exc).__name__})"
                ambiguous = True
                if request.allow_duplicate_tracking:
                    return self._unknown(key, attempt)
                self._journal.record_outcome(key, State.FAILED, error=last_error, ambiguous=True)
                await self._backoff(attempt)
                continue
            self._log(request, attempt, str(response.status_code), started)
            status = response.status_code
            if 200 <= status < 300:  # the page documents 201; any success means created
                shipment_id = _shipment_id(response)
                self._journal.record_outcome(key, State.CREATED, shipment_id=shipment_id)
                return Outcome(
                    Status.CREATED, shipment_id=shipment_id, attempts=attempt, http_status=status
                )
            if status == 408:  # the server gave up before reading the request: not processed
                last_error = "HTTP 408: the API timed out waiting for the request"
                self._journal.record_outcome(key, State.FAILED, error=last_error)
                await self._backoff(attempt)
                continue
            if status == 429:
                self.stats.rate_limited += 1
                now = time.monotonic()
                rate_limited_since = rate_limited_since or now
                if now - rate_limited_since < MAX_RATE_LIMITED_S:
                    attempt -= 1  # a 429 was not processed: it is not an attempt
                    lane.pacer.rate_limited(_retry_after(response))
                    self._journal.record_outcome(key, State.FAILED, error="rate limited (429)")
                    continue
                last_error = "the API kept answering 429 Too Many Requests for 15 minutes"
                self._journal.record_outcome(key, State.FAILED, error=last_error)
                break
            rate_limited_since = None
            if status == 401:
                self.auth_error = (
                    f"the API refused the token of {lane.source} (401 Unauthorized); nothing "
                    f"further was sent. Check that token and --base-url"
                )
                last_error = f"HTTP 401: the API refused the token of {lane.source}"
                self._journal.record_outcome(key, State.FAILED, error=last_error)
                self.stop()
                return Outcome(Status.FAILED, error=last_error, attempts=attempt, http_status=401)
            if status == 409 and not request.allow_duplicate_tracking:
                return self._already_there(key, response, ambiguous, attempt)
            if status >= 500:
                last_error = f"HTTP {status} from the API: {_api_message(response)}"
                ambiguous = True
                if request.allow_duplicate_tracking:
                    return self._unknown(key, attempt)
                self._journal.record_outcome(key, State.FAILED, error=last_error, ambiguous=True)
                await self._backoff(attempt)
                continue
            last_error = f"HTTP {status}: {_api_message(response)}"
            self._journal.record_outcome(key, State.FAILED, error=last_error)
            return Outcome(Status.FAILED, error=last_error, attempts=attempt, http_status=status)
        return Outcome(
            Status.FAILED,
            error=f"{last_error} (gave up after {attempt} attempts)",
            attempts=attempt,
        )

    def _already_there(
        self, key: str, response: httpx.Response, ambiguous: bool, attempt: int
    ) -> Outcome:
        """A 409: Flxpoint already has this tracking number on the PO; it is not created again."""
        shipment_id = _shipment_id(response)
        self._journal.record_outcome(key, State.CREATED, shipment_id=shipment_id)
        if ambiguous:
            note = "Flxpoint already had it: an earlier attempt created it but its reply was lost"
        else:
            note = (
                "Flxpoint already has this tracking number on this PO (uploaded some other "
                "way); not created again"
            )
        return Outcome(
            Status.SKIPPED, shipment_id=shipment_id, error=note, attempts=attempt, http_status=409
        )

    def _unknown(self, key: str, attempt: int) -> Outcome:
        self._journal.record_outcome(key, State.UNKNOWN, error=UNKNOWN_OUTCOME, ambiguous=True)
        return Outcome(Status.FAILED, error=UNKNOWN_OUTCOME, attempts=attempt)

    def _count_sent(self, at: float) -> None:
        self.stats.requests += 1
        if self.stats.first_sent is None:
            self.stats.first_sent = at
        self.stats.last_sent = at

    def _log(self, request: ShipmentRequest, attempt: int, result: str, started: float) -> None:
        elapsed_ms = (time.monotonic() - started) * 1000
        self._on_attempt(Attempt(request, attempt, result, elapsed_ms, datetime.now(UTC)))

    async def _backoff(self, attempt: int) -> None:
        """Exponential backoff with full jitter, so retries of many rows do not line up."""
        if attempt >= self._options.max_attempts:
            return
        ceiling = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (attempt - 1))
        delay = random.uniform(ceiling / 2, ceiling)
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=delay)
        except TimeoutError:
            return


def _retry_after(response: httpx.Response) -> float:
    """Retry-After in seconds (number or HTTP date), bounded to something sane."""
    value = response.headers.get("Retry-After", "").strip()
    seconds = DEFAULT_RETRY_AFTER_S
    if value:
        try:
            seconds = float(value)
        except ValueError:
            when = email.utils.parsedate_to_datetime(value) if value else None
            if when is not None:
                seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _shipment_id(response: httpx.Response) -> int | None:
    """The Shipment ID from a 201 body (`id`) or a 409 body that names the existing one."""
    data = _json(response)
    if isinstance(data, dict):
        for name in ("id", "shipmentId"):
            value = data.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


def _api_message(response: httpx.Response) -> str:
    """The API's own words, trimmed; falls back to the reason phrase."""
    data = _json(response)
    message = ""
    if isinstance(data, dict):
        for name in ("message", "error", "detail", "errors"):
            if data.get(name):
                message = str(data[name])
                break
    elif isinstance(data, str):
        message = data
    if not message:
        message = response.text.strip() or response.reason_phrase
    return message[:_ERROR_TEXT_LIMIT]
