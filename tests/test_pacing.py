"""pacing.py: never two requests of one token closer than 1/rate; no drift below the rate."""

from __future__ import annotations

import asyncio
import itertools
import selectors
import statistics
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from batch_uploader.pacing import (
    FRESH_CONNECTION_EXTRA_S,
    SAFETY_MARGIN_S,
    SPACING_STEP_ON_429_S,
    Pacer,
)

RATE = 2.0
LIMIT_S = 1 / RATE
SLOW_TIMERS_S = 0.008
SLOW_TIMERS_SHARE = 0.03
"""`run_with_slow_timers` wakes every sleeper 8 ms + 3 % of its sleep late (+ this VM's own):
a 0.4 s sleep woke 4-16 ms late here, and CI saw every gap 6-10 ms long."""

LOOP_TURN_S = 0.00001
"""What one turn of the virtual-time loop costs (real ones take 2-20 µs here)."""

T = TypeVar("T")


class SlowTimerSelector(selectors.DefaultSelector):
    """A selector whose timed waits end late (SLOW_TIMERS_S + SLOW_TIMERS_SHARE), as a VM's do.

    Real time cannot be made slow on demand; this is the one thing these tests fake. A wait
    that returns events (a socket is ready) is not delayed, and neither is a poll (timeout 0),
    so a pacer that yields to the loop still sees the clock move on time.
    """

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(timeout)
        if timeout and not ready:
            time.sleep(SLOW_TIMERS_S + SLOW_TIMERS_SHARE * timeout)
        return ready


class VirtualClock(selectors.DefaultSelector):
    """A selector that never waits: a timed wait with nothing ready moves the clock on.

    A turn of the loop itself costs LOOP_TURN_S, so a task that yields sees time pass.
    """

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(0)
        self.now += timeout if timeout and not ready else LOOP_TURN_S
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop on virtual time: every sleep takes exactly as long as asked, instantly.

    For the pacer's arithmetic (where a real clock's millisecond noise would hide a
    millisecond defect); what real timers do is tested on real time.
    """

    def __init__(self) -> None:
        self._clock = VirtualClock()
        super().__init__(self._clock)

    def time(self) -> float:
        return self._clock.now


def run_on_virtual_time(main: Coroutine[Any, Any, T]) -> T:
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main)
    finally:
        loop.close()


def run_with_slow_timers(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on an event loop whose timers wake late, the longer the sleep the later."""
    loop = asyncio.SelectorEventLoop(SlowTimerSelector())
    try:
        return loop.run_until_complete(main)
    finally:
        loop.close()


async def send_times(pacer: Pacer, count: int, late_s: float = 0.0) -> list[float]:
    """Loop times at which `count` requests left, each `late_s` of work after its turn came."""
    loop = asyncio.get_running_loop()
    times = []
    for _ in range(count):
        await pacer.wait_turn()
        if late_s:
            await asyncio.sleep(late_s)  # work between the turn and the wire (the journal)
        pacer.sent()
        times.append(loop.time())
    return times


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def test_requests_are_never_closer_than_the_limit() -> None:
    """Gaps between sends stay above 1/rate, and near 1/rate + SAFETY_MARGIN_S."""
    spaced = gaps(asyncio.run(send_times(Pacer(RATE), 7)))
    assert min(spaced) >= LIMIT_S
    # Real time on a shared VM: a gap can be a few ms long now and then; a pacer that
    # ignored the booking would be a whole timer period (~15 ms on Windows) or more over.
    assert statistics.median(spaced) < LIMIT_S + SAFETY_MARGIN_S + 0.010


def test_a_late_send_does_not_push_every_later_one_back() -> None:
    """Each request leaves 2 ms after its turn (the journal): the delays do not add up.

    On virtual time, so the 2 ms are exact: a pacer counting each gap from the real send
    would add them to every gap (505 ms); this one books each turn early by the least delay
    seen, so every gap is the spacing (503 ms), and never closer than 1/rate.
    """
    late_s = 0.002  # below the margin, as the journal's write is
    pacer = Pacer(RATE)
    spaced = gaps(run_on_virtual_time(send_times(pacer, 9, late_s=late_s)))
    assert min(spaced) >= LIMIT_S
    assert max(spaced[1:]) == pytest.approx(pacer.spacing_s, abs=0.0002)


def test_turns_come_on_time_even_when_the_loops_timers_wake_late() -> None:
    """Every sleep wakes 8 ms + 3 % late: the pacer wakes early enough and yields the rest.

    Nothing happens between turn and send here, so a typical gap is the spacing itself
    (1/rate + margin); a pacer that trusted the loop's timer (or only yielded for its last
    3 ms) would be 5-20 ms over on every gap. No gap is ever below 1/rate.
    """
    spaced = gaps(run_with_slow_timers(send_times(Pacer(RATE), 12)))
    assert min(spaced) >= LIMIT_S
    assert statistics.median(spaced) < LIMIT_S + SAFETY_MARGIN_S + SLOW_TIMERS_S / 2


def test_the_next_turn_is_booked_from_when_the_bytes_left() -> None:
    """A write that takes a few ms (the loop was busy) never shortens the next gap on the wire.

    `leaving()` comes before the write, `sent()` after it; the gap between two requests'
    real departures (at most their `sent()`) stays at least 1/rate whatever the writes took.
    """

    async def scenario() -> list[float]:
        pacer = Pacer(RATE)
        loop = asyncio.get_running_loop()
        wire = []
        for write_s in (0.006, 0.0, 0.006, 0.0, 0.006, 0.0):
            await pacer.wait_turn()
            pacer.leaving()
            turn = loop.time()
            await asyncio.sleep(write_s)  # the bytes go out somewhere in here
            pacer.sent()
            wire.append((turn, loop.time()))
        # worst case: a request left right at its turn, the one before at the end of its write
        return [later[0] - earlier[1] for earlier, later in itertools.pairwise(wire)]

    assert min(asyncio.run(scenario())) >= LIMIT_S


def test_a_write_that_never_finishes_still_holds_the_next_turn() -> None:
    """After `leaving()` without `sent()` (the connection broke mid-write) the next waits 1/rate."""

    async def scenario() -> float:
        pacer = Pacer(RATE)
        loop = asyncio.get_running_loop()
        await pacer.wait_turn()
        left = loop.time()  # read before leaving(), which books 1/rate from its own clock read
        pacer.leaving()
        await pacer.wait_turn()
        return loop.time() - left

    assert asyncio.run(scenario()) >= LIMIT_S


def test_a_429_waits_out_retry_after_and_widens_the_margin() -> None:
    """After a 429 the next request waits Retry-After, and later gaps are wider."""

    async def scenario() -> tuple[float, list[float]]:
        pacer = Pacer(RATE)
        loop = asyncio.get_running_loop()
        await pacer.wait_turn()
        pacer.sent()
        limited_at = loop.time()
        pacer.rate_limited(1.0)
        times = await send_times(pacer, 4)
        return times[0] - limited_at, gaps(times)

    waited, spaced = asyncio.run(scenario())
    assert waited >= 1.0
    assert min(spaced) >= LIMIT_S + SPACING_STEP_ON_429_S


def test_rates_above_the_api_limit_are_refused() -> None:
    """A pacer cannot be made faster than the API allows."""
    with pytest.raises(ValueError, match="at most"):
        Pacer(2.5)


def test_a_request_on_a_connection_just_opened_holds_the_next_turn_longer() -> None:
    """The server may still be accepting that connection: its stamp comes late, so wait more."""

    async def gap(fresh: bool) -> float:
        pacer = Pacer(RATE)
        loop = asyncio.get_running_loop()
        await pacer.wait_turn()
        pacer.leaving()
        pacer.sent(fresh_connection=fresh)
        first = loop.time()
        await pacer.wait_turn()
        return loop.time() - first

    plain, fresh = asyncio.run(gap(False)), asyncio.run(gap(True))
    assert LIMIT_S <= plain < LIMIT_S + FRESH_CONNECTION_EXTRA_S
    assert fresh >= LIMIT_S + FRESH_CONNECTION_EXTRA_S


def test_many_tokens_widen_every_tokens_margin() -> None:
    """Fifty tokens at once: each keeps a few ms further from the limit than a lone token."""
    from batch_uploader.lanes import MAX_SHARED_MARGIN_S, Router

    alone = Router("t0ken", {}, RATE).lanes[0].pacer.spacing_s
    many = Router(None, {source: f"token-{source}" for source in range(101, 151)}, RATE)
    spacings = {lane.pacer.spacing_s for lane in many.lanes}
    assert alone == pytest.approx(LIMIT_S + SAFETY_MARGIN_S)
    assert len(spacings) == 1
    assert alone < spacings.pop() <= alone + MAX_SHARED_MARGIN_S
