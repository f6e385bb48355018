"""Tokens as lanes: each token's secret, fingerprint and pacer, and its queue of requests.

Every lane has its own queue and workers, so many tokens send at the same time; within a
lane, requests are handed out in file order, never two for the same PO at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from batch_uploader.models import ShipmentRequest
from batch_uploader.pacing import Pacer


@dataclass(frozen=True)
class Lane:
    """One token: its secret, its fingerprint for journal keys, and its own pacer."""

    token: str = field(repr=False)
    fingerprint: str
    pacer: Pacer
    source: str = "FLXPOINT_API_TOKEN (or --token)"  # where the token came from, for messages


class LaneQueue:
    """One token's pending requests, handed to its workers in order, one PO at a time."""

    def __init__(self, requests: Sequence[ShipmentRequest]) -> None:
        self._requests = requests
        self.pending: list[int] = []
        self._busy_pos: set[str] = set()
        self._ready = asyncio.Condition()

    async def take(self, stopping: asyncio.Event) -> int | None:
        """The next request whose PO has nothing in flight, or None when done or stopping."""
        async with self._ready:
            while True:
                if stopping.is_set() or not self.pending:
                    return None
                for position, index in enumerate(self.pending):
                    po = self._requests[index].po.key
                    if po not in self._busy_pos:
                        del self.pending[position]
                        self._busy_pos.add(po)
                        return index
                await self._ready.wait()

    async def release(self, index: int) -> None:
        async with self._ready:
            self._busy_pos.discard(self._requests[index].po.key)
            self._ready.notify_all()

    async def wake(self) -> None:
        """Let waiting workers see that the run is stopping."""
        async with self._ready:
            self._ready.notify_all()
