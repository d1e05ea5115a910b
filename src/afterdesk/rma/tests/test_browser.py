"""The warehouse in a real browser (Playwright on Debian's Chromium): a keyboard-wedge
scanner types a tracking number and Enter, then an RMA number and Enter; the parcel is
received and the field is ready for the next scan; then the inspection and the sorting.
Screenshots go to var/screenshots/rma-*.png."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from afterdesk.accounts.models import Department, User
from afterdesk.cases.services import CaseInput, case_create
from afterdesk.customers.models import Order, OrderLine, Product
from afterdesk.customers.services import CustomerInput, customer_resolve
from afterdesk.rma import services
from afterdesk.rma.models import Inspection, Rma, RmaPolicy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-wang.fang-2026"


@pytest.fixture
def world() -> dict[str, Any]:
    """Transactional tests empty the database after them, seeded rows included: make them."""
    logistics, _ = Department.objects.update_or_create(
        code="logistics",
        defaults={
            "name_en": "Logistics",
            "name_zh": "物流仓储部",
            "handles_kinds": ["return", "exchange"],
        },
    )
    RmaPolicy.objects.update_or_create(
        product_line="",
        defaults={"return_address": "Returns Centre\n88 Service Road\nShanghai"},
    )
    user = User.objects.create_user(
        username="wang.fang",
        password=PASSWORD,
        role="warehouse",
        first_name="Fang",
        last_name="Wang",
    )
    user.departments.set([logistics])
    product = Product.objects.create(sku="EB-2", name="Earbuds 2", warranty_months=12)
    customer = customer_resolve(data=CustomerInput(name="陈静", email="chen@example.com"))
    now = timezone.now()
    order = Order.objects.create(
        customer=customer,
        reference="SO-88",
        placed_at=now - timedelta(days=4),
        delivered_at=now - timedelta(days=2),
        total=Decimal("99.00"),
    )
    OrderLine.objects.create(order=order, product=product, sku="EB-2", unit_price=Decimal("99.00"))
    rmas = []
    for n in range(2):
        case = case_create(
            actor=None,
            data=CaseInput(
                kind="return",
                channel="web",
                subject=f"Earbuds dead {n}",
                customer=CustomerInput(name="陈静", email="chen@example.com"),
                product_sku="EB-2",
                order_ref="SO-88",
                department="logistics",
            ),
        )
        rma = services.rma_create(actor=None, case=case, reason="doa")
        services.rma_transition(actor=user, rma=rma, to="approved")
        services.rma_transition(actor=user, rma=rma, to="awaiting_return")
        rmas.append(rma)
    services.rma_transition(
        actor=user, rma=rmas[0], to="in_transit", carrier="SF Express", tracking_number="SF7788"
    )
    return {"user": user, "rmas": rmas}


def test_receive_by_scan_then_inspect_and_sort(page, world, screenshot) -> None:
    first, second = (Rma.objects.select_related("case").get(pk=r.pk) for r in world["rmas"])
    page.goto("/desk/rma/warehouse")
    expect(page).to_have_url(re.compile(r"/accounts/login\?next=/desk/rma/warehouse$"))
    page.get_by_label("Username").fill("wang.fang")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(re.compile(r"/desk/rma/warehouse$"))

    scan = page.locator("#scan-code")
    expect(scan).to_be_focused()
    # The scanner "types" the tracking number and presses Enter: no click anywhere.
    page.keyboard.type("SF7788")
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"{first.case.number} received.")).to_be_visible()
    expect(scan).to_be_focused()
    expect(scan).to_have_value("")
    # The next parcel has no tracking number: the RMA number on its slip.
    page.keyboard.type(second.case.number)
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"{second.case.number} received.")).to_be_visible()
    expect(scan).to_be_focused()
    screenshot(page, "rma-warehouse-scan")
    assert set(Rma.objects.values_list("state", flat=True)) == {"received"}

    # Scanning the same parcel again says so and changes nothing.
    page.keyboard.type("SF7788")
    page.keyboard.press("Enter")
    expect(page.get_by_text("was already received")).to_be_visible()

    page.get_by_role("link", name=f"Inspect {second.case.number} now").click()
    expect(page.get_by_role("heading", name=f"Inspect {second.case.number}")).to_be_visible()
    page.get_by_label("Packaging and appearance in order").check()
    page.get_by_label("Matches the customer's description").check()
    page.get_by_label("Accessories complete").check()
    page.get_by_label("Notes").fill("No sound from the left earbud.")
    screenshot(page, "rma-inspection")
    page.get_by_role("button", name="Record the inspection").click()
    expect(page).to_have_url(re.compile(r"/desk/rma/arrivals$"))
    row = page.locator(f"#arrival-{second.case.number}")
    expect(row.get_by_text("Passed")).to_be_visible()
    inspection = Inspection.objects.get(rma=second)
    assert (inspection.passed, inspection.function_ok, inspection.notes) == (
        True,
        False,
        "No sound from the left earbud.",
    )
    screenshot(page, "rma-arrivals")
    row.get_by_role("button", name="Restock").click()
    expect(page.get_by_text(f"{second.case.number} → Restock")).to_be_visible()
    expect(page.locator(f"#arrival-{second.case.number}")).to_have_count(0)
    assert Rma.objects.get(pk=second.pk).disposition == "restock"
