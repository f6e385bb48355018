"""Strict parsing of a `POST /shipments` body into typed requests.

Strict like a careful production API: the body must be a JSON object sent as
`application/json`; unknown fields at any level, `null`, duplicate keys, NaN and
values of the wrong JSON type are refused. Integers must be JSON integers (not `1.0`,
not `true`, not `"1"`). Every refusal is an `ApiError(400)` whose message names the
field by its path, e.g. `shipment.shipmentItems[0].quantity`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

JSON_MEDIA_TYPE = "application/json"
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_VALUE_IN_MESSAGE_CHARS = 40

TOP_LEVEL_FIELDS = frozenset(
    {
        "purchaseOrderId",
        "purchaseOrderNumber",
        "sourceId",
        "allowDuplicateTrackingNumbers",
        "shipment",
        "fulfillmentRequestId",
    }
)
SHIPMENT_FIELDS = frozenset(
    {
        "note",
        "trackingUrl",
        "trackingNumber",
        "carrier",
        "method",
        "shippedAt",
        "shippingCost",
        "suppressed",
        "shipmentItems",
        "customFields",
    }
)
ITEM_FIELDS = frozenset(
    {
        "sku",
        "quantity",
        "inventoryVariantId",
        "orderItemId",
        "purchaseOrderItemId",
        "rmaItemId",
        "customFields",
        "sourceVariantId",
    }
)
CUSTOM_FIELD_FIELDS = frozenset({"name", "value"})
ITEM_IDENTIFIERS = ("sku", "sourceVariantId", "orderItemId", "purchaseOrderItemId")

# RFC 3339 date-time: the offset (or Z) is mandatory; datetime.fromisoformat then checks
# that the calendar values exist (no February 30th, no hour 24).
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)


class ApiError(Exception):
    """An error answer: HTTP status, message, optional extra JSON fields.

    The JSON body is always `{"status": ..., "message": ..., **extra}`.
    """

    def __init__(self, status: int, message: str, extra: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra: dict[str, Any] = dict(extra or {})

    def body(self) -> dict[str, Any]:
        """Return the JSON body of the answer."""
        return {"status": self.status, "message": self.message, **self.extra}


@dataclass(frozen=True)
class CustomField:
    """A custom field as sent (possibly empty or duplicated: the store filters those)."""

    name: str
    value: str


@dataclass(frozen=True)
class ItemRequest:
    """One `shipmentItems` entry; at least one identifier is set, `quantity >= 1`."""

    quantity: int
    sku: str | None = None
    source_variant_id: int | None = None
    order_item_id: int | None = None
    purchase_order_item_id: int | None = None
    inventory_variant_id: int | None = None
    rma_item_id: int | None = None
    custom_fields: tuple[CustomField, ...] = ()


@dataclass(frozen=True)
class ShipmentBody:
    """The `shipment` object; `tracking_number` is non-blank, `items` is non-empty."""

    tracking_number: str
    items: tuple[ItemRequest, ...]
    note: str | None = None
    tracking_url: str | None = None
    carrier: str | None = None
    method: str | None = None
    shipped_at: datetime | None = None
    shipping_cost: int | float | None = None
    suppressed: bool = False
    custom_fields: tuple[CustomField, ...] = field(default=())


@dataclass(frozen=True)
class CreateShipmentRequest:
    """A well-formed request; the PO it names may still not exist (checked by the store).

    `fulfillment_request_id` carries `fulfillmentRequestId` or the deprecated
    `purchaseOrderId` (they are the same value). At least one PO identifier is set.
    """

    shipment: ShipmentBody
    fulfillment_request_id: int | None = None
    purchase_order_number: str | None = None
    source_id: int | None = None
    allow_duplicate_tracking_numbers: bool = False


def bad_request(message: str) -> NoReturn:
    """Raise the 400 answer with `message`."""
    raise ApiError(400, message)


def parse_create_request(content_type: str | None, body: bytes) -> CreateShipmentRequest:
    """Parse a request body, or raise `ApiError(400)` naming what is wrong."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != JSON_MEDIA_TYPE:
        shown = content_type or "none"
        bad_request(f"Content-Type must be {JSON_MEDIA_TYPE}, got {shown}")
    raw = _decode_json(body)
    if not isinstance(raw, dict):
        bad_request(f"The request body must be a JSON object, got {_describe(raw)}")
    return _parse_top(raw)


def _decode_json(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        bad_request("The request body is not valid UTF-8")
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        bad_request(
            f"The request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            bad_request(f"Field {key!r} appears twice in one JSON object")
        result[key] = value
    return result


def _no_constants(name: str) -> NoReturn:
    bad_request(f"{name} is not a valid JSON number")


def _describe(value: Any) -> str:
    """Name a JSON value's type, with a short rendering of the value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {json.dumps(value)}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False)
        if len(shown) > MAX_VALUE_IN_MESSAGE_CHARS:
            shown = shown[: MAX_VALUE_IN_MESSAGE_CHARS - 4] + '..."'
        return f"string {shown}"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _name(path: str, key: str) -> str:
    """Return the dotted path of a field, as messages show it."""
    return f"{path}.{key}" if path else key


def _check_fields(obj: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
    for key, value in obj.items():
        name = _name(path, key)
        if key not in allowed:
            where = f"in {path}" if path else "at the top level"
            bad_request(f"Unknown field {name!r}; allowed {where}: {', '.join(sorted(allowed))}")
        if value is None:
            bad_request(f"Field {name!r} must not be null; leave it out instead")


def _int(obj: Mapping[str, Any], key: str, path: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    name = _name(path, key)
    if isinstance(value, bool) or not isinstance(value, int):
        bad_request(f"Field {name!r} must be a JSON integer, got {_describe(value)}")
    if not INT64_MIN <= value <= INT64_MAX:
        bad_request(f"Field {name!r} is out of the 64-bit integer range: {value}")
    return value


def _str(obj: Mapping[str, Any], key: str, path: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        name = _name(path, key)
        bad_request(f"Field {name!r} must be a JSON string, got {_describe(value)}")
    return value


def _non_blank(obj: Mapping[str, Any], key: str, path: str) -> str | None:
    value = _str(obj, key, path)
    if value is not None and not value.strip():
        name = _name(path, key)
        bad_request(f"Field {name!r} must not be empty")
    return value


def _bool(obj: Mapping[str, Any], key: str, path: str) -> bool | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        name = _name(path, key)
        bad_request(f"Field {name!r} must be a JSON boolean, got {_describe(value)}")
    return value


def _number(obj: Mapping[str, Any], key: str, path: str) -> int | float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        bad_request(f"Field {_name(path, key)!r} must be a JSON number, got {_describe(value)}")
    return value


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        bad_request(f"Field {name!r} must be a JSON object, got {_describe(value)}")
    return value


def _array(obj: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        bad_request(f"Field {_name(path, key)!r} must be a JSON array, got {_describe(value)}")
    return value


def _date_time(obj: Mapping[str, Any], key: str, path: str) -> datetime | None:
    value = _str(obj, key, path)
    if value is None:
        return None
    name = _name(path, key)
    if not _RFC3339.fullmatch(value):
        bad_request(
            f"Field {name!r} must be an RFC 3339 date-time with a UTC offset or Z, "
            f"like 2026-04-20T00:00:00Z; got {_describe(value)}"
        )
    try:
        # fromisoformat takes at most 6 fractional digits; RFC 3339 allows more.
        text = re.sub(r"(\.\d{6})\d+", r"\1", value.upper().replace("Z", "+00:00"))
        return datetime.fromisoformat(text)
    except ValueError:
        bad_request(f"Field {name!r} is not a real date and time: {_describe(value)}")


def _custom_fields(obj: Mapping[str, Any], path: str) -> tuple[CustomField, ...]:
    fields: list[CustomField] = []
    for index, entry in enumerate(_array(obj, "customFields", path)):
        where = f"{path}.customFields[{index}]"
        raw = _object(entry, where)
        _check_fields(raw, CUSTOM_FIELD_FIELDS, where)
        fields.append(
            CustomField(name=_str(raw, "name", where) or "", value=_str(raw, "value", where) or "")
        )
    return tuple(fields)


def _parse_item(entry: Any, path: str) -> ItemRequest:
    raw = _object(entry, path)
    _check_fields(raw, ITEM_FIELDS, path)
    quantity = _int(raw, "quantity", path)
    if quantity is None:
        bad_request(f"Field '{path}.quantity' is required")
    if quantity < 1:
        bad_request(f"Field '{path}.quantity' must be at least 1, got {quantity}")
    if not any(key in raw for key in ITEM_IDENTIFIERS):
        bad_request(f"{path} needs one of: {', '.join(ITEM_IDENTIFIERS)}")
    return ItemRequest(
        quantity=quantity,
        sku=_non_blank(raw, "sku", path),
        source_variant_id=_int(raw, "sourceVariantId", path),
        order_item_id=_int(raw, "orderItemId", path),
        purchase_order_item_id=_int(raw, "purchaseOrderItemId", path),
        inventory_variant_id=_int(raw, "inventoryVariantId", path),
        rma_item_id=_int(raw, "rmaItemId", path),
        custom_fields=_custom_fields(raw, path),
    )


def _parse_shipment(raw: dict[str, Any]) -> ShipmentBody:
    path = "shipment"
    _check_fields(raw, SHIPMENT_FIELDS, path)
    tracking_number = _non_blank(raw, "trackingNumber", path)
    if tracking_number is None:
        bad_request("Field 'shipment.trackingNumber' is required")
    entries = _array(raw, "shipmentItems", path)
    if not entries:
        bad_request("Field 'shipment.shipmentItems' must contain at least one item")
    items = tuple(
        _parse_item(entry, f"{path}.shipmentItems[{index}]") for index, entry in enumerate(entries)
    )
    return ShipmentBody(
        tracking_number=tracking_number,
        items=items,
        note=_str(raw, "note", path),
        tracking_url=_str(raw, "trackingUrl", path),
        carrier=_str(raw, "carrier", path),
        method=_str(raw, "method", path),
        shipped_at=_date_time(raw, "shippedAt", path),
        shipping_cost=_number(raw, "shippingCost", path),
        suppressed=bool(_bool(raw, "suppressed", path)),
        custom_fields=_custom_fields(raw, path),
    )


def _parse_top(raw: dict[str, Any]) -> CreateShipmentRequest:
    _check_fields(raw, TOP_LEVEL_FIELDS, "")
    if "shipment" not in raw:
        bad_request("Field 'shipment' is required")
    shipment = _parse_shipment(_object(raw["shipment"], "shipment"))
    fulfillment_request_id = _int(raw, "fulfillmentRequestId", "")
    purchase_order_id = _int(raw, "purchaseOrderId", "")
    if (
        fulfillment_request_id is not None
        and purchase_order_id is not None
        and fulfillment_request_id != purchase_order_id
    ):
        bad_request(
            f"fulfillmentRequestId {fulfillment_request_id} and purchaseOrderId "
            f"{purchase_order_id} must be the same value when both are given"
        )
    if fulfillment_request_id is None:
        fulfillment_request_id = purchase_order_id
    purchase_order_number = _non_blank(raw, "purchaseOrderNumber", "")
    if fulfillment_request_id is None and purchase_order_number is None:
        bad_request(
            "Identify the purchase order with fulfillmentRequestId, purchaseOrderId "
            "or purchaseOrderNumber"
        )
    return CreateShipmentRequest(
        shipment=shipment,
        fulfillment_request_id=fulfillment_request_id,
        purchase_order_number=purchase_order_number,
        source_id=_int(raw, "sourceId", ""),
        allow_duplicate_tracking_numbers=bool(_bool(raw, "allowDuplicateTrackingNumbers", "")),
    )
