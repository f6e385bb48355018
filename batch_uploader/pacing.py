"""Request spacing per token: the API allows 2 requests per second, and we never exceed it.

`AsyncLimiter(2, 1)` lets 3 requests into one second (its bucket starts full and holds two),
so we use a bucket of ONE with a period of 1/rate: no two requests are ever closer than
`spacing_s`, which is what a strict server measures. A 429 pushes the next slot out.
"""

from __future__ import annotations

import asyncio
import time

from aiolimiter import AsyncLimiter

MAX_RATE_PER_S = 2.0
# Requests reach the server with jitter: ±1.5 ms measured on loopback against the sandbox in
# its own process, up to ~5 ms when a threaded server is busy (one 429 in the 3-token
# benchmark at 3 ms). 5 ms keeps a strict server's gaps above 1/rate for about 1% of rate.
SAFETY_MARGIN_S = 0.005
# Each 429 widens the spacing by this much, up to MAX_EXTRA_SPACING_S: a server (or network)
# with more jitter than the margin teaches the sender to keep further away from the limit.
SPACING_STEP_ON_429_S = 0.002
MAX_EXTRA_SPACING_S = 0.020


class Pacer:
    """Never two requests of one token closer than `spacing_s`; a 429 pauses the token."""

    def __init__(self, rate: float) -> None:
        if not 0 < rate <= MAX_RATE_PER_S:
            msg = f"rate must be above 0 and at most {MAX_RATE_PER_S} requests per second"
            raise ValueError(msg)
        self._base_spacing_s = 1.0 / rate + SAFETY_MARGIN_S
        self.spacing_s = self._base_spacing_s
        self._limiter = AsyncLimiter(1, self.spacing_s)
        self._not_before = 0.0

    async def wait_turn(self) -> None:
        """Return when the next request of this token may leave.

        The limiter hands out slots one spacing apart; a slot's holder then also waits for
        `_not_before` (a full spacing after the previous request really left, or the end of
        a 429's Retry-After). The caller must call `sent()` without awaiting in between, so
        no two holders can leave together.
        """
        loop = asyncio.get_running_loop()
        await self._limiter.acquire()
        while (delay := self._not_before - loop.time()) > 0:
            await asyncio.sleep(delay)

    def sent(self) -> None:
        """The request is leaving now: the next one waits a full spacing from this moment.

        Work between the limiter's slot and the wire (the journal's fsync) varies; counting
        from the real send keeps that variation out of the gaps the server measures.
        """
        self.pause(self.spacing_s)

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
        widened = min(
            self.spacing_s + SPACING_STEP_ON_429_S, self._base_spacing_s + MAX_EXTRA_SPACING_S
        )
        if widened != self.spacing_s:
            self.spacing_s = widened
            self._limiter = AsyncLimiter(1, widened)
