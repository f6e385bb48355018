"""The sandbox's options, its counters, and the lock that makes it thread-safe.

`SandboxState` wraps the `World` (purchase orders and shipments) and the counters in
one lock, so concurrent handler threads see a consistent world: two requests for the
same tracking number on one PO can never both create a shipment.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from batch_uploader.errors import ConfigError
from batch_uploader.sandbox.limits import make_limiter
from batch_uploader.sandbox.reads import FrQuery, ShipmentQuery
from batch_uploader.sandbox.schema import ApiError, CreateShipmentRequest
from batch_uploader.sandbox.seed import Seed, SeedError, default_seed_path, load_seed, templates_dir
from batch_uploader.sandbox.world import Principal, World, token_fingerprint

__all__ = [
    "Principal",
    "SandboxOptions",
    "SandboxState",
    "SandboxStats",
    "templates_dir",
    "token_fingerprint",
]


@dataclass(frozen=True)
class SandboxOptions:
    """How the sandbox behaves; the defaults mimic the real API without faults.

    Out-of-range values raise `ConfigError` naming every offending option.
    """

    seed_path: Path | None = None
    """Seed file; None means `templates/sandbox-seed.json`."""
    limiter: Literal["spacing", "sliding", "off"] = "spacing"
    rate: float = 2.0
    """Requests per second per token."""
    spacing_tolerance_s: float = 0.0
    """With "spacing", a gap under `1/rate - spacing_tolerance_s` seconds is refused."""
    latency_s: tuple[float, float] = (0.0, 0.0)
    """Uniform random delay before answering, in seconds."""
    fail_before_rate: float = 0.0
    """Share of requests answered 500 before creating anything."""
    lost_reply_rate: float = 0.0
    """Share of requests created, then answered 500."""
    drop_connection_rate: float = 0.0
    """Share of requests created, then closed without any reply."""
    auto_create_pos: bool = False
    """Unknown POs are created on first use and any item is accepted."""
    random_seed: int | None = None
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)
    """Serve HTTPS with this server-side context (the URL then starts with https://)."""

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.limiter not in ("spacing", "sliding", "off"):
            problems.append(f"limiter must be spacing, sliding or off, got {self.limiter!r}")
        if not (math.isfinite(self.rate) and self.rate > 0):
            problems.append(
                f"rate must be a positive number of requests per second, got {self.rate}"
            )
        if self.spacing_tolerance_s < 0:
            problems.append(
                f"spacing_tolerance_s must not be negative, got {self.spacing_tolerance_s}"
            )
        low, high = self.latency_s
        if not 0 <= low <= high:
            problems.append(
                f"latency_s must be (low, high) with 0 <= low <= high, got {self.latency_s}"
            )
        for name in ("fail_before_rate", "lost_reply_rate", "drop_connection_rate"):
            share = getattr(self, name)
            if not 0 <= share <= 1:
                problems.append(f"{name} must be between 0 and 1, got {share}")
        if problems:
            msg = "Invalid sandbox options: " + "; ".join(problems)
            raise ConfigError(msg)


@dataclass(frozen=True)
class SandboxStats:
    """A snapshot of what the sandbox has seen since start or the last reset."""

    requests: int = 0
    """Every POST /shipments received, whatever its answer (reads: see `reads`)."""
    created: int = 0
    """Shipments created (including those whose reply was lost or dropped)."""
    rate_limited: int = 0
    """API requests (POSTs and GETs: one limit) answered 429."""
    server_errors: int = 0
    """Injected faults: 500 answers and dropped connections."""
    request_times: dict[str, list[float]] = field(default_factory=dict)
    """Per token fingerprint, the monotonic arrival times of ACCEPTED requests, GETs and
    POSTs alike (they share the token's limit)."""
    max_in_flight: int = 0
    """The most POST /shipments requests handled at the same time."""
    status_counts: dict[int, int] = field(default_factory=dict)
    """How many answers of each HTTP status POSTs got (dropped connections: none)."""
    reads: int = 0
    """Every GET of the API (`/fulfillment-requests`, `/shipments`) received."""
    read_status_counts: dict[int, int] = field(default_factory=dict)
    """How many answers of each HTTP status those GETs got."""

    def to_json(self) -> dict[str, Any]:
        """Return the stats as a JSON-ready dict (status codes become string keys)."""
        data = dataclasses.asdict(self)
        data["status_counts"] = {str(code): n for code, n in self.status_counts.items()}
        data["read_status_counts"] = {str(code): n for code, n in self.read_status_counts.items()}
        return data


@dataclass
class _Counters:
    requests: int = 0
    created: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    request_times: dict[str, list[float]] = field(default_factory=dict)
    status_counts: dict[int, int] = field(default_factory=dict)
    reads: int = 0
    read_status_counts: dict[int, int] = field(default_factory=dict)


class SandboxState:
    """The thread-safe store behind the HTTP handler."""

    def __init__(self, options: SandboxOptions) -> None:
        self._options = options
        self._lock = threading.Lock()
        self._limiter = make_limiter(options.limiter, options.rate, options.spacing_tolerance_s)
        self._world = self._new_world()
        self._counters = _Counters()

    @property
    def seed(self) -> Seed:
        """The seed currently loaded."""
        with self._lock:
            return self._world.seed

    # --- counters -----------------------------------------------------------------

    def begin_request(self) -> None:
        """Count a POST /shipments and mark it in flight."""
        with self._lock:
            counters = self._counters
            counters.requests += 1
            counters.in_flight += 1
            counters.max_in_flight = max(counters.max_in_flight, counters.in_flight)

    def end_request(self, status: int | None) -> None:
        """Mark a request finished; `status` None means no answer was sent."""
        with self._lock:
            counters = self._counters
            counters.in_flight -= 1
            if status is not None:
                counters.status_counts[status] = counters.status_counts.get(status, 0) + 1

    def begin_read(self) -> None:
        """Count a GET of the API."""
        with self._lock:
            self._counters.reads += 1

    def end_read(self, status: int | None) -> None:
        """Count the status a GET was answered with (None: no answer was sent)."""
        if status is None:
            return
        with self._lock:
            counts = self._counters.read_status_counts
            counts[status] = counts.get(status, 0) + 1

    def record_server_error(self) -> None:
        """Count an injected 500 or dropped connection."""
        with self._lock:
            self._counters.server_errors += 1

    def authenticate(self, token: str | None) -> Principal | None:
        """Return who `token` acts as, or None if it is missing or unknown."""
        if not token:
            return None
        with self._lock:
            return self._world.principal(token)

    def admit(self, principal: Principal, arrived_at: float) -> float | None:
        """Apply the rate limit; return None if accepted, else the seconds to wait."""
        wait_s = self._limiter.admit(principal.fingerprint, arrived_at)
        with self._lock:
            if wait_s is None:
                self._counters.request_times.setdefault(principal.fingerprint, []).append(
                    arrived_at
                )
            else:
                self._counters.rate_limited += 1
        return wait_s

    # --- snapshots ----------------------------------------------------------------

    def shipments(self) -> list[dict[str, Any]]:
        """Return a deep copy of every created shipment, in creation order."""
        with self._lock:
            return copy.deepcopy(self._world.shipments)

    def stats(self) -> SandboxStats:
        """Return a snapshot of the counters."""
        with self._lock:
            counters = self._counters
            return SandboxStats(
                requests=counters.requests,
                created=counters.created,
                rate_limited=counters.rate_limited,
                server_errors=counters.server_errors,
                request_times={k: list(v) for k, v in counters.request_times.items()},
                max_in_flight=counters.max_in_flight,
                status_counts=dict(counters.status_counts),
                reads=counters.reads,
                read_status_counts=dict(counters.read_status_counts),
            )

    def _new_world(self) -> World:
        seed = load_seed(self._options.seed_path)
        try:
            return World(seed, auto_create_pos=self._options.auto_create_pos)
        except ApiError as exc:  # a seed shipment the POST rules refuse
            path = self._options.seed_path or default_seed_path()
            msg = f"Sandbox seed {path} is inconsistent: a seed shipment: {exc.message}"
            raise SeedError(msg) from exc

    def reset(self) -> None:
        """Forget shipments, counters and rate-limit history; reload the seed file."""
        world = self._new_world()  # outside the lock: a broken seed changes nothing
        self._limiter.reset()
        with self._lock:
            in_flight = self._counters.in_flight
            self._world = world
            self._counters = _Counters(in_flight=in_flight, max_in_flight=in_flight)

    # --- creating -----------------------------------------------------------------

    def fulfillment_requests(self, principal: Principal, query: FrQuery) -> list[dict[str, Any]]:
        """One page of `GET /fulfillment-requests` (may create POs: `auto_create_pos`)."""
        with self._lock:
            return self._world.fulfillment_requests(principal, query)

    def find_shipments(self, principal: Principal, query: ShipmentQuery) -> list[dict[str, Any]]:
        """One page of `GET /shipments`."""
        with self._lock:
            return self._world.find_shipments(principal, query)

    def shipment(self, principal: Principal, shipment_id: int) -> dict[str, Any]:
        """`GET /shipments/{id}`, or `ApiError(404)`."""
        with self._lock:
            return self._world.shipment(principal, shipment_id)

    def create(self, principal: Principal, request: CreateShipmentRequest) -> dict[str, Any]:
        """Create a shipment and return a copy of it, or raise `ApiError`.

        The checks are `World.create`'s; the lock makes check-then-create atomic.
        """
        with self._lock:
            shipment = self._world.create(principal, request)
            self._counters.created += 1
            return shipment
