"""Customer and order import and look-up (R22, R38)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from afterdesk.core.api_auth import request_user as _user
from afterdesk.core.schemas import error_responses
from afterdesk.customers import selectors, services
from afterdesk.customers.choices import ContactKind
from afterdesk.customers.models import Customer, Order
from afterdesk.customers.permissions import get_customer_for_user, require_import
from afterdesk.customers.schemas import CustomerImportIn, CustomerOut, OrderImportIn, OrderOut

router = Router()
ERRORS = error_responses(400, 401, 403, 404, 413, 422)


def customer_out(customer: Customer) -> dict[str, Any]:
    contacts = list(customer.contacts.all())
    return {
        "id": customer.pk,
        "name": customer.name,
        "external_ref": customer.external_ref,
        "email": customer.email,
        "phone": customer.phone,
        "emails": [c.value for c in contacts if c.kind == ContactKind.EMAIL],
        "phones": [c.value for c in contacts if c.kind == ContactKind.PHONE],
        "language": customer.language,
        "vip_tier": customer.vip_tier,
        "segment": customer.segment.code if customer.segment else None,
        "organisation": customer.organisation.name if customer.organisation else None,
        "dedicated_agent": customer.dedicated_agent.username if customer.dedicated_agent else None,
        "created_at": customer.created_at,
    }


def order_out(order: Order) -> dict[str, Any]:
    return {
        "reference": order.reference,
        "customer": order.customer_id,
        "source": order.source,
        "placed_at": order.placed_at,
        "delivered_at": order.delivered_at,
        "currency": order.currency,
        "total": str(order.total),
        "lines": [
            {
                "sku": line.sku,
                "description": line.description,
                "quantity": line.quantity,
                "serial": line.serial,
                "unit_price": str(line.unit_price),
                "warranty_months": line.product.warranty_months if line.product else None,
            }
            for line in order.lines.all()
        ],
    }


@router.post("", response={200: CustomerOut, 201: CustomerOut, **ERRORS}, summary="Import")
def import_customer(request: HttpRequest, payload: CustomerImportIn) -> Status[dict[str, Any]]:
    """Create or update a customer from a CRM or shop (matched by external_ref, then contact)."""
    require_import(_user(request))
    customer, created = services.customer_import(
        data=services.CustomerImport(
            name=payload.name,
            external_ref=payload.external_ref,
            emails=tuple(payload.emails),
            phones=tuple(payload.phones),
            language=payload.language,
            vip_tier=payload.vip_tier,
            segment=payload.segment,
            organisation=payload.organisation,
            notes=payload.notes,
        )
    )
    detail = selectors.customer_detail(customer_id=customer.pk)
    assert detail is not None
    return Status(201 if created else 200, customer_out(detail))


@router.get("/{customer_id}", response={200: CustomerOut, **ERRORS}, summary="One customer")
def get_customer(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    return customer_out(get_customer_for_user(_user(request), customer_id))


@router.get("/{customer_id}/orders", response={200: list[OrderOut], **ERRORS})
def list_orders(request: HttpRequest, customer_id: int) -> list[dict[str, Any]]:
    customer = get_customer_for_user(_user(request), customer_id)
    return [order_out(o) for o in selectors.customer_orders(customer=customer)]


@router.post(
    "/{customer_id}/orders", response={200: OrderOut, 201: OrderOut, **ERRORS}, summary="Import"
)
def import_order(
    request: HttpRequest, customer_id: int, payload: OrderImportIn
) -> Status[dict[str, Any]]:
    """Create or replace an order (by reference) with its lines, serials and dates."""
    user = _user(request)
    require_import(user)
    customer = get_customer_for_user(user, customer_id)
    order, created = services.order_import(
        customer=customer,
        reference=payload.reference,
        placed_at=payload.placed_at,
        delivered_at=payload.delivered_at,
        source=payload.source,
        currency=payload.currency,
        lines=[services.OrderLineInput(**line.model_dump()) for line in payload.lines],
    )
    return Status(201 if created else 200, order_out(selectors.order_detail(order_id=order.pk)))
