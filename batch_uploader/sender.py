"""Send Create Shipment requests: paced, concurrent, retried, and exactly once.

Guarantees:
- never two requests of one token closer than its Pacer's spacing (≤ 2 per second);
- never two requests for the same PO in flight at once;
- every token sends at the same time as the others: each has its own queue and workers,
  so a file sorted by source keeps every token busy, not one after another;
- a request already created (journal) is not sent again; a 429 is waited out, never a failure;
- a reply that may have been lost (timeout after sending, dropped connection, 5xx) is re-sent
  while duplicate tracking numbers are refused by the API, where a 409 then proves the
  shipment exists; with duplicates allowed Flxpoint is asked first (`GET /shipments` of the
  PO): a shipment with the tracking number is the one created (`created` with its ID), none
  means sending again is safe, and only when Flxpoint cannot be asked is the outcome
  reported as unknown;
- an untrusted TLS certificate stops the run at once, and a proxy that cannot be got
  through stops it once its retries run out: every row not sent is `not sent`, and `fatal`
  holds the one line to print (with `fatal_code`, the exit code).
What a reply means is decided by `replies.classify`; this module only waits, asks and repeats.
"""

from __future__ import annotations

import asyncio
import enum
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from batch_uploader.errors import EXIT_AUTH, EXIT_BAD_INPUT
from batch_uploader.flxpoint_checks import known_shipment
from batch_uploader.httpclient import is_proxy_connect
from batch_uploader.journal import Journal, State, request_key
from batch_uploader.lanes import Lane, LaneQueue
from batch_uploader.lookups import FlxpointReader, KnownShipment, LookupAuthError, LookupFailed
from batch_uploader.models import Outcome, ShipmentRequest, Status
from batch_uploader.pacing import FRESH_CONNECTION_EXTRA_S, MAX_RATE_LIMITED_S
from batch_uploader.payload import build_body
from batch_uploader.replies import UNKNOWN_OUTCOME, Next, Verdict, classify

DEFAULT_MAX_ATTEMPTS = 5
IN_FLIGHT_PER_TOKEN = 4
"""Requests of one token in flight (or waiting for their turn) at once: at 2/s and up to
~1.2 s latency three are on the wire; the rest keep the pacer's next turn always taken."""
WORKER_START_S = 0.5
"""A token's second, third ... worker starts half a turn before its first possible turn:
its connection is opened (and accepted by the server) before its request is due, and fifty
tokens do not open two hundred connections in the same instant (the server then stamped
the first requests late enough that the second ones looked early: 429)."""
CONNECT_TIMEOUT_S = 10.0
REPLY_TIMEOUT_S = 60.0
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 30.0
INTERRUPT_GRACE_S = 10.0
NOT_SENT_STOPPED = "the run stopped before this was sent"
INTERRUPTED_IN_FLIGHT = (
    "interrupted while waiting for the reply; run again to finish it (it is not sent twice)"
)
ALREADY_CREATED = "already created by an earlier run; not sent again"
FOUND_IN_FLXPOINT = (
    "already created by an earlier run (its reply was lost; found in Flxpoint); not sent again"
)


@dataclass(frozen=True)
class SendOptions:
    """How hard to try; see the module docstring for what never changes."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    in_flight_per_token: int = IN_FLIGHT_PER_TOKEN
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


@dataclass
class _Exchange:
    """One try: the reply or the transport error, and whether the bytes left."""

    response: httpx.Response | None = None
    error: Exception | None = None
    left: bool = False
    started: float = 0.0
    connected_at: float = float("-inf")  # when a connection was opened for it, if one was


class _Stop(Exception):
    """Raised inside a worker when the run is stopping (401 or interrupt)."""


class _Asked(enum.Enum):
    """What asking Flxpoint about an unknown outcome found, when it found no shipment."""

    NOT_THERE = "not there"  # Flxpoint has no shipment with this tracking number on the PO
    CANNOT_ASK = "cannot ask"  # no reader, unknown PO, or the lookup failed


class Sender:
    """Sends a batch of requests; one instance per run."""

    def __init__(
        self,
        clients: Mapping[str, httpx.AsyncClient],
        journal: Journal,
        *,
        scope: str,
        lane_for: Callable[[ShipmentRequest], Lane],
        run_id: str,
        options: SendOptions = SendOptions(),
        on_outcome: Callable[[ShipmentRequest, Outcome], None] = lambda r, o: None,
        on_attempt: Callable[[Attempt], None] = lambda a: None,
        readers: Mapping[str, FlxpointReader] | None = None,
    ) -> None:
        """`clients`: per lane fingerprint, that token's HTTP client (its own connection pool).
        `readers`: per lane fingerprint, the reader that asks Flxpoint about an unknown
        outcome (with duplicates allowed); without one such an outcome stays unknown."""
        self._clients = clients
        self._base_url = str(next(iter(clients.values())).base_url) if clients else ""
        self._readers = readers or {}
        self._journal = journal
        self._scope = scope
        self._lane_for = lane_for
        self._run_id = run_id
        self._options = options
        self._on_outcome = on_outcome
        self._on_attempt = on_attempt
        self.stats = SendStats()
        self.stopping = asyncio.Event()
        # Why the run stopped early (a 401, a certificate, a proxy), and its exit code.
        self.fatal: str | None = None
        self.fatal_code = EXIT_AUTH

    def stop(self) -> None:
        """Send nothing new; requests in flight get a short grace period for their reply."""
        self.stopping.set()

    def _halt(self, message: str, code: int) -> None:
        """Stop the whole run for `message` (the first reason wins), exiting with `code`."""
        if self.fatal is None:
            self.fatal, self.fatal_code = message, code
        self.stop()

    async def send_all(self, requests: Sequence[ShipmentRequest]) -> list[Outcome]:
        """One Outcome per request, in the same order; after a 401 the rest are `not sent`."""
        outcomes: list[Outcome | None] = [None] * len(requests)
        queues: dict[str, LaneQueue] = {}
        for index, request in enumerate(requests):
            lane = self._lane_for(request)
            queues.setdefault(lane.fingerprint, LaneQueue(requests)).pending.append(index)

        async def worker(queue: LaneQueue, number: int) -> None:
            if number:  # see WORKER_START_S: open its connection before its turn comes
                await asyncio.sleep((number - 0.5) * WORKER_START_S)
            while (index := await queue.take(self.stopping)) is not None:
                try:
                    outcomes[index] = await self._send_one(requests[index])
                except _Stop:
                    pass
                finally:
                    await queue.release(index)
                if (outcome := outcomes[index]) is not None:
                    self._on_outcome(requests[index], outcome)

        workers = [
            asyncio.create_task(worker(queue, number))
            for queue in queues.values()
            for number in range(min(self._options.in_flight_per_token, len(queue.pending)))
        ]
        await self._run_workers(workers, queues.values())
        return [o if o is not None else self._unsent(requests[i]) for i, o in enumerate(outcomes)]

    async def _run_workers(self, workers: list[asyncio.Task[None]], queues: Any) -> None:
        """Wait for the workers; when stopping, give replies in flight a grace period."""
        done: asyncio.Future[Any] = asyncio.gather(*workers)
        stop_wait = asyncio.create_task(self.stopping.wait())
        try:
            await asyncio.wait({done, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            if not done.done():
                for queue in queues:
                    await queue.wake()
                await asyncio.wait({done}, timeout=self._options.interrupt_grace_s)
                for task in workers:
                    task.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
        finally:
            stop_wait.cancel()
        error = done.exception() if done.done() and not done.cancelled() else None
        if error is not None:
            raise error  # a bug of ours: never swallow it

    def _unsent(self, request: ShipmentRequest) -> Outcome:
        """A request the run never finished: if it left, the journal says `sending`."""
        entry = self._journal.get(self._key(request))
        if entry is not None and entry.state is State.SENDING and entry.attempts > 0:
            return Outcome(Status.FAILED, error=INTERRUPTED_IN_FLIGHT, attempts=entry.attempts)
        return Outcome(Status.NOT_SENT, error=NOT_SENT_STOPPED)

    def _key(self, request: ShipmentRequest) -> str:
        return request_key(self._scope, self._lane_for(request).fingerprint, request)

    async def _send_one(self, request: ShipmentRequest) -> Outcome:
        """The retry loop: send, classify the reply, then finish, wait or try again."""
        key = self._key(request)
        earlier = await self._earlier_run(request, key)
        if isinstance(earlier, Outcome):
            return earlier
        maybe_processed = earlier
        body = build_body(request)
        attempt = 0
        limited_since: float | None = None
        verdict = Verdict(Next.RETRY)
        while attempt < self._options.max_attempts:
            attempt += 1
            exchange = await self._exchange(request, key, body, attempt)
            verdict = classify(
                exchange.response,
                exchange.error,
                left=exchange.left,
                duplicates_allowed=request.allow_duplicate_tracking,
                maybe_processed=maybe_processed,
                base_url=self._base_url,
            )
            maybe_processed = maybe_processed or verdict.maybe_processed
            status = exchange.response.status_code if exchange.response is not None else None
            if verdict.next is Next.WAIT:
                limited_since = limited_since or time.monotonic()
                if time.monotonic() - limited_since >= MAX_RATE_LIMITED_S:
                    verdict = Verdict(Next.FAILED, "the API kept answering 429 for 15 minutes")
                    break
                self.stats.rate_limited += 1
                attempt -= 1  # a 429 was not processed: it is not an attempt
                self._lane_for(request).pacer.rate_limited(verdict.retry_after_s)
                self._journal.record_outcome(key, State.FAILED, error=verdict.reason)
                continue
            limited_since = None
            if verdict.next is Next.RETRY:
                self._journal.record_outcome(
                    key, State.FAILED, error=verdict.reason, ambiguous=maybe_processed
                )
                await self._backoff(attempt)
                continue
            if verdict.next is Next.UNKNOWN:
                resolved = await self._resolve_unknown(request, key, verdict, attempt)
                if resolved is not None:
                    return resolved
                maybe_processed = False  # Flxpoint does not have it: sending again is safe
                continue
            if verdict.next is Next.FATAL:
                self._halt(verdict.reason, EXIT_BAD_INPUT)
                raise _Stop  # it never left: the row is `not sent`, like every other
            return self._finish(request, key, verdict, attempt, status)
        if verdict.run_wide:  # e.g. the proxy: every other row would meet it too
            self._halt(verdict.reason, EXIT_BAD_INPUT)
            raise _Stop
        self._journal.record_outcome(key, State.FAILED, error=verdict.reason)
        reason = f"{verdict.reason} (gave up after {attempt} attempts)"
        return Outcome(Status.FAILED, error=reason, attempts=attempt)

    async def _earlier_run(self, request: ShipmentRequest, key: str) -> Outcome | bool:
        """What an earlier run left in the journal: an Outcome when nothing is to be sent,
        else whether an earlier attempt may have created it (then a 409 proves it did)."""
        entry = self._journal.get(key)
        if entry is None:
            return False
        if entry.state is State.CREATED:
            return Outcome(Status.SKIPPED, entry.shipment_id, ALREADY_CREATED)
        maybe_processed = entry.ambiguous or entry.state in (State.SENDING, State.UNKNOWN)
        if not (maybe_processed and request.allow_duplicate_tracking):
            return maybe_processed
        found = await self._ask_flxpoint(request)
        if isinstance(found, KnownShipment):
            self._journal.record_outcome(key, State.CREATED, shipment_id=found.id)
            return Outcome(Status.SKIPPED, found.id, FOUND_IN_FLXPOINT)
        if found is _Asked.NOT_THERE:
            return False  # it does not exist: sending is safe
        if not self._options.include_unknown:
            return self._unknown(key, entry.attempts)
        return True

    async def _resolve_unknown(
        self, request: ShipmentRequest, key: str, verdict: Verdict, attempt: int
    ) -> Outcome | None:
        """A reply lost while duplicates are allowed: ask Flxpoint whether it was created.

        Returns the Outcome when that settles it; None when Flxpoint does not have it, so
        sending again is safe.
        """
        self._journal.record_outcome(key, State.FAILED, error=verdict.reason, ambiguous=True)
        # Give Flxpoint a moment to finish what it may be creating, then ask it.
        await self._backoff(attempt)
        found = await self._ask_flxpoint(request)
        if isinstance(found, KnownShipment):
            self._journal.record_outcome(key, State.CREATED, shipment_id=found.id)
            return Outcome(Status.CREATED, found.id, attempts=attempt)
        if found is _Asked.CANNOT_ASK:
            return self._unknown(key, attempt)
        return None

    def _finish(
        self, request: ShipmentRequest, key: str, verdict: Verdict, attempt: int, status: int | None
    ) -> Outcome:
        """Record a final verdict in the journal and turn it into the request's Outcome."""
        if verdict.next is Next.CREATED:
            self._journal.record_outcome(key, State.CREATED, shipment_id=verdict.shipment_id)
            return Outcome(
                Status.CREATED, verdict.shipment_id, attempts=attempt, http_status=status
            )
        if verdict.next is Next.ALREADY_THERE:
            self._journal.record_outcome(key, State.CREATED, shipment_id=verdict.shipment_id)
            return Outcome(Status.SKIPPED, verdict.shipment_id, verdict.reason, attempt, status)
        if verdict.next is Next.UNKNOWN:
            return self._unknown(key, attempt)
        reason = verdict.reason
        if verdict.next is Next.UNAUTHORIZED:
            lane = self._lane_for(request)
            reason = f"HTTP 401: the API refused the token of {lane.source}"
            self._halt(
                f"the API refused the token of {lane.source} (401 Unauthorized); nothing "
                f"further was sent. Check that token and --base-url",
                EXIT_AUTH,
            )
        self._journal.record_outcome(key, State.FAILED, error=reason)
        return Outcome(Status.FAILED, error=reason, attempts=attempt, http_status=status)

    async def _exchange(
        self, request: ShipmentRequest, key: str, body: dict[str, Any], attempt: int
    ) -> _Exchange:
        """One POST. Pacing and the journal's intent happen at the last moment (see gate)."""
        if self.stopping.is_set():
            raise _Stop
        lane = self._lane_for(request)
        exchange = _Exchange(started=time.monotonic())

        async def gate(event: str, info: object) -> None:
            """Pace and journal when the request line is about to leave.

            Pacing here, after the connection is open, keeps connection set-up time out of
            the gaps the server measures; the intent is committed just before the bytes go,
            and the next turn is booked from when they went.
            """
            if is_proxy_connect(info):
                return  # the tunnel's CONNECT to a proxy is not an API request
            if event.endswith("connect_tcp.complete"):
                exchange.connected_at = time.monotonic()
                return
            if event.endswith("send_request_headers.complete"):
                # The server may still be accepting a connection opened just now (a request
                # that waited for its turn on it gave the server that time).
                just_opened = time.monotonic() - exchange.connected_at < FRESH_CONNECTION_EXTRA_S
                lane.pacer.sent(fresh_connection=just_opened)
                return
            if not event.endswith("send_request_headers.started"):
                return
            await lane.pacer.wait_turn()
            if self.stopping.is_set():
                raise _Stop
            self._journal.record_intent(key, request, self._run_id, lane.fingerprint)
            lane.pacer.leaving()
            exchange.started = time.monotonic()
            self.stats.requests += 1
            exchange.left = True

        headers = {"X-API-TOKEN": lane.token, "Accept": "application/json"}
        try:
            exchange.response = await self._clients[lane.fingerprint].post(
                "/shipments", json=body, headers=headers, extensions={"trace": gate}
            )
            result = str(exchange.response.status_code)
        except httpx.TransportError as exc:
            exchange.error = exc
            result = type(exc).__name__
        elapsed_ms = (time.monotonic() - exchange.started) * 1000
        self._on_attempt(Attempt(request, attempt, result, elapsed_ms, datetime.now(UTC)))
        return exchange

    async def _ask_flxpoint(self, request: ShipmentRequest) -> KnownShipment | _Asked:
        """Does Flxpoint have a shipment with this tracking number on this PO?

        The FR id comes from the request, else from `GET /fulfillment-requests` by number.
        A PO Flxpoint does not know cannot explain a lost reply: that stays unknown too.
        """
        lane = self._lane_for(request)
        reader = self._readers.get(lane.fingerprint)
        if reader is None:
            return _Asked.CANNOT_ASK
        po = request.po
        try:
            fr_id = po.fulfillment_request_id
            if fr_id is None and po.po_number is not None:
                fr = (await reader.fulfillment_requests([po.po_number], po.source_id)).get(
                    po.po_number
                )
                fr_id = fr.id if fr is not None else None
            if fr_id is None:
                return _Asked.CANNOT_ASK
            found = known_shipment(request, await reader.shipments_for(fr_id))
        except LookupAuthError as exc:
            self._halt(str(exc), exc.exit_code)
            return _Asked.CANNOT_ASK
        except LookupFailed:
            return _Asked.CANNOT_ASK
        return found if found is not None else _Asked.NOT_THERE

    def _unknown(self, key: str, attempts: int) -> Outcome:
        self._journal.record_outcome(key, State.UNKNOWN, error=UNKNOWN_OUTCOME, ambiguous=True)
        return Outcome(Status.FAILED, error=UNKNOWN_OUTCOME, attempts=attempts)

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
