"""Request spacing per token: the API allows 2 requests per second, and we never exceed it.

`AsyncLimiter(2, 1)` lets 3 requests into one second (its bucket starts full and holds two),
so we use a bucket of ONE with a period of 1/rate: no two requests are ever closer than
1/rate, which is what a strict server measures. On top of it, each request leaves
`spacing_s` (1/rate plus a small margin for arrival jitter) after the previous one really
left. Between a request's turn and the wire there is always a little work (the event loop
waking up, the journal's write); the pacer learns the least of it over recent requests and
starts the next turn that much earlier, so that part does not add up over hundreds of
requests while the margin itself is kept (a turn is never booked closer than 1/rate after
the previous send, so a delay above the margin still adds up). A 429 pushes the next slot
out and widens the margin.
"""

from __future__ import annotations

import asyncio
import collections
import time

from aiolimiter import AsyncLimiter

MAX_RATE_PER_S = 2.0
# Requests reach the server with jitter: ±1.5 ms measured on loopback against the sandbox in
# its own process, more when a threaded server is busy. Requests leave at least this far
# above 1/rate apart (about 0.6% of the rate). A server with more jitter answers 429 now and
# then; each 429 widens the margin (below), so the sender learns the server it talks to.
SAFETY_MARGIN_S = 0.003
# How many recent requests the least turn-to-wire delay is taken from.
LATENESS_WINDOW = 32
# Each 429 widens the spacing by this much, up to MAX_EXTRA_SPACING_S: a server (or network)
# with more jitter than the margin teaches the sender to keep further away from the limit.
SPACING_STEP_ON_429_S = 0.002
MAX_EXTRA_SPACING_S = 0.020


class Pacer:
    """Requests of one token `spacing_s` apart, never closer than 1/rate; a 429 pauses it."""

    def __init__(self, rate: float) -> None:
        if not 0 < rate <= MAX_RATE_PER_S:
            msg = f"rate must be above 0 and at most {MAX_RATE_PER_S} requests per second"
            raise ValueError(msg)
        self._limit_s = 1.0 / rate
        self._base_spacing_s = self._limit_s + SAFETY_MARGIN_S
        self.spacing_s = self._base_spacing_s
        self._limiter = AsyncLimiter(1, self._limit_s)
        self._not_before = 0.0
        self._turn = 0.0
        self._lateness: collections.deque[float] = collections.deque(maxlen=LATENESS_WINDOW)

    async def wait_turn(self) -> None:
        """Return when the next request of this token may leave.

        The limiter hands out slots no closer than 1/rate; a slot's holder then also waits
        for `_not_before` (a spacing after the previous request left, or the end of a 429's
        Retry-After). The caller must call `sent()` without awaiting in between, so no two
        holders can leave together.
        """
        loop = asyncio.get_running_loop()
        await self._limiter.acquire()
        while (delay := self._not_before - loop.time()) > 0:
            await asyncio.sleep(delay)
        self._turn = loop.time()

    def sent(self) -> None:
        """The request is leaving now: the next one leaves a full spacing from this moment.

        Its turn is booked early by the least delay recent requests had between their turn
        and `sent()`; a request delayed at least that much (nearly all) still leaves a full
        `spacing_s` after this one, and the delay every request has is not added to each gap.
        """
        now = asyncio.get_running_loop().time()
        self._lateness.append(max(0.0, now - self._turn))
        learned = self.spacing_s - self._base_spacing_s  # margin added by 429s
        floor = now + self._limit_s + learned  # never closer than 1/rate, whatever the delays
        early = now + self.spacing_s - min(self._lateness)
        self._not_before = max(self._not_before, floor, early)

    def continue_after(self, last_sent_unix: float | None) -> None:
        """Keep the spacing from a request an earlier run sent (Unix time) with this token."""
        if last_sent_unix is not None:
            wait = last_sent_unix + self.spacing_s - time.time()
            if wait > 0:
                self.pause(min(wait, self.spacing_s))

    def pause(self, seconds: float) -> None:
        """Hold every request of this token for `seconds` (a Retry-After, or an earlier run)."""
        loop = asyncio.get_running_loop()
        self._not_before = max(self._not_before, loop.time() + seconds)

    def rate_limited(self, retry_after_s: float) -> None:
        """A 429: wait out Retry-After, and keep a little further from the limit from now on."""
        self.pause(retry_after_s)
        self.spacing_s = min(
            self.spacing_s + SPACING_STEP_ON_429_S, self._base_spacing_s + MAX_EXTRA_SPACING_S
        )
