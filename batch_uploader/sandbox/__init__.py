"""A local fake of Flxpoint's shipment API, for demos, tests and benchmarks.

`POST /shipments` behaves as the API page documents (tokens, strict bodies, PO and item
checks, duplicate tracking numbers, 2 requests per second per token); the read side
(`GET /fulfillment-requests`, `GET /shipments`) answers from the same world, so
`shippedQuantity` grows as shipments are created, and shares each token's rate limit.
It can inject latency and the failures a real network produces, and serve HTTPS.
Standard library only.
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
