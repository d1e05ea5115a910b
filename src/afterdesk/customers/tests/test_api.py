"""API v1, customers and orders: import (create then update), look-up, and who may do which."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.utils.dateparse import parse_datetime

from afterdesk.customers.models import ContactPoint, Customer, Order, OrderLine, Product

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers"


def import_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Acme Buyer",
        "external_ref": "CRM-1",
        "emails": ["buyer@example.com"],
        "phones": ["13900001111"],
        "language": "en",
        "vip_tier": "gold",
        "segment": "business",
        "organisation": "Acme Ltd",
        "notes": "Prefers e-mail.",
    }
    body.update(overrides)
    return body


def order_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reference": "SO-2026-0001",
        "placed_at": "2026-11-01T10:00:00+08:00",
        "delivered_at": "2026-11-03T15:30:00+08:00",
        "source": "tmall",
        "currency": "cny",
        "lines": [
            {
                "sku": "TV-55",
                "description": "55-inch TV",
                "quantity": 1,
                "serial": "SN-TV-0001",
                "unit_price": "2999.00",
            },
            {"sku": "RM-1", "quantity": 2, "unit_price": "10.50"},
        ],
    }
    body.update(overrides)
    return body


def _without_created_at(body: dict[str, Any]) -> dict[str, Any]:
    body = dict(body)
    assert parse_datetime(body.pop("created_at")) is not None
    body["emails"] = sorted(body["emails"])
    body["phones"] = sorted(body["phones"])
    return body


# --- import -----------------------------------------------------------------------------------


def test_import_creates_the_customer(api, supervisor):
    response = api(supervisor).post(CUSTOMERS, import_body())

    assert response.status_code == 201, response.content
    customer = Customer.objects.get()
    assert _without_created_at(response.json()) == {
        "id": customer.pk,
        "name": "Acme Buyer",
        "external_ref": "CRM-1",
        "email": "buyer@example.com",
        "phone": "13900001111",
        "emails": ["buyer@example.com"],
        "phones": ["13900001111"],
        "language": "en",
        "vip_tier": "gold",
        "segment": "business",
        "organisation": "Acme Ltd",
        "dedicated_agent": None,
    }
    assert customer.notes == "Prefers e-mail."
    assert sorted(ContactPoint.objects.values_list("kind", "normalized")) == [
        ("email", "buyer@example.com"),
        ("phone", "+8613900001111"),
    ]


def test_import_again_with_the_same_external_ref_updates(api, supervisor):
    client = api(supervisor)
    first = client.post(CUSTOMERS, import_body()).json()

    response = client.post(
        CUSTOMERS,
        import_body(
            name="Acme Buyer (Shanghai)",
            emails=["orders@acme.example"],
            phones=[],
            vip_tier="platinum",
            segment="",
            language="zh-hans",
            organisation="",
        ),
    )

    assert response.status_code == 200, response.content
    body = _without_created_at(response.json())
    assert body == {
        "id": first["id"],
        "name": "Acme Buyer (Shanghai)",
        "external_ref": "CRM-1",
        "email": "orders@acme.example",
        "phone": "13900001111",
        "emails": ["buyer@example.com", "orders@acme.example"],
        "phones": ["13900001111"],
        "language": "zh-hans",
        "vip_tier": "platinum",
        "segment": None,
        "organisation": None,
        "dedicated_agent": None,
    }
    assert Customer.objects.count() == 1
    assert client.get(f"{CUSTOMERS}/{first['id']}").json() == response.json()


def test_import_without_external_ref_matches_by_contact(api, supervisor, customer_a):
    response = api(supervisor).post(
        CUSTOMERS, import_body(external_ref="", emails=["A@Example.com"], phones=[])
    )

    assert response.status_code == 200
    assert response.json()["id"] == customer_a.pk
    assert Customer.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (import_body(name=""), "name"),
        ({"external_ref": "x"}, "name"),
        (import_body(emails=["not-an-email"]), "email"),
        (import_body(phones=["call me"]), "phone"),
        (import_body(emails="a@example.com"), "emails"),
        (import_body(vip_tier="diamond"), "vip_tier"),
        (import_body(language="fr"), "language"),
        (import_body(segment="nope"), "segment"),
        (import_body(name="x" * 201), "name"),
        (import_body(name="bad\x00name"), "name"),
        (import_body(emails=[f"e{i}@example.com" for i in range(11)]), "emails"),
        (import_body(unknown=1), "unknown"),
    ],
)
def test_import_validation(api, supervisor, db_state, body, field):
    before = db_state()

    response = api(supervisor).post(CUSTOMERS, body)

    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert field in response.json()["error"]["fields"]
    assert db_state() == before


def test_import_malformed_json(api, supervisor, db_state):
    before = db_state()

    response = api(supervisor).post(CUSTOMERS, '{"name": ')

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert db_state() == before


# --- orders -----------------------------------------------------------------------------------


@pytest.fixture
def buyer(api, supervisor) -> dict[str, Any]:
    Product.objects.create(sku="TV-55", name="TV 55", warranty_months=24)
    return api(supervisor).post(CUSTOMERS, import_body()).json()


def test_import_order_with_lines_serials_and_dates(api, supervisor, buyer):
    client = api(supervisor)

    response = client.post(f"{CUSTOMERS}/{buyer['id']}/orders", order_body())

    assert response.status_code == 201, response.content
    body = dict(response.json())
    assert parse_datetime(body.pop("placed_at")) == datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    assert parse_datetime(body.pop("delivered_at")) == datetime(2026, 11, 3, 7, 30, tzinfo=UTC)
    assert body == {
        "reference": "SO-2026-0001",
        "customer": buyer["id"],
        "source": "tmall",
        "currency": "CNY",
        "total": "3020.00",
        "lines": [
            {
                "sku": "TV-55",
                "description": "55-inch TV",
                "quantity": 1,
                "serial": "SN-TV-0001",
                "unit_price": "2999.00",
                "warranty_months": 24,
            },
            {
                "sku": "RM-1",
                "description": "",
                "quantity": 2,
                "serial": "",
                "unit_price": "10.50",
                "warranty_months": None,
            },
        ],
    }
    listed = client.get(f"{CUSTOMERS}/{buyer['id']}/orders")
    assert listed.status_code == 200
    assert listed.json() == [response.json()]


def test_import_order_again_replaces_it(api, supervisor, buyer):
    client = api(supervisor)
    client.post(f"{CUSTOMERS}/{buyer['id']}/orders", order_body())

    response = client.post(
        f"{CUSTOMERS}/{buyer['id']}/orders",
        order_body(delivered_at=None, lines=[{"sku": "TV-55", "serial": "SN-TV-0002"}]),
    )

    assert response.status_code == 200
    assert response.json()["delivered_at"] is None
    assert response.json()["total"] == "0.00"
    assert [(ln["sku"], ln["serial"], ln["description"]) for ln in response.json()["lines"]] == [
        ("TV-55", "SN-TV-0002", "TV 55")
    ]
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == 1


def test_orders_are_listed_newest_first(api, supervisor, buyer):
    client = api(supervisor)
    client.post(
        f"{CUSTOMERS}/{buyer['id']}/orders",
        order_body(reference="OLD", delivered_at=None, placed_at="2025-01-01T00:00:00Z"),
    )
    client.post(f"{CUSTOMERS}/{buyer['id']}/orders", order_body(reference="NEW"))

    listed = client.get(f"{CUSTOMERS}/{buyer['id']}/orders").json()

    assert [o["reference"] for o in listed] == ["NEW", "OLD"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"delivered_at": "2026-10-31T23:59:59+08:00"}, "delivered_at"),
        ({"placed_at": "last week"}, "placed_at"),
        ({"reference": ""}, "reference"),
        ({"currency": "yuan"}, "currency"),
        ({"lines": [{"sku": "X", "quantity": 0}]}, "lines.0.quantity"),
        ({"lines": [{"sku": "X", "unit_price": "-1"}]}, "lines.0.unit_price"),
        ({"lines": [{"quantity": 1}]}, "lines.0.sku"),
        ({"lines": [{"sku": "X", "serial": "a\x00"}]}, "lines.0.serial"),
    ],
)
def test_order_validation(api, supervisor, buyer, db_state, overrides, field):
    before = db_state()

    response = api(supervisor).post(f"{CUSTOMERS}/{buyer['id']}/orders", order_body(**overrides))

    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    assert db_state() == before
    assert OrderLine.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            {"placed_at": "2026-11-01T10:00:00", "delivered_at": "2026-11-03T10:00:00+08:00"},
            "placed_at",
        ),
        ({"placed_at": "0001-01-01T00:00:00+14:00", "delivered_at": None}, "placed_at"),
        ({"delivered_at": "10000-01-01T00:00:00Z"}, "delivered_at"),
        ({"lines": [{"sku": "X", "quantity": 100_000, "unit_price": "9999999999.99"}]}, "lines"),
    ],
    ids=["naive-beside-aware", "year-1", "year-10000", "total-overflow"],
)
def test_order_import_out_of_range_is_422_not_a_500(
    api, supervisor, buyer, db_state, overrides, field
):
    before = db_state()

    response = api(supervisor).post(f"{CUSTOMERS}/{buyer['id']}/orders", order_body(**overrides))

    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert field in response.json()["error"]["fields"]
    assert db_state() == before
    assert OrderLine.objects.count() == 0


# --- who may do what ----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["agent", "repair_agent"])
def test_agents_may_read_but_not_import(request, api, buyer, db_state, persona):
    client = api(request.getfixturevalue(persona))
    before = db_state()

    read = client.get(f"{CUSTOMERS}/{buyer['id']}")
    orders = client.get(f"{CUSTOMERS}/{buyer['id']}/orders")
    create = client.post(CUSTOMERS, import_body(external_ref="CRM-2", emails=["x@example.com"]))
    update = client.post(CUSTOMERS, import_body(name="Hijacked"))
    order = client.post(f"{CUSTOMERS}/{buyer['id']}/orders", order_body())

    assert read.status_code == orders.status_code == 200
    assert read.json() == buyer
    assert orders.json() == []
    assert create.status_code == update.status_code == order.status_code == 403
    assert {r.json()["error"]["code"] for r in (create, update, order)} == {"permission_denied"}
    assert db_state() == before
    assert Customer.objects.get(pk=buyer["id"]).name == "Acme Buyer"


@pytest.mark.parametrize("persona", ["supervisor", "admin_user"])
def test_managers_may_import(request, api, persona):
    response = api(request.getfixturevalue(persona)).post(CUSTOMERS, import_body())

    assert response.status_code == 201


def test_customer_reads_own_record_and_orders(api, supervisor, customer_a):
    api(supervisor).post(f"{CUSTOMERS}/{customer_a.pk}/orders", order_body())
    client = api(customer_a.user)

    me = client.get(f"{CUSTOMERS}/{customer_a.pk}")
    orders = client.get(f"{CUSTOMERS}/{customer_a.pk}/orders")

    assert me.status_code == 200
    assert me.json()["email"] == "a@example.com"
    assert [o["reference"] for o in orders.json()] == ["SO-2026-0001"]


def test_customer_cannot_read_other_customers(api, supervisor, customer_a, customer_b):
    api(supervisor).post(f"{CUSTOMERS}/{customer_b.pk}/orders", order_body())
    client = api(customer_a.user)

    other = client.get(f"{CUSTOMERS}/{customer_b.pk}")
    other_orders = client.get(f"{CUSTOMERS}/{customer_b.pk}/orders")
    unknown = client.get(f"{CUSTOMERS}/999999")
    unknown_orders = client.get(f"{CUSTOMERS}/999999/orders")

    assert other.status_code == other_orders.status_code == unknown.status_code == 404
    assert other.content == unknown.content
    assert other_orders.content == unknown_orders.content == unknown.content
    assert b"Bob" not in other.content + other_orders.content


def test_customer_cannot_import(api, customer_a, db_state):
    client = api(customer_a.user)
    before = db_state()

    create = client.post(CUSTOMERS, import_body())
    own_order = client.post(f"{CUSTOMERS}/{customer_a.pk}/orders", order_body())

    assert create.status_code == own_order.status_code == 403
    assert db_state() == before


def test_unknown_customer_is_404_for_staff(api, supervisor):
    client = api(supervisor)

    assert client.get(f"{CUSTOMERS}/999999").status_code == 404
    assert client.post(f"{CUSTOMERS}/999999/orders", order_body()).status_code == 404
    assert Order.objects.count() == 0


def test_anonymous_gets_401(api, customer_a):
    client = api(None)

    assert client.get(f"{CUSTOMERS}/{customer_a.pk}").status_code == 401
    assert client.post(CUSTOMERS, import_body()).status_code == 401
    assert Customer.objects.count() == 1
