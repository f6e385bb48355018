"""The sandbox's fixed world: one account, its sources and their purchase orders.

The seed is a JSON file (default `templates/sandbox-seed.json`). Loading it either
returns a fully checked `Seed` or raises `SeedError`; the server never starts on a
half-valid world.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batch_uploader.errors import ConfigError
from batch_uploader.sandbox.schema import ApiError, CreateShipmentRequest, parse_create_request

SEED_FILE_NAME = "sandbox-seed.json"


class SeedError(ConfigError):
    """The seed file is missing, not JSON, or does not describe a consistent world."""


def templates_dir() -> Path:
    """Return the templates directory, installed or checked out.

    A wheel ships the templates inside the package (`batch_uploader/templates`); an
    editable checkout keeps them at the repository root (`<repo>/templates`).
    """
    package_dir = Path(__file__).resolve().parent.parent
    bundled = package_dir / "templates"
    if bundled.is_dir():
        return bundled
    return package_dir.parent / "templates"


def default_seed_path() -> Path:
    """Return the path of the bundled seed file."""
    return templates_dir() / SEED_FILE_NAME


@dataclass(frozen=True)
class Source:
    """A source (supplier) of the account, with the token that acts as it."""

    source_id: int
    name: str
    token: str


@dataclass(frozen=True)
class PoItem:
    """One line of a purchase order."""

    purchase_order_item_id: int
    order_item_id: int
    sku: str
    quantity: int
    inventory_variant_id: int | None = None
    source_variant_id: int | None = None
    voided_quantity: int = 0
    """Cancelled before shipping: it no longer remains to ship."""
    title: str | None = None


@dataclass(frozen=True)
class PurchaseOrder:
    """A purchase order (fulfillment request) that shipments can be created for."""

    fulfillment_request_id: int
    purchase_order_number: str
    source_id: int
    order_id: int
    items: tuple[PoItem, ...]
    shipments: tuple[CreateShipmentRequest, ...] = ()
    """Shipments Flxpoint already had before the sandbox started (seed key `shipments`:
    `shipment` objects as a POST body holds them); they count as shipped quantity."""


@dataclass(frozen=True)
class Seed:
    """The whole world: unique tokens, unique source ids, unique PO identities."""

    account_id: int
    account_token: str
    sources: tuple[Source, ...]
    purchase_orders: tuple[PurchaseOrder, ...]


def load_seed(path: Path | None = None) -> Seed:
    """Read and check a seed file; `None` means the bundled one.

    Raises `SeedError` naming the file and the offending entry.
    """
    seed_path = path if path is not None else default_seed_path()
    try:
        raw = json.loads(seed_path.read_text(encoding="utf-8"))
    except OSError as exc:
        msg = f"Cannot read sandbox seed {seed_path}: {exc.strerror or exc}"
        raise SeedError(msg) from exc
    except json.JSONDecodeError as exc:
        msg = f"Sandbox seed {seed_path} is not valid JSON: {exc}"
        raise SeedError(msg) from exc
    try:
        seed = _parse_seed(raw)
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"Sandbox seed {seed_path} is malformed: {exc}"
        raise SeedError(msg) from exc
    _check_consistency(seed, seed_path)
    return seed


def _int(raw: dict[str, Any], key: str) -> int:
    value = raw[key]
    if not isinstance(value, int) or isinstance(value, bool):
        msg = f"{key!r} must be an integer, got {value!r}"
        raise TypeError(msg)
    return value


def _optional_int(raw: dict[str, Any], key: str) -> int | None:
    return _int(raw, key) if raw.get(key) is not None else None


def _str(raw: dict[str, Any], key: str) -> str:
    value = raw[key]
    if not isinstance(value, str) or not value:
        msg = f"{key!r} must be a non-empty string, got {value!r}"
        raise TypeError(msg)
    return value


def _seed_shipment(fr_id: int, shipment: Any) -> CreateShipmentRequest:
    """Parse a seed shipment exactly as `POST /shipments` would parse its `shipment`."""
    body = json.dumps({"fulfillmentRequestId": fr_id, "shipment": shipment}).encode("utf-8")
    try:
        return parse_create_request("application/json", body)
    except ApiError as exc:
        msg = f"a shipment of fulfillmentRequestId {fr_id}: {exc.message}"
        raise ValueError(msg) from exc


def _parse_seed(raw: Any) -> Seed:
    if not isinstance(raw, dict):
        msg = "the top level must be a JSON object"
        raise TypeError(msg)
    sources = tuple(
        Source(source_id=_int(s, "sourceId"), name=_str(s, "name"), token=_str(s, "token"))
        for s in raw["sources"]
    )
    purchase_orders = tuple(
        PurchaseOrder(
            fulfillment_request_id=_int(po, "fulfillmentRequestId"),
            purchase_order_number=_str(po, "purchaseOrderNumber"),
            source_id=_int(po, "sourceId"),
            order_id=_int(po, "orderId"),
            items=tuple(
                PoItem(
                    purchase_order_item_id=_int(item, "purchaseOrderItemId"),
                    order_item_id=_int(item, "orderItemId"),
                    sku=_str(item, "sku"),
                    quantity=_int(item, "quantity"),
                    inventory_variant_id=_optional_int(item, "inventoryVariantId"),
                    source_variant_id=_optional_int(item, "sourceVariantId"),
                    voided_quantity=_optional_int(item, "voidedQuantity") or 0,
                    title=_str(item, "title") if item.get("title") is not None else None,
                )
                for item in po["items"]
            ),
            shipments=tuple(
                _seed_shipment(_int(po, "fulfillmentRequestId"), shipment)
                for shipment in po.get("shipments", ())
            ),
        )
        for po in raw["purchaseOrders"]
    )
    return Seed(
        account_id=_int(raw, "accountId"),
        account_token=_str(raw, "accountToken"),
        sources=sources,
        purchase_orders=purchase_orders,
    )


def _check_consistency(seed: Seed, seed_path: Path) -> None:
    problems: list[str] = []
    if not seed.sources:
        problems.append("there must be at least one source")
    tokens = [seed.account_token, *(s.token for s in seed.sources)]
    if len(set(tokens)) != len(tokens):
        problems.append("tokens are not unique")
    source_ids = {s.source_id for s in seed.sources}
    if len(source_ids) != len(seed.sources):
        problems.append("sourceId values are not unique")
    fr_ids = [po.fulfillment_request_id for po in seed.purchase_orders]
    if len(set(fr_ids)) != len(fr_ids):
        problems.append("fulfillmentRequestId values are not unique")
    numbers = [(po.source_id, po.purchase_order_number) for po in seed.purchase_orders]
    if len(set(numbers)) != len(numbers):
        problems.append("a purchaseOrderNumber appears twice for one source")
    for po in seed.purchase_orders:
        if po.source_id not in source_ids:
            problems.append(f"purchase order {po.purchase_order_number} names unknown source")
        if not po.items:
            problems.append(f"purchase order {po.purchase_order_number} has no items")
        for item in po.items:
            if not 0 <= item.voided_quantity <= item.quantity:
                problems.append(
                    f"purchase order {po.purchase_order_number} item {item.sku}: "
                    "voidedQuantity must be between 0 and quantity"
                )
    if problems:
        msg = f"Sandbox seed {seed_path} is inconsistent: {'; '.join(problems)}"
        raise SeedError(msg)
