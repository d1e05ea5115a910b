"""RMA fixtures: a product with a warranty, an order of it, and helpers that create an RMA and
drive it along its lifecycle through the real services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from afterdesk.accounts.models import Department, User
from afterdesk.customers.models import Customer, Order, OrderLine, Product
from afterdesk.rma import services
from afterdesk.rma.choices import State
from afterdesk.rma.models import Rma

PATHS: dict[str, list[str]] = {
    "repair": [
        State.APPROVED,
        State.AWAITING_RETURN,
        State.IN_TRANSIT,
        State.RECEIVED,
        State.INSPECTED,
        State.DIAGNOSED,
        State.REPAIRING,
        State.REPAIRED,
        State.SHIPPED_BACK,
        State.DELIVERED,
        State.CONFIRMED,
        State.CLOSED,
    ],
    "return": [
        State.APPROVED,
        State.AWAITING_RETURN,
        State.IN_TRANSIT,
        State.RECEIVED,
        State.INSPECTED,
        State.REFUNDED,
        State.CLOSED,
    ],
    "exchange": [
        State.APPROVED,
        State.AWAITING_RETURN,
        State.IN_TRANSIT,
        State.RECEIVED,
        State.INSPECTED,
        State.REPLACEMENT_SHIPPED,
        State.DELIVERED,
        State.CONFIRMED,
        State.CLOSED,
    ],
}

CHECKLIST_OK = services.InspectionInput(
    packaging_ok=True,
    function_ok=False,
    matches_description=True,
    accessories_complete=True,
    customer_damage=False,
    notes="Screen stays black; as described.",
)


@pytest.fixture
def warehouse_user(departments: dict[str, Department]) -> User:
    """Warehouse staff of logistics and repair (they receive every parcel)."""
    user = User.objects.create_user(username="wh", password="pw-wh", role="warehouse")
    user.departments.set([departments["logistics"], departments["repair"]])
    return user


@pytest.fixture
def product(db: None) -> Product:
    return Product.objects.create(
        sku="PHN-X1", name="Phone X1", product_line="phones", warranty_months=12
    )


@pytest.fixture
def order(customer_a: Customer, product: Product) -> Order:
    now = datetime.now(tz=UTC)
    order = Order.objects.create(
        customer=customer_a,
        reference="SO-1001",
        placed_at=now - timedelta(days=5),
        delivered_at=now - timedelta(days=3),
        currency="CNY",
        total=Decimal("120.00"),
    )
    OrderLine.objects.create(
        order=order, product=product, sku=product.sku, serial="SN-1", unit_price=Decimal("120.00")
    )
    return order


@pytest.fixture
def make_rma(
    make_case: Callable[..., Any], customer_a: Customer, order: Order
) -> Callable[..., Rma]:
    """make_rma(kind="return", reason="doa", customer=..., **case fields) -> a requested RMA."""

    def make(
        kind: str = "return",
        reason: str = "doa",
        customer: Customer | None = None,
        items: list[services.ItemInput] | None = None,
        **fields: Any,
    ) -> Rma:
        values: dict[str, Any] = {
            "subject": "Phone does not start",
            "product_sku": "PHN-X1",
            "serial": "SN-1",
            "order_ref": "SO-1001",
            "amount": Decimal("120.00"),
            "currency": "CNY",
        }
        values.update(fields)
        case = make_case(customer=customer or customer_a, kind=kind, **values)
        return services.rma_create(actor=None, case=case, reason=reason, items=items or ())

    return make


def step(rma: Rma, to: str, actor: User, *, n: int = 0) -> Rma:
    """Take one step with the data that step needs."""
    if to == State.INSPECTED:
        services.rma_inspect(actor=actor, rma=rma, data=CHECKLIST_OK)
    elif to == State.DIAGNOSED:
        cost = None if rma.warranty_status == "in_warranty" else Decimal("80.00")
        services.rma_diagnose(
            actor=actor,
            rma=rma,
            fault="Battery connector loose",
            repair_plan="Reseat connector, replace battery",
            repair_eta=date.today() + timedelta(days=3),
            cost=cost,
        )
    elif to in (State.IN_TRANSIT, State.SHIPPED_BACK, State.REPLACEMENT_SHIPPED):
        services.rma_transition(
            actor=actor, rma=rma, to=to, carrier="SF Express", tracking_number=f"SF{1000 + n}"
        )
    elif to == State.REPAIRING and rma.quote_status == "pending":
        # The customer accepted the quote on the phone; staff record it.
        services.rma_quote_answer(user=actor, rma=rma, accept=True, by_customer=False)
        services.rma_transition(actor=actor, rma=rma, to=to)
    elif to == State.REJECTED:
        services.rma_transition(actor=actor, rma=rma, to=to, note="Outside the return window")
    else:
        services.rma_transition(actor=actor, rma=rma, to=to)
    return Rma.objects.select_related("case", "policy").get(pk=rma.pk)


@pytest.fixture
def drive() -> Callable[..., Rma]:
    """drive(rma, state, actor) -> the RMA moved along its kind's path up to `state`."""

    def run(rma: Rma, state: str, actor: User) -> Rma:
        if rma.state == state:
            return rma
        path = PATHS[rma.kind]
        start = path.index(rma.state) + 1 if rma.state in path else 0
        for n, to in enumerate(path[start:], start=start):
            rma = step(rma, to, actor, n=n)
            if to == state:
                return rma
        raise AssertionError(f"{state} is not on the {rma.kind} path")

    return run


@pytest.fixture(autouse=True)
def _english() -> Any:
    """Messages are asserted in English (the installation default is Chinese)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def logistics_agent(departments: dict[str, Department]) -> User:
    """An agent of the logistics department (where returns and exchanges are routed)."""
    user = User.objects.create_user(username="logi", password="pw-logi", role="agent")
    user.departments.set([departments["logistics"]])
    return user
