"""Per-token rate limiters, as strict as the real API's 2 requests per second.

A limiter decides from arrival times (monotonic seconds) alone, so it judges what the
client sent, not how fast the server happened to read it. Arrivals may be presented
slightly out of order (handler threads race for the lock); each decision compares
the new arrival with its accepted neighbours on both sides. All limiters are
thread-safe.
"""

from __future__ import annotations

import bisect
import math
import threading
from typing import Literal, Protocol

LimiterKind = Literal["spacing", "sliding", "off"]

SLIDING_WINDOW_S = 1.0
# Accepted arrivals older than this many windows/gaps behind the newest are forgotten;
# out-of-order arrivals are never late by more than a fraction of a second.
HISTORY_SPANS = 4
# A rejected arrival is always told to wait a little, never zero.
MIN_WAIT_S = 0.001


class RateLimiter(Protocol):
    """Decides whether an arrival is accepted; accepted arrivals are remembered."""

    def admit(self, key: str, arrived_at: float) -> float | None:
        """Return None if accepted, else the seconds to wait before trying again (> 0)."""
        ...

    def reset(self) -> None:
        """Forget every accepted arrival."""
        ...


class NoLimiter:
    """Accepts everything (`limiter="off"`)."""

    def admit(self, key: str, arrived_at: float) -> float | None:
        """Accept every arrival."""
        return None

    def reset(self) -> None:
        """Nothing to forget."""


class SpacingLimiter:
    """Never two accepted arrivals of one key closer than `min_gap_s` seconds.

    `min_gap_s = 1/rate - tolerance_s`; a gap of exactly `min_gap_s` is accepted.
    """

    def __init__(self, rate: float, tolerance_s: float = 0.0) -> None:
        self.min_gap_s = 1.0 / rate - tolerance_s
        self._accepted: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def admit(self, key: str, arrived_at: float) -> float | None:
        """Accept unless an accepted arrival of `key` is within `min_gap_s` of this one."""
        if self.min_gap_s <= 0:
            return None
        with self._lock:
            times = self._accepted.setdefault(key, [])
            index = bisect.bisect_left(times, arrived_at)
            too_close_before = index > 0 and arrived_at - times[index - 1] < self.min_gap_s
            too_close_after = index < len(times) and times[index] - arrived_at < self.min_gap_s
            if too_close_before or too_close_after:
                return max(times[-1] + self.min_gap_s - arrived_at, MIN_WAIT_S)
            times.insert(index, arrived_at)
            _forget_before(times, times[-1] - HISTORY_SPANS * self.min_gap_s)
            return None

    def reset(self) -> None:
        """Forget every accepted arrival."""
        with self._lock:
            self._accepted.clear()


class SlidingWindowLimiter:
    """At most `limit` accepted arrivals of one key in any half-open window of `window_s`.

    For `rate >= 1` that is `floor(rate)` per 1.0 s; for a slower rate it is one per
    `1/rate` seconds (a 1-second window could not hold a fraction of a request).
    """

    def __init__(self, rate: float) -> None:
        self.limit = max(1, math.floor(rate))
        self.window_s = SLIDING_WINDOW_S if rate >= 1 else 1.0 / rate
        self._accepted: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def admit(self, key: str, arrived_at: float) -> float | None:
        """Accept unless some window containing this arrival would exceed `limit`."""
        with self._lock:
            times = self._accepted.setdefault(key, [])
            candidate = sorted([*times, arrived_at])
            # The fullest window containing the arrival starts at an arrival in
            # (arrived_at - window_s, arrived_at].
            starts = [t for t in candidate if arrived_at - self.window_s < t <= arrived_at]
            fullest = max(
                bisect.bisect_left(candidate, start + self.window_s)
                - bisect.bisect_left(candidate, start)
                for start in starts
            )
            if fullest > self.limit:
                recent = [t for t in times if t > arrived_at - self.window_s]
                wait = recent[-self.limit] + self.window_s - arrived_at
                return max(wait, MIN_WAIT_S)
            bisect.insort(times, arrived_at)
            _forget_before(times, times[-1] - HISTORY_SPANS * self.window_s)
            return None

    def reset(self) -> None:
        """Forget every accepted arrival."""
        with self._lock:
            self._accepted.clear()


def make_limiter(kind: LimiterKind, rate: float, spacing_tolerance_s: float) -> RateLimiter:
    """Build the limiter named by `kind`."""
    if kind == "spacing":
        return SpacingLimiter(rate, spacing_tolerance_s)
    if kind == "sliding":
        return SlidingWindowLimiter(rate)
    return NoLimiter()


def retry_after_header(wait_s: float) -> str:
    """Render a wait as a Retry-After value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(wait_s)))


def _forget_before(times: list[float], cutoff: float) -> None:
    del times[: bisect.bisect_left(times, cutoff)]
