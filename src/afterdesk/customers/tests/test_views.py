"""The customer panel of the workspace: profile, tier, agent, orders, history with results."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from afterdesk.accounts.models import User
from afterdesk.cases import services
from afterdesk.customers.models import Customer, Order, OrderLine, Product, Segment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def panel(user: User, customer: Customer) -> Any:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client.get(f"/desk/customers/{customer.pk}")


def test_panel_shows_profile_orders_and_every_case_with_its_result(
    customer_a: Customer, agent: User, supervisor: User, make_case: Any, drive_case: Any
) -> None:
    customer_a.vip_tier = "gold"
    customer_a.segment = Segment.objects.first()
    customer_a.dedicated_agent = agent
    customer_a.save()
    product = Product.objects.create(sku="PB-3", name="Pulse Band 3", warranty_months=12)
    order = Order.objects.create(
        customer=customer_a,
        reference="JD-2026-1",
        placed_at=datetime(2026, 3, 1, tzinfo=UTC),
        delivered_at=datetime(2026, 3, 3, tzinfo=UTC),
        total=Decimal("199.00"),
    )
    OrderLine.objects.create(order=order, product=product, sku="PB-3", serial="SN-77")
    done = make_case(customer=customer_a, subject="Strap broke")
    services.case_transition(actor=agent, case=done, to="resolved", note="Replaced the strap")
    make_case(customer=customer_a, subject="Battery drains")
    html = panel(agent, customer_a).content.decode()
    assert "王小明" in html and "VIP · Gold" in html
    assert "agent" in html  # dedicated agent
    assert "JD-2026-1" in html and "Pulse Band 3" in html and "SN-77" in html
    assert "2027-03-03" in html  # warranty: 12 months from delivery
    assert "Strap broke" in html and "Replaced the strap" in html and "Battery drains" in html


def test_panel_counts_cases_of_other_departments_without_showing_them(
    customer_a: Customer, agent: User, supervisor: User, make_case: Any
) -> None:
    make_case(customer=customer_a, subject="Visible complaint")
    make_case(customer=customer_a, kind="repair", subject="Hidden repair")
    html = panel(agent, customer_a).content.decode()
    assert "Visible complaint" in html and "Hidden repair" not in html
    assert "1 more case is handled by other departments." in html
    html = panel(supervisor, customer_a).content.decode()
    assert "Hidden repair" in html and "other departments" not in html


def test_panel_is_for_staff_only(customer_a: Customer, customer_b: Customer) -> None:
    response = panel(customer_a.user, customer_b)
    assert response.status_code in (302, 404)


def test_unknown_customer_is_not_found(agent: User) -> None:
    client = Client()
    client.force_login(agent)
    assert client.get("/desk/customers/999999").status_code == 404


def test_panel_query_budget(
    customer_a: Customer, agent: User, make_case: Any, django_assert_num_queries: Any
) -> None:
    for i in range(5):
        order = Order.objects.create(
            customer=customer_a, reference=f"O-{i}", placed_at=datetime(2026, 1, 1, tzinfo=UTC)
        )
        OrderLine.objects.create(order=order, sku="X")
        make_case(customer=customer_a)
    client = Client()
    client.force_login(agent)
    # session, user, customer, contacts, orders, order lines, cases, the user's departments,
    # two counts for the cases of other departments.
    with django_assert_num_queries(10):
        assert client.get(f"/desk/customers/{customer_a.pk}").status_code == 200
