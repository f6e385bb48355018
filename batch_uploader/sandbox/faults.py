"""Injected latency and failures, reproducible with a random seed.

Each draw is independent: a request is first delayed, then may fail before anything
is created, then (once created) may lose its reply or its connection. With the same
`random_seed` and the same request order, the same requests fail.
"""

from __future__ import annotations

import enum
import random
import threading


class AfterCreate(enum.Enum):
    """What happens to the reply of a request whose shipment was created."""

    REPLY = "reply"
    """Answer 201 with the shipment."""
    LOST_REPLY = "lost_reply"
    """Answer 500 although the shipment exists."""
    DROP_CONNECTION = "drop_connection"
    """Close the connection without any answer."""


class Faults:
    """Thread-safe draws of latency and faults."""

    def __init__(
        self,
        latency_s: tuple[float, float] = (0.0, 0.0),
        fail_before_rate: float = 0.0,
        lost_reply_rate: float = 0.0,
        drop_connection_rate: float = 0.0,
        random_seed: int | None = None,
    ) -> None:
        self._latency_s = latency_s
        self._fail_before_rate = fail_before_rate
        self._lost_reply_rate = lost_reply_rate
        self._drop_connection_rate = drop_connection_rate
        self._random = random.Random(random_seed)
        self._lock = threading.Lock()

    def _draw(self) -> float:
        with self._lock:
            return self._random.random()

    def latency(self) -> float:
        """Return a delay in seconds, uniform in `latency_s` (0 when both bounds are 0)."""
        low, high = self._latency_s
        if high <= 0:
            return 0.0
        with self._lock:
            return self._random.uniform(low, high)

    def fail_before(self) -> bool:
        """Return True if this request must fail before creating anything."""
        return self._fail_before_rate > 0 and self._draw() < self._fail_before_rate

    def after_create(self) -> AfterCreate:
        """Decide the fate of the reply of a created shipment."""
        if self._lost_reply_rate > 0 and self._draw() < self._lost_reply_rate:
            return AfterCreate.LOST_REPLY
        if self._drop_connection_rate > 0 and self._draw() < self._drop_connection_rate:
            return AfterCreate.DROP_CONNECTION
        return AfterCreate.REPLY
