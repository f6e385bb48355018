"""A local fake of Flxpoint's `POST /shipments`, for demos, tests and benchmarks.

It behaves as the API page documents (tokens, strict bodies, PO and item checks,
duplicate tracking numbers, 2 requests per second per token) and can inject latency
and the failures a real network produces. Standard library only.
"""

from batch_uploader.sandbox.seed import SeedError, load_seed, templates_dir
from batch_uploader.sandbox.server import Sandbox, serve_forever
from batch_uploader.sandbox.state import SandboxOptions, SandboxStats, token_fingerprint

__all__ = [
    "Sandbox",
    "SandboxOptions",
    "SandboxStats",
    "SeedError",
    "load_seed",
    "serve_forever",
    "templates_dir",
    "token_fingerprint",
]
