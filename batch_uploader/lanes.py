"""Tokens as lanes: each token's secret, fingerprint and pacer, its queue of requests, and
the router that picks the lane of a request (its source's own token, else the default).

Every lane has its own queue and workers, so many tokens send at the same time; within a
lane, requests are handed out in file order, never two for the same PO at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from batch_uploader.journal import token_fingerprint
from batch_uploader.models import ShipmentRequest
from batch_uploader.pacing import Pacer

MARGIN_PER_TOKEN_S = 0.0001
MAX_SHARED_MARGIN_S = 0.005
"""Each token beyond the first adds this to every token's spacing margin, up to the max: a
server taking fifty tokens' requests at once stamps their arrival with more jitter (one 429
in 1,000 requests with 50 tokens, each costing its token a second's Retry-After)."""


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


class Router:
    """Which token sends a request: the source's own token (--tokens), else the default one."""

    def __init__(self, default: str | None, by_source: dict[int, str], rate: float) -> None:
        tokens = len(by_source) + (1 if default else 0)
        margin = min(MARGIN_PER_TOKEN_S * max(tokens - 1, 0), MAX_SHARED_MARGIN_S)
        self._default = (
            Lane(default, token_fingerprint(default), Pacer(rate, margin)) if default else None
        )
        self._by_source = {
            source: Lane(
                token,
                token_fingerprint(token),
                Pacer(rate, margin),
                f"source {source} (--tokens)",
            )
            for source, token in by_source.items()
        }
        self.lanes = [*self._by_source.values(), *([self._default] if self._default else [])]
        self.default_fingerprint = self._default.fingerprint if self._default else None
        self.source_fingerprints = {str(s): lane.fingerprint for s, lane in self._by_source.items()}

    def lane_for(self, request: ShipmentRequest) -> Lane:
        lane = self._by_source.get(request.po.source_id or 0, self._default)
        if lane is None:
            msg = f"no token for {request.label}"
            raise AssertionError(msg)  # prevented by pipeline's token check
        return lane
