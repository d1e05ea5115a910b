"""Customer services: normalisation, resolving, importing customers and orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from afterdesk.core.errors import ValidationFailed
from afterdesk.customers.models import (
    ContactPoint,
    Customer,
    Order,
    OrderLine,
    Organisation,
    Product,
)
from afterdesk.customers.services import (
    CustomerImport,
    CustomerInput,
    OrderLineInput,
    customer_import,
    customer_resolve,
    normalize_email,
    normalize_phone,
    order_import,
)

PLACED = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("+86-138-0013-8000", "+8613800138000"),
        ("0086 138 0013 8000", "+8613800138000"),
        ("  13800138000\t", "+8613800138000"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("001 415 555 0100", "+14155550100"),
        ("+44 20 7946 0958", "+442079460958"),
        ("010-6552-9988", "01065529988"),  # a Beijing landline: not a mobile, no +86
        ("12345", "12345"),
        ("23800138000", "23800138000"),  # 11 digits but not a mobile prefix
    ],
)
def test_normalize_phone(raw, normalized):
    assert normalize_phone(raw) == normalized


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("a@example.com", "a@example.com"),
        ("Foo.Bar@Example.COM", "foo.bar@example.com"),
        ("  spaced@example.com \n", "spaced@example.com"),
        ("用户@例子.中国", "用户@例子.中国"),
    ],
)
def test_normalize_email(raw, normalized):
    assert normalize_email(raw) == normalized


# --- customer_resolve ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_resolve_creates_a_customer_with_both_contacts():
    customer = customer_resolve(
        data=CustomerInput(name=" Li Lei ", email="Li.Lei@Example.com", phone="138 0013 8000")
    )

    assert (customer.name, customer.email, customer.phone) == (
        "Li Lei",
        "Li.Lei@Example.com",
        "138 0013 8000",
    )
    assert sorted(customer.contacts.values_list("kind", "value", "normalized")) == [
        ("email", "Li.Lei@Example.com", "li.lei@example.com"),
        ("phone", "138 0013 8000", "+8613800138000"),
    ]


@pytest.mark.django_db
def test_resolve_finds_by_phone_and_remembers_a_new_email():
    first = customer_resolve(data=CustomerInput(name="Li", phone="13800138000"))

    again = customer_resolve(
        data=CustomerInput(name="Li", email="li@example.com", phone="+86 138 0013 8000")
    )

    assert again.pk == first.pk
    assert Customer.objects.count() == 1
    again.refresh_from_db()
    assert (again.email, again.phone) == ("li@example.com", "13800138000")
    assert sorted(ContactPoint.objects.values_list("kind", "normalized")) == [
        ("email", "li@example.com"),
        ("phone", "+8613800138000"),
    ]


@pytest.mark.django_db
def test_resolve_does_not_take_a_contact_from_another_customer():
    owner = customer_resolve(data=CustomerInput(name="Owner", phone="13800138000"))
    other = customer_resolve(data=CustomerInput(name="Other", email="other@example.com"))

    found = customer_resolve(
        data=CustomerInput(name="Other", email="other@example.com", phone="13800138000")
    )

    assert found.pk == other.pk
    assert ContactPoint.objects.get(kind="phone").customer_id == owner.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        CustomerInput(name="Nobody"),
        CustomerInput(name="Bad", email="not-an-address"),
        CustomerInput(name="Bad", email="a@b"),
        CustomerInput(name="Bad", phone="12"),
        CustomerInput(name="Bad", phone="138 0013 8000 call me"),
    ],
    ids=repr,
)
def test_resolve_refuses_invalid_contacts_and_writes_nothing(data):
    with pytest.raises(ValidationFailed):
        customer_resolve(data=data)

    assert Customer.objects.count() == 0
    assert ContactPoint.objects.count() == 0


# --- customer_import ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_import_creates_then_updates_by_external_ref():
    created_customer, created = customer_import(
        data=CustomerImport(
            name="ACME Buyer",
            external_ref="CRM-1",
            emails=("buyer@acme.example",),
            phones=("13800138000",),
            language="en",
            vip_tier="gold",
            segment="business",
            organisation="ACME",
            notes="Key account",
        )
    )
    updated_customer, created_again = customer_import(
        data=CustomerImport(
            name="ACME Purchasing",
            external_ref="CRM-1",
            emails=("purchasing@acme.example",),
            vip_tier="platinum",
            segment="business",
            organisation="ACME",
        )
    )

    assert (created, created_again) == (True, False)
    assert updated_customer.pk == created_customer.pk
    assert Customer.objects.count() == 1
    customer = Customer.objects.get()
    assert (customer.name, customer.vip_tier, customer.language) == (
        "ACME Purchasing",
        "platinum",
        "zh-hans",
    )
    assert (customer.email, customer.phone) == ("purchasing@acme.example", "13800138000")
    assert customer.segment.code == "business"
    assert customer.organisation.name == "ACME"
    assert Organisation.objects.count() == 1
    assert sorted(customer.contacts.values_list("kind", "normalized")) == [
        ("email", "buyer@acme.example"),
        ("email", "purchasing@acme.example"),
        ("phone", "+8613800138000"),
    ]


@pytest.mark.django_db
def test_import_without_external_ref_matches_by_contact():
    existing = customer_resolve(data=CustomerInput(name="Web user", email="web@example.com"))

    customer, created = customer_import(
        data=CustomerImport(name="Shop user", external_ref="SHOP-9", emails=("WEB@example.com",))
    )

    assert created is False
    assert customer.pk == existing.pk
    existing.refresh_from_db()
    assert (existing.name, existing.external_ref) == ("Shop user", "SHOP-9")


@pytest.mark.django_db
def test_import_of_another_record_sharing_an_email_keeps_the_first_record():
    first, _ = customer_import(
        data=CustomerImport(name="Parent", external_ref="CRM-1", emails=("family@example.com",))
    )

    customer_import(
        data=CustomerImport(name="Child", external_ref="CRM-2", emails=("family@example.com",))
    )

    first.refresh_from_db()
    assert (first.name, first.external_ref) == ("Parent", "CRM-1")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"vip_tier": "diamond"}, "vip_tier"),
        ({"language": "fr"}, "language"),
        ({"segment": "no-such-segment"}, "segment"),
        ({"emails": ("ok@example.com", "broken")}, "email"),
        ({"phones": ("x",)}, "phone"),
    ],
    ids=repr,
)
def test_import_refuses_invalid_records_and_writes_nothing(changes, field):
    values = {"name": "Bad", "external_ref": "CRM-X", "emails": ("bad@example.com",)}
    values.update(changes)

    with pytest.raises(ValidationFailed) as excinfo:
        customer_import(data=CustomerImport(**values))

    assert list(excinfo.value.fields) == [field]
    assert Customer.objects.count() == 0
    assert ContactPoint.objects.count() == 0
    assert Organisation.objects.count() == 0


# --- order_import -------------------------------------------------------------------------------


@pytest.fixture
def buyer(db):
    return customer_resolve(data=CustomerInput(name="Buyer", email="buyer@example.com"))


@pytest.mark.django_db
def test_order_import_creates_lines_and_links_products(buyer):
    Product.objects.create(sku="PHONE-X", name="Phone X")

    order, created = order_import(
        customer=buyer,
        reference="ORD-100",
        placed_at=PLACED,
        delivered_at=PLACED + timedelta(days=2),
        source="shop",
        currency="cny",
        lines=[
            OrderLineInput(sku="PHONE-X", quantity=2, unit_price=Decimal("1999.00"), serial="SN1"),
            OrderLineInput(sku="CASE-1", description="Case", unit_price=Decimal("49.90")),
        ],
    )

    assert created is True
    order.refresh_from_db()
    assert (order.customer, order.currency, order.total) == (buyer, "CNY", Decimal("4047.90"))
    lines = list(order.lines.order_by("sku").values_list("sku", "product__sku", "description"))
    assert lines == [("CASE-1", None, "Case"), ("PHONE-X", "PHONE-X", "Phone X")]


@pytest.mark.django_db
def test_order_import_again_replaces_the_lines(buyer):
    first, _ = order_import(
        customer=buyer,
        reference="ORD-100",
        placed_at=PLACED,
        lines=[OrderLineInput(sku="A", unit_price=Decimal("10")), OrderLineInput(sku="B")],
    )

    again, created = order_import(
        customer=buyer,
        reference="ORD-100",
        placed_at=PLACED,
        delivered_at=PLACED + timedelta(days=1),
        lines=[OrderLineInput(sku="C", quantity=3, unit_price=Decimal("5.50"))],
    )

    assert created is False
    assert again.pk == first.pk
    assert Order.objects.count() == 1
    assert list(OrderLine.objects.values_list("order_id", "sku", "quantity")) == [
        (first.pk, "C", 3)
    ]
    again.refresh_from_db()
    assert again.total == Decimal("16.50")
    assert again.delivered_at == PLACED + timedelta(days=1)


@pytest.mark.django_db
def test_order_import_refuses_delivery_before_purchase_and_writes_nothing(buyer):
    order_import(
        customer=buyer, reference="ORD-1", placed_at=PLACED, lines=[OrderLineInput(sku="A")]
    )

    with pytest.raises(ValidationFailed) as excinfo:
        order_import(
            customer=buyer,
            reference="ORD-1",
            placed_at=PLACED,
            delivered_at=PLACED - timedelta(seconds=1),
            lines=[OrderLineInput(sku="B"), OrderLineInput(sku="C")],
        )
    with pytest.raises(ValidationFailed):
        order_import(
            customer=buyer,
            reference="ORD-2",
            placed_at=PLACED,
            delivered_at=PLACED - timedelta(days=1),
        )

    assert list(excinfo.value.fields) == ["delivered_at"]
    assert list(Order.objects.values_list("reference", "delivered_at")) == [("ORD-1", None)]
    assert list(OrderLine.objects.values_list("sku", flat=True)) == ["A"]


@pytest.mark.django_db
def test_order_delivered_the_moment_it_was_placed_is_accepted(buyer):
    order, _ = order_import(
        customer=buyer, reference="ORD-1", placed_at=PLACED, delivered_at=PLACED
    )

    assert order.delivered_at == PLACED
