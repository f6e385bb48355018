"""Request spacing per token: the API allows 2 requests per second, and we never exceed it.

Each request leaves `spacing_s` (1/rate plus a small margin for arrival jitter) after the
previous one really left, and never closer than 1/rate. The sender tells the pacer twice:
`leaving()` just before a request is written (nothing else of this token may leave within
1/rate, even if the write fails) and `sent()` once its bytes are on the wire, which books the
next turn from that moment: the write itself waits for the event loop, 0.5-4 ms that vary
from request to request, and a booking made before it would let the server see gaps shorter
than the ones we planned. `wait_turn()` re-reads the booking after every wait, so two waiting
requests never leave together. An `AsyncLimiter` with a bucket of ONE hands out the turns one
at a time (`AsyncLimiter(2, 1)` would let 3 requests into one second: its bucket starts full
and holds two); its period is a little under 1/rate so that its own wake-up never makes a
turn late: the booking decides the exact moment.

Two things would make each gap a little longer than `spacing_s`, and over 300 requests that
adds up to a third of a second:
- the event loop wakes a sleeper late, and the longer the sleep the later: on this VM a
  0.05 s sleep wakes 1-4 ms late and a 0.4 s one 4-16 ms (the host wakes an idle virtual
  CPU late; CI saw every gap 6-10 ms long). So a turn is waited for in three steps: one
  long sleep that ends `COARSE_LEAD_S` before the turn, one short sleep that ends
  `YIELD_WAKE_S` plus the short sleeps' learned lateness before it, and the rest by
  yielding to the loop (`asyncio.sleep(0)`) and reading the clock again: the turn comes
  within ~0.1 ms of its time, and nothing blocks the loop (with 50 tokens it serves 100
  requests a second);
- between a turn and the wire there is a little work (the journal's write, then the write
  itself): the pacer learns the least of it over recent requests and books the next turn
  that much earlier, while the margin itself is kept (a turn is never booked closer than
  1/rate after the previous request left).
A 429 pushes the next turn out and widens the margin.
"""

from __future__ import annotations

import asyncio
import collections
import time

from aiolimiter import AsyncLimiter

MAX_RATE_PER_S = 2.0
# A 429 is never a row failure, but a server that refuses for this long is not coming back.
MAX_RATE_LIMITED_S = 15 * 60.0
# Requests reach the server with jitter: ±1.5 ms measured on loopback against the sandbox in
# its own process, more when a threaded server is busy. Requests leave at least this far
# above 1/rate apart (about 0.6% of the rate). A server with more jitter answers 429 now and
# then; each 429 widens the margin (below), so the sender learns the server it talks to.
SAFETY_MARGIN_S = 0.003
# How many recent requests the least turn-to-wire delay is taken from.
LATENESS_WINDOW = 32
# The last this-many seconds before a turn (after the timers' learned lateness) are waited by
# yielding to the event loop and reading the clock again; other tasks run meanwhile.
YIELD_WAKE_S = 0.003
# The long sleep towards a turn ends this long before it: long sleeps wake up to ~3 % late.
COARSE_LEAD_S = 0.030
# How many recent short sleeps their lateness is learned from, which of them counts (a low
# quantile: waking early costs a yield loop, waking late costs the turn), and the most it
# may be (a stretch of very late wake-ups must not turn into long yield loops).
TIMER_WINDOW = 16
TIMER_QUANTILE = 0.25
MAX_TIMER_LATENESS_S = 0.030
# The limiter's period is this much under 1/rate: its wake-up (as late as the loop's timers)
# must not delay a turn; the booking in `sent()` keeps every gap at or above 1/rate.
LIMITER_LEAD_S = 0.050
# A request on a connection just opened reaches the server's rate limit late by however long
# the server takes to accept the connection (fifty tokens starting at once: 20-30 ms, and the
# next request of half of them was answered 429). The next request waits this much longer.
FRESH_CONNECTION_EXTRA_S = 0.050
# Each 429 widens the spacing by this much, up to MAX_EXTRA_SPACING_S: a server (or network)
# with more jitter than the margin teaches the sender to keep further away from the limit.
SPACING_STEP_ON_429_S = 0.002
MAX_EXTRA_SPACING_S = 0.020


class Pacer:
    """Requests of one token `spacing_s` apart, never closer than 1/rate; a 429 pauses it."""

    def __init__(self, rate: float, extra_margin_s: float = 0.0) -> None:
        """`extra_margin_s` widens SAFETY_MARGIN_S (a server busy with many tokens)."""
        if not 0 < rate <= MAX_RATE_PER_S:
            msg = f"rate must be above 0 and at most {MAX_RATE_PER_S} requests per second"
            raise ValueError(msg)
        self._limit_s = 1.0 / rate
        self._base_spacing_s = self._limit_s + SAFETY_MARGIN_S + extra_margin_s
        self.spacing_s = self._base_spacing_s
        self._limiter = AsyncLimiter(1, self._limit_s - LIMITER_LEAD_S)
        self._floor = 0.0  # hard: 1/rate after the last departure, or the end of a pause
        self._not_before = 0.0  # soft: a full spacing after the last departure
        self._turn = 0.0
        self._lateness: collections.deque[float] = collections.deque(maxlen=LATENESS_WINDOW)
        self._timer_lateness: collections.deque[float] = collections.deque(maxlen=TIMER_WINDOW)
        self._usual_timer_lateness_s = 0.0

    async def wait_turn(self) -> None:
        """Return when the next request of this token may leave.

        The limiter hands out turns one at a time (one per ~1/rate); a turn's holder then
        waits for `_not_before` (a spacing after the previous request left, or the end of a
        429's Retry-After), re-reading it after every wait. The caller must call `leaving()`
        without awaiting in between, so no two holders can leave together, and `sent()` once
        the request is on the wire (milliseconds later, well within the limiter's period).
        """
        loop = asyncio.get_running_loop()
        await self._limiter.acquire()
        while (delay := max(self._floor, self._not_before) - loop.time()) > 0:
            early_s = YIELD_WAKE_S + self._usual_timer_lateness_s
            if delay > COARSE_LEAD_S + early_s:
                await asyncio.sleep(delay - COARSE_LEAD_S)
            elif delay > early_s:
                wake_at = loop.time() + delay - early_s
                await asyncio.sleep(delay - early_s)
                self._learn_timer_lateness(loop.time() - wake_at)
            else:
                await asyncio.sleep(0)  # let everything else run, then look at the clock again
        self._turn = loop.time()

    def _learn_timer_lateness(self, late_s: float) -> None:
        """How late this loop's short sleeps usually wake: a low quantile of the recent ones."""
        self._timer_lateness.append(max(0.0, late_s))
        recent = sorted(self._timer_lateness)
        usual = recent[int(len(recent) * TIMER_QUANTILE)]
        self._usual_timer_lateness_s = min(usual, MAX_TIMER_LATENESS_S)

    @property
    def _least_gap_s(self) -> float:
        """1/rate plus what 429s added to the margin: the closest two departures may come."""
        return self.spacing_s - SAFETY_MARGIN_S

    def leaving(self) -> None:
        """The request is about to be written: nothing of this token leaves within 1/rate.

        This holds even if the write fails half-way and `sent()` never comes.
        """
        now = asyncio.get_running_loop().time()
        self._floor = max(self._floor, now + self._least_gap_s)
        self._not_before = max(self._not_before, self._floor)

    def sent(self, *, fresh_connection: bool = False) -> None:
        """The request is on the wire: the next one leaves a full spacing from this moment.

        Booking from the moment the bytes were written (not from the turn) makes 1/rate a
        floor between the requests' real departures: the write itself waits for the event
        loop, 0.5-4 ms that vary from request to request. The turn is booked early by the
        least delay recent requests had between their turn and the wire; a request delayed
        at least that much (nearly all) still leaves a full `spacing_s` after this one, and
        the delay every request has is not added to each gap.
        """
        now = asyncio.get_running_loop().time()
        self._lateness.append(max(0.0, now - self._turn))
        self._floor = max(self._floor, now + self._least_gap_s)
        early = now + self.spacing_s - min(self._lateness)
        if fresh_connection:
            early += FRESH_CONNECTION_EXTRA_S
        self._not_before = max(self._not_before, self._floor, early)

    def continue_after(self, last_sent_unix: float | None) -> None:
        """Keep the spacing from a request an earlier run sent (Unix time) with this token."""
        if last_sent_unix is not None:
            wait = last_sent_unix + self.spacing_s - time.time()
            if wait > 0:
                self.pause(min(wait, self.spacing_s))

    def pause(self, seconds: float) -> None:
        """Hold every request of this token for `seconds` (a Retry-After, or an earlier run)."""
        until = asyncio.get_running_loop().time() + seconds
        self._floor = max(self._floor, until)
        self._not_before = max(self._not_before, until)

    def rate_limited(self, retry_after_s: float) -> None:
        """A 429: wait out Retry-After, and keep a little further from the limit from now on."""
        self.pause(retry_after_s)
        self.spacing_s = min(
            self.spacing_s + SPACING_STEP_ON_429_S, self._base_spacing_s + MAX_EXTRA_SPACING_S
        )
