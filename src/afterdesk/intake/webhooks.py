"""Signed webhooks from shops, marketplaces, social media and chat platforms.

A source signs `"<timestamp>.<raw body>"` with HMAC-SHA256 under its secret and sends
`X-Afterdesk-Timestamp: <unix seconds>` and `X-Afterdesk-Signature: sha256=<hex>`. A bad or
missing signature, an unknown or inactive source, or a timestamp more than five minutes off
is refused (401) before the body is read. A signed event is applied in one transaction —
customer, order, case or message, and the event record — so a payload that does not map is
refused (422, naming the field) with nothing saved, and a replay of an event id returns the
first answer without saving anything.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from afterdesk.cases.models import Case
from afterdesk.cases.services import CaseInput, case_add_message, case_create
from afterdesk.core.errors import ValidationFailed
from afterdesk.customers.models import Customer, Order
from afterdesk.customers.services import (
    CustomerInput,
    OrderLineInput,
    customer_resolve,
    order_import,
)
from afterdesk.intake.errors import WebhookPayloadInvalid, WebhookUnauthorized
from afterdesk.intake.models import PolicyCheck, WebhookEvent, WebhookSource
from afterdesk.intake.schemas import WebhookIn

REPLAY_WINDOW_SECONDS = 300
SIGNATURE_PREFIX = "sha256="
# Compared against when the source is unknown, so both refusals take the same time.
_DUMMY_SECRET = secrets.token_hex(32)


def signature_of(*, secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp` (what a source computes)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


def webhook_verify(
    *, slug: str, timestamp: str, signature: str, body: bytes, now: datetime | None = None
) -> WebhookSource:
    """The active source `slug` if the request is signed by it within the replay window."""
    source = WebhookSource.objects.filter(slug=slug, is_active=True).first()
    expected = signature_of(
        secret=source.secret if source else _DUMMY_SECRET, timestamp=timestamp, body=body
    )
    valid = hmac.compare_digest(expected.encode(), (signature or "").strip().lower().encode())
    if source is None or not valid:
        raise WebhookUnauthorized(_("Unknown webhook source or bad signature."))
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError) as exc:
        raise WebhookUnauthorized(
            _("X-Afterdesk-Timestamp must be Unix seconds."), code="invalid_timestamp"
        ) from exc
    current = (now or timezone.now()).timestamp()
    if abs(current - sent_at) > REPLAY_WINDOW_SECONDS:
        raise WebhookUnauthorized(
            _("The timestamp is more than five minutes away from our clock."),
            code="stale_timestamp",
        )
    return source


def new_secret() -> str:
    """A fresh webhook secret (256 bits)."""
    return secrets.token_urlsafe(32)


def webhook_source_create(*, slug: str, name: str, channel: str) -> tuple[WebhookSource, str]:
    """A new source with a fresh secret; returns the source and the secret (show it once)."""
    secret = new_secret()
    source = WebhookSource.objects.create(
        slug=slug, name=name, channel=channel, secret=secret, secret_rotated_at=timezone.now()
    )
    return source, secret


def webhook_source_rotate(*, source: WebhookSource) -> str:
    """Give the source a new secret (the old one stops working at once); returns it."""
    secret = new_secret()
    WebhookSource.objects.filter(pk=source.pk).update(
        secret=secret, secret_rotated_at=timezone.now()
    )
    source.secret = secret
    return secret


_CUSTOMER_FIELDS = {"email", "phone", "customer", "name"}


def _invalid(exc: ValidationFailed, prefix: str) -> WebhookPayloadInvalid:
    """A service's refusal with its fields named as in the payload (customer.email, …)."""
    fields = {}
    for name, message in (exc.fields or {}).items():
        if name == "customer":
            fields["customer"] = message
        elif name in _CUSTOMER_FIELDS:
            fields[f"customer.{name}"] = message
        else:
            fields[f"{prefix}.{name}"] = message
    return WebhookPayloadInvalid(exc.message, fields=fields or {prefix: exc.message})


def _customer(event: WebhookIn) -> tuple[Customer, CustomerInput]:
    data = event.customer
    customer = None
    if data.external_ref:
        customer = Customer.objects.filter(external_ref=data.external_ref).first()
    if customer is not None:
        contact = CustomerInput(name=customer.name, email=customer.email, phone=customer.phone)
        return customer, contact
    if not data.email and not data.phone:
        raise WebhookPayloadInvalid(
            _("The customer needs an e-mail address or a phone number (or a known external_ref)."),
            fields={"customer.email": _("required without phone or a known external_ref")},
        )
    contact = CustomerInput(name=data.name, email=data.email, phone=data.phone)
    try:
        return customer_resolve(data=contact), contact
    except ValidationFailed as exc:
        raise _invalid(exc, "customer") from exc


def _order(event: WebhookIn, customer: Customer, source: WebhookSource) -> Order | None:
    data = event.order
    if data is None:
        return None
    owner = Order.objects.filter(reference=data.reference).values_list("customer_id", flat=True)
    if owner and owner[0] != customer.pk:
        raise WebhookPayloadInvalid(
            _("Order %s belongs to another customer.") % data.reference,
            fields={"order.reference": _("belongs to another customer")},
        )
    try:
        order, _created = order_import(
            customer=customer,
            reference=data.reference,
            placed_at=data.placed_at,
            delivered_at=data.delivered_at,
            source=source.slug,
            currency=data.currency,
            lines=[
                OrderLineInput(
                    sku=line.sku,
                    description=line.description,
                    quantity=line.quantity,
                    serial=line.serial,
                    unit_price=line.unit_price,
                )
                for line in data.lines
            ],
        )
    except ValidationFailed as exc:
        raise _invalid(exc, "order") from exc
    return order


def _policy(case: Case) -> dict[str, Any] | None:
    check = PolicyCheck.objects.filter(case=case).first()
    if check is None:
        return None
    return {
        "within": check.within,
        "flags": list(check.flags),
        "window": str(check.windows.get("window", "")),
        "ends": str(check.windows.get("ends", "")),
    }


def _apply(source: WebhookSource, event: WebhookIn) -> tuple[Case, dict[str, Any]]:
    customer, contact = _customer(event)
    order = _order(event, customer, source)
    if event.type == "case.create":
        data = event.case
        if data is None or data.kind is None or not data.subject:
            missing = (
                "case" if data is None else ("case.kind" if data.kind is None else "case.subject")
            )
            raise WebhookPayloadInvalid(
                _("case.create needs case.kind and case.subject."),
                fields={missing: _("required")},
            )
        try:
            case = case_create(
                actor=None,
                data=CaseInput(
                    kind=data.kind,
                    channel=source.channel,
                    subject=data.subject,
                    customer=contact,
                    description=data.description,
                    order_ref=order.reference if order is not None else "",
                    product_sku=data.product_sku,
                    serial=data.serial,
                    amount=data.amount,
                    currency=data.currency,
                ),
                by_customer=True,
            )
        except ValidationFailed as exc:
            raise _invalid(exc, "case") from exc
        return case, {"case": case.number, "message": None, "policy": _policy(case)}

    number = event.case.number.strip().upper() if event.case is not None else ""
    if not number:
        raise WebhookPayloadInvalid(
            _("message.create needs case.number."), fields={"case.number": _("required")}
        )
    if event.message is None:
        raise WebhookPayloadInvalid(
            _("message.create needs message.body."), fields={"message": _("required")}
        )
    found = Case.objects.select_related("customer").filter(number=number, customer=customer).first()
    if found is None:
        raise WebhookPayloadInvalid(
            _("No case %s of this customer.") % number,
            fields={"case.number": _("no such case of this customer")},
        )
    case = found
    try:
        message = case_add_message(
            actor=None,
            case=case,
            body=event.message.body,
            channel=source.channel,
            by_customer=True,
        )
    except ValidationFailed as exc:
        raise _invalid(exc, "message") from exc
    return case, {"case": case.number, "message": message.pk, "policy": None}


def webhook_receive(*, source: WebhookSource, event: WebhookIn) -> tuple[bool, dict[str, Any]]:
    """Apply a verified event once. Returns (applied now, the answer); a replay of its
    event id returns (False, the first answer) and changes nothing."""
    replay = WebhookEvent.objects.filter(source=source, event_id=event.event_id).first()
    if replay is not None:
        return False, replay.response
    try:
        with transaction.atomic():
            case, result = _apply(source, event)
            response = {"event_id": event.event_id, "type": event.type, **result}
            WebhookEvent.objects.create(
                source=source,
                event_id=event.event_id,
                type=event.type,
                received_at=timezone.now(),
                case=case,
                response=response,
            )
    except IntegrityError:
        # The same event was applied concurrently; this attempt was rolled back whole.
        replay = WebhookEvent.objects.filter(source=source, event_id=event.event_id).first()
        if replay is None:
            raise
        return False, replay.response
    return True, response
