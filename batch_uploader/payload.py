"""ShipmentRequest → the exact JSON body the Create Shipment page documents.

camelCase names, only the fields that have values, integers as JSON integers and the cost
as a JSON number, `fulfillmentRequestId` rather than the deprecated `purchaseOrderId`.
"""

from __future__ import annotations

from typing import Any

from batch_uploader.models import CustomFields, ItemFields, ShipmentRequest

JsonObject = dict[str, Any]


def build_body(request: ShipmentRequest) -> JsonObject:
    """The request body; the same request always yields the same body."""
    body: JsonObject = {}
    po = request.po
    if po.fulfillment_request_id is not None:
        body["fulfillmentRequestId"] = po.fulfillment_request_id
    else:
        body["purchaseOrderNumber"] = po.po_number
        if po.source_id is not None:
            body["sourceId"] = po.source_id
    if request.allow_duplicate_tracking:
        body["allowDuplicateTrackingNumbers"] = True
    fields = request.shipment
    shipment: JsonObject = {"trackingNumber": request.tracking_number}
    _put(shipment, "carrier", fields.carrier)
    _put(shipment, "method", fields.method)
    _put(shipment, "shippedAt", fields.shipped_at)
    _put(shipment, "shippingCost", fields.shipping_cost)
    _put(shipment, "trackingUrl", fields.tracking_url)
    _put(shipment, "note", fields.note)
    _put(shipment, "suppressed", fields.suppressed)
    shipment["shipmentItems"] = [_item(item) for item in request.items]
    _put(shipment, "customFields", _custom(fields.custom_fields))
    body["shipment"] = shipment
    return body


def _item(item: ItemFields) -> JsonObject:
    body: JsonObject = {}
    _put(body, "sku", item.sku)
    body["quantity"] = item.quantity
    _put(body, "purchaseOrderItemId", item.purchase_order_item_id)
    _put(body, "orderItemId", item.order_item_id)
    _put(body, "inventoryVariantId", item.inventory_variant_id)
    _put(body, "rmaItemId", item.rma_item_id)
    _put(body, "customFields", _custom(item.custom_fields))
    return body


def _custom(fields: CustomFields) -> list[dict[str, str]] | None:
    return [{"name": name, "value": value} for name, value in fields] or None


def _put(body: JsonObject, key: str, value: object) -> None:
    """Only fields that have a value are sent: the API treats absent and empty differently."""
    if value is not None and value != "":
        body[key] = value
