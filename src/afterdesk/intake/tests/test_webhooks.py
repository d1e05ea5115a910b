"""Signed webhooks in: signature, replay window, idempotency, mapping errors, OpenAPI."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from afterdesk.cases.models import Case, Message
from afterdesk.customers.models import Customer, Order
from afterdesk.intake.models import WebhookEvent, WebhookSource
from afterdesk.intake.webhooks import signature_of, webhook_source_create

pytestmark = pytest.mark.django_db
URL = "/api/v1/intake/shop"


@pytest.fixture
def source(departments: Any) -> WebhookSource:
    created, _secret = webhook_source_create(slug="shop", name="Our shop", channel="marketplace")
    return created


def payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": "evt-1",
        "type": "case.create",
        "customer": {"name": "Fang Wang", "email": "wang.fang@example.cn"},
        "case": {
            "kind": "complaint",
            "subject": "耳机左耳没有声音",
            "description": "买了三天就坏了",
        },
    }
    body.update(overrides)
    return body


def post(
    data: Any,
    *,
    secret: str,
    url: str = URL,
    timestamp: int | None = None,
    signature: str | None = None,
) -> Any:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    headers = {"HTTP_X_AFTERDESK_TIMESTAMP": stamp}
    headers["HTTP_X_AFTERDESK_SIGNATURE"] = (
        signature
        if signature is not None
        else signature_of(secret=secret, timestamp=stamp, body=raw)
    )
    return Client().post(url, data=raw, content_type="application/json", **headers)


def counts() -> dict[str, int]:
    return {
        "cases": Case.objects.count(),
        "customers": Customer.objects.count(),
        "orders": Order.objects.count(),
        "messages": Message.objects.count(),
        "events": WebhookEvent.objects.count(),
    }


def test_a_signed_event_opens_a_case(source: WebhookSource) -> None:
    response = post(payload(), secret=source.secret)
    assert response.status_code == 201, response.content
    body = response.json()
    case = Case.objects.get()
    assert body == {
        "event_id": "evt-1",
        "type": "case.create",
        "case": case.number,
        "message": None,
        "policy": None,
    }
    assert (case.channel, case.kind, case.subject) == (
        "marketplace",
        "complaint",
        "耳机左耳没有声音",
    )
    assert case.customer.email == "wang.fang@example.cn"
    assert WebhookEvent.objects.get().case == case


def test_a_replay_returns_the_first_answer_and_saves_nothing(source: WebhookSource) -> None:
    first = post(payload(), secret=source.secret)
    before = counts()
    again = post(payload(case={"kind": "return", "subject": "changed"}), secret=source.secret)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert counts() == before


def test_the_order_is_imported_and_the_policy_window_checked(source: WebhookSource) -> None:
    now = timezone.now()
    body = payload(
        case={"kind": "return", "subject": "Return please"},
        order={
            "reference": "JD-2026-118822",
            "placed_at": (now - timedelta(days=20)).isoformat(),
            "delivered_at": (now - timedelta(days=18)).isoformat(),
            "lines": [{"sku": "EAR-1", "quantity": 1, "unit_price": "199.00"}],
        },
    )
    response = post(body, secret=source.secret)
    assert response.status_code == 201, response.content
    policy = response.json()["policy"]
    assert (policy["within"], policy["flags"], policy["window"]) == (
        False,
        ["return_window_passed"],
        "return",
    )
    case = Case.objects.get()
    assert case.order is not None and case.order.reference == "JD-2026-118822"
    assert case.order.source == "shop" and case.order.lines.count() == 1


def test_a_message_is_added_to_the_customers_case(source: WebhookSource) -> None:
    number = post(payload(), secret=source.secret).json()["case"]
    body = payload(
        event_id="evt-2",
        type="message.create",
        case={"number": number},
        message={"body": "还是没有声音"},
    )
    response = post(body, secret=source.secret)
    assert response.status_code == 201, response.content
    message = Message.objects.get(pk=response.json()["message"])
    assert (message.body, message.from_customer, message.channel) == (
        "还是没有声音",
        True,
        "marketplace",
    )


@pytest.mark.parametrize(
    ("case", "signature", "timestamp_offset", "code"),
    [
        ("bad signature", "sha256=" + "0" * 64, 0, "invalid_signature"),
        ("no signature", "", 0, "invalid_signature"),
        ("unprefixed", None, 0, "invalid_signature"),
        ("expired", None, -301, "stale_timestamp"),
        ("from the future", None, 301, "stale_timestamp"),
    ],
)
def test_refused_signatures_save_nothing(
    source: WebhookSource, case: str, signature: str | None, timestamp_offset: int, code: str
) -> None:
    raw = json.dumps(payload()).encode()
    stamp = int(time.time()) + timestamp_offset
    if case == "unprefixed":
        signature = signature_of(secret=source.secret, timestamp=str(stamp), body=raw)[
            len("sha256=") :
        ]
    before = counts()
    response = post(raw, secret=source.secret, timestamp=stamp, signature=signature)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert counts() == before


def test_inside_the_replay_window_is_accepted(source: WebhookSource) -> None:
    assert (
        post(payload(), secret=source.secret, timestamp=int(time.time()) - 290).status_code == 201
    )


def test_a_signature_over_another_body_is_refused(source: WebhookSource) -> None:
    stamp = str(int(time.time()))
    signed_for = signature_of(secret=source.secret, timestamp=stamp, body=b"{}")
    response = post(payload(), secret=source.secret, timestamp=int(stamp), signature=signed_for)
    assert response.status_code == 401


def test_unknown_and_inactive_sources_are_refused(source: WebhookSource) -> None:
    assert post(payload(), secret=source.secret, url="/api/v1/intake/other").status_code == 401
    WebhookSource.objects.filter(pk=source.pk).update(is_active=False)
    assert post(payload(), secret=source.secret).status_code == 401
    assert not Case.objects.exists()


def test_another_sources_secret_does_not_sign_for_this_one(source: WebhookSource) -> None:
    _other, secret = webhook_source_create(slug="social", name="Weibo", channel="social")
    assert post(payload(), secret=secret).status_code == 401
    assert post(payload(), secret=secret, url="/api/v1/intake/social").status_code == 201


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"case": {"subject": "no kind"}}, "case.kind"),
        ({"case": {"kind": "complaint"}}, "case.subject"),
        ({"case": None}, "case"),
        ({"case": {"kind": "nonsense", "subject": "x"}}, "case.kind"),
        ({"customer": {"name": "No contact"}}, "customer.email"),
        ({"customer": {"name": "Bad", "email": "not-an-address"}}, "customer.email"),
        ({"customer": {"name": "Bad", "phone": "12"}}, "customer.phone"),
        ({"type": "case.delete"}, "type"),
        ({"event_id": ""}, "event_id"),
        ({"surprise": 1}, "surprise"),
        ({"case": {"kind": "complaint", "subject": "x", "amount": "-1"}}, "case.amount"),
        (
            {
                "order": {
                    "reference": "O-1",
                    "placed_at": "2026-11-20T10:00:00+08:00",
                    "delivered_at": "2026-11-01T10:00:00+08:00",
                }
            },
            "order.delivered_at",
        ),
        ({"order": {"reference": "O-1", "placed_at": "2026-11-20T10:00:00"}}, "order.placed_at"),
        (
            {
                "type": "message.create",
                "case": {"number": "AS-20260101-00001"},
                "message": {"body": "x"},
            },
            "case.number",
        ),
        ({"type": "message.create", "case": {}, "message": {"body": "x"}}, "case.number"),
        ({"type": "message.create", "case": {"number": "AS-1"}}, "message"),
    ],
)
def test_an_unmappable_payload_is_422_naming_the_field_and_saves_nothing(
    source: WebhookSource, changes: dict[str, Any], field: str
) -> None:
    before = counts()
    response = post(payload(**changes), secret=source.secret)
    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert counts() == before


def test_an_order_of_another_customer_is_refused(source: WebhookSource, customer_b: Any) -> None:
    from afterdesk.customers.services import order_import

    order_import(customer=customer_b, reference="O-B", placed_at=timezone.now())
    before = counts()
    body = payload(order={"reference": "O-B", "placed_at": timezone.now().isoformat()})
    response = post(body, secret=source.secret)
    assert response.status_code == 422
    assert "order.reference" in response.json()["error"]["fields"]
    assert counts() == before
    assert Order.objects.get(reference="O-B").customer == customer_b


def test_the_case_of_another_customer_cannot_be_written_to(
    source: WebhookSource, make_case: Any, customer_b: Any
) -> None:
    other = make_case(customer=customer_b)
    body = payload(type="message.create", case={"number": other.number}, message={"body": "hi"})
    response = post(body, secret=source.secret)
    assert response.status_code == 422
    assert not Message.objects.filter(case=other).exists()


def test_malformed_json_saves_nothing(source: WebhookSource) -> None:
    response = post(b"{not json", secret=source.secret)
    assert response.status_code == 400
    assert counts()["events"] == 0


def test_openapi_documents_the_webhook() -> None:
    spec = Client().get("/api/v1/openapi.json").json()
    operation = spec["paths"]["/api/v1/intake/{source}"]["post"]
    assert "HMAC-SHA256" in operation["description"]
    assert "X-Afterdesk-Timestamp" in {p["name"] for p in operation["parameters"]}
    [scheme] = operation["security"]
    [name] = scheme
    assert spec["components"]["securitySchemes"][name] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Afterdesk-Signature",
    }
    request_schema = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    webhook_in = spec["components"]["schemas"][request_schema.rsplit("/", 1)[-1]]
    assert set(webhook_in["properties"]) == {
        "event_id",
        "type",
        "customer",
        "order",
        "case",
        "message",
    }
    assert set(operation["responses"]) >= {"200", "201", "401", "422"}
