"""An agent's day in a real browser (Playwright on Debian's Chromium).

Sign in → filter a queue → open a case with the keyboard → reply with a template → start
working on it → resolve it; then the customer panel, logging a call with the caller found as
one types, the search box and the shortcut help. Screenshots of the main screens go to
var/screenshots/desk-*.png (docs/screenshots/ holds the committed set).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from afterdesk.accounts.models import Department, User
from afterdesk.cases.models import Case, Category, Message
from afterdesk.cases.services import CaseInput, case_add_message, case_assign, case_create
from afterdesk.customers.models import Order, OrderLine, Product, Segment
from afterdesk.customers.services import CustomerInput, customer_resolve
from afterdesk.knowledge.models import ReplyTemplate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-li.na-2026"


@pytest.fixture
def world() -> dict[str, Any]:
    """Departments, categories, templates, an agent, a VIP customer with an order, and cases.

    Transactional tests empty the database after them, seeded rows included: make them here.
    """

    def department(code: str, name: str, kinds: list[str], position: int) -> Department:
        row, _ = Department.objects.update_or_create(
            code=code,
            defaults={
                "name_en": name,
                "name_zh": name,
                "handles_kinds": kinds,
                "position": position,
                "is_active": True,
            },
        )
        return row

    service = department("customer-service", "Customer service", ["complaint", "inquiry"], 1)
    repair = department("repair", "Repair", ["repair"], 2)
    logistics = department("logistics", "Logistics", ["return", "exchange"], 3)
    product_cat, _ = Category.objects.get_or_create(
        code="product", defaults={"name_en": "Product", "name_zh": "商品问题"}
    )
    Category.objects.get_or_create(
        code="product.doa",
        defaults={"parent": product_cat, "name_en": "Dead on arrival", "name_zh": "到货即坏"},
    )
    ReplyTemplate.objects.all().delete()
    ReplyTemplate.objects.create(
        name="Apology",
        language="en",
        body=(
            "Dear {customer_name},\n\nI am sorry about “{case_subject}”. I have taken over "
            "case {case_number} personally.\n\nKind regards,\n{agent_name}"
        ),
    )
    ReplyTemplate.objects.create(
        name="致歉", language="zh-hans", body="{customer_name}您好：\n\n非常抱歉。\n{agent_name}"
    )
    agent = User.objects.create_user(
        username="li.na", password=PASSWORD, role="agent", first_name="Na", last_name="Li"
    )
    agent.departments.set([service, logistics])
    colleague = User.objects.create_user(
        username="zhou.qiang", role="technician", first_name="Qiang", last_name="Zhou"
    )
    colleague.departments.set([repair])

    gold, _ = Segment.objects.get_or_create(
        code="key-account", defaults={"name_en": "Key account", "name_zh": "大客户"}
    )
    vip = customer_resolve(
        data=CustomerInput(name="Emma Wilson", email="emma@example.com", phone="13812345678")
    )
    vip.vip_tier = "gold"
    vip.segment = gold
    vip.dedicated_agent = agent
    vip.language = "en"
    vip.save()
    earbuds = Product.objects.create(sku="EB-2", name="AirTone Earbuds 2", warranty_months=12)
    order = Order.objects.create(
        customer=vip,
        reference="JD-2026-118822",
        source="JD.com",
        placed_at=datetime(2026, 10, 2, 3, 0, tzinfo=UTC),
        delivered_at=datetime(2026, 10, 4, 9, 0, tzinfo=UTC),
        total=Decimal("499.00"),
    )
    OrderLine.objects.create(
        order=order, product=earbuds, sku="EB-2", serial="EB2-99120", unit_price=Decimal("499")
    )

    def open_case(customer: CustomerInput, **fields: Any) -> Case:
        values = {"kind": "complaint", "channel": "web", **fields}
        return case_create(actor=None, data=CaseInput(customer=customer, **values))

    emma = CustomerInput(name="Emma Wilson", email="emma@example.com")
    others = [
        CustomerInput(name="王芳", email="wang.fang@example.cn"),
        CustomerInput(name="Bob Smith", email="bob@example.com"),
        CustomerInput(name="陈静", phone="13900001111"),
    ]
    open_case(others[0], subject="申请七天无理由退货", kind="return", priority="normal")
    open_case(others[1], subject="Where is my parcel?", kind="inquiry", priority="low")
    mine = open_case(others[2], subject="退款14天还没到账", priority="high")
    case_assign(actor=None, case=mine, owner=agent)
    open_case(others[1], subject="Charger missing from the box", kind="exchange")
    open_case(others[0], subject="Robot vacuum stops after 5 minutes", kind="repair")
    urgent = open_case(
        emma,
        subject="Earbuds dead on arrival",
        description="The left earbud does not charge at all. Order JD-2026-118822.",
        priority="urgent",
        category="product.doa",
        order_ref="JD-2026-118822",
    )
    case_add_message(
        actor=None,
        case=urgent,
        body="I need these for a flight on Friday — please hurry.",
        by_customer=True,
    )
    open_case(emma, subject="Invoice for order JD-2026-118822", kind="inquiry")
    return {"agent": agent, "urgent": urgent}


def _tall(page: Any, screenshot: Any, name: str, height: int = 1200) -> None:
    """A screenshot of the page from its top in a window `height` pixels tall."""
    page.set_viewport_size({"width": 1280, "height": height})
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_an_agent_filters_replies_with_a_template_and_resolves(
    page: Any, screenshot: Any, world: dict[str, Any]
) -> None:
    urgent: Case = world["urgent"]

    # 1. Sign in: the workspace sends a visitor to the login page and back.
    page.goto("/desk/")
    expect(page).to_have_url(re.compile(r"/accounts/login\?next=/desk/$"))
    page.get_by_label("Username").fill("li.na")
    page.get_by_label("Password").fill(PASSWORD)
    screenshot(page, "desk-login")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/desk/$"))
    expect(page.get_by_role("link", name=re.compile(r"^My cases 1$"))).to_be_visible()

    # 2. All I may see, filtered to urgent cases (htmx swaps the results, the URL follows).
    page.get_by_role("link", name=re.compile(r"^All I may see")).click()
    expect(page.locator("tr.queue-row")).to_have_count(6)  # not the repair department's
    filters = page.locator("#queue-filters")
    filters.get_by_label("Priority").select_option("urgent")
    expect(page.locator("tr.queue-row")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"priority=urgent"))
    filters.get_by_label("Priority").select_option("")
    expect(page.locator("tr.queue-row")).to_have_count(6)
    screenshot(page, "desk-queue")
    filters.get_by_label("Priority").select_option("urgent")
    expect(page.locator("tr.queue-row")).to_have_count(1)

    # 3. Open it with the keyboard: j selects the first row, Enter opens it.
    page.locator("body").press("j")
    expect(page.locator("tr.queue-row.current")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/desk/cases/{urgent.number}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Earbuds dead on arrival")
    expect(page.locator(".case-header")).to_contain_text("VIP · Gold")
    expect(page.get_by_text("please hurry")).to_be_visible()
    allowed = page.locator(".transitions button[name=to]")
    expect(allowed).to_have_text(
        ["Start working", "Wait for customer", "Wait internally", "Resolve", "Cancel case"]
    )
    _tall(page, screenshot, "desk-case", 1250)

    # 4. Reply with a template: r focuses the composer; the template is filled in.
    page.locator("body").press("r")
    body = page.get_by_label("Message")
    expect(body).to_be_focused()
    page.get_by_label("Insert a reply template").select_option(label="Apology")
    expect(body).to_have_value(re.compile(r"^Dear Emma Wilson,"))
    expect(body).to_have_value(re.compile(rf"case {urgent.number} personally"))
    expect(body).to_have_value(re.compile(r"Na Li$"))
    body.press("End")
    body.type("\nA replacement pair is on its way.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".flash")).to_contain_text("Reply sent.")
    reply = Message.objects.filter(case=urgent, from_customer=False).get()
    assert reply.body.startswith("Dear Emma Wilson,") and not reply.internal
    assert reply.body.endswith("A replacement pair is on its way.")

    # 5. Start working, then resolve: each button moves the case one step.
    page.get_by_role("button", name="Start working").click()
    expect(page.locator(".case-header .badge.status-open")).to_have_text("Open")
    expect(page.locator(".transitions button[name=to]")).to_have_text(
        ["Wait for customer", "Wait internally", "Resolve", "Cancel case"]
    )
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator(".case-header .badge.status-resolved")).to_have_text("Resolved")
    expect(page.locator(".transitions button[name=to]")).to_have_text(["Reopen", "Close"])
    assert Case.objects.get(pk=urgent.pk).status == "resolved"

    # 6. The customer panel: tier, dedicated agent, order and product, every case.
    page.locator(".case-header").get_by_role("link", name="Emma Wilson").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Emma Wilson")
    expect(page.locator(".profile")).to_contain_text("Key account")
    expect(page.get_by_text("AirTone Earbuds 2")).to_be_visible()
    expect(page.locator("table.queue tbody tr")).to_have_count(2)
    screenshot(page, "desk-customer")

    # 7. Log a call with c: the caller is found as the agent types their phone number.
    page.locator("body").press("c")
    expect(page).to_have_url(re.compile(r"/desk/call$"))
    page.get_by_label("Find the caller by phone, e-mail or name").type("138123", delay=30)
    match = page.locator("#caller-matches a.match")
    expect(match).to_have_count(1)
    expect(match).to_contain_text("Emma Wilson")
    match.click()
    expect(page.get_by_label("Customer name")).to_have_value("Emma Wilson")
    expect(page.locator(".caller-card")).to_contain_text("VIP · Gold")
    page.get_by_label("Subject").fill("Replacement earbuds not received yet")
    page.get_by_label("What the customer says").fill("Called at 15:10, very upset.")
    page.locator(".call-form").get_by_label("Priority").select_option("high")
    _tall(page, screenshot, "desk-call", 900)
    page.get_by_role("button", name="Open the case").click()
    expect(page).to_have_url(re.compile(r"/desk/cases/AS-\d{8}-\d{5}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Replacement earbuds")
    call = Case.objects.get(subject="Replacement earbuds not received yet")
    assert (call.channel, call.priority, call.customer_id) == ("phone", "high", urgent.customer_id)

    # 8. One search box (/): Chinese full text across subjects and descriptions.
    page.locator("body").press("/")
    search = page.get_by_label("Search cases and customers")
    expect(search).to_be_focused()
    search.fill("退款")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/desk/search\?q="))
    expect(page.locator("tr.queue-row")).to_have_count(1)
    expect(page.locator("tr.queue-row")).to_contain_text("退款14天还没到账")
    search = page.get_by_label("Search cases and customers")
    search.fill("emma")
    search.press("Enter")
    expect(page.locator("#customers-title + ul")).to_contain_text("Emma Wilson")
    expect(page.locator("tr.queue-row")).to_have_count(3)
    screenshot(page, "desk-search")

    # 9. ? shows the shortcuts; Escape closes them.
    page.locator("body").press("?")
    help_box = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_box).to_be_visible()
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()


def test_a_stale_edit_shows_the_conflict_in_the_browser(
    page: Any, screenshot: Any, world: dict[str, Any]
) -> None:
    from afterdesk.cases.services import case_update

    urgent: Case = world["urgent"]
    page.goto("/accounts/login")
    page.get_by_label("Username").fill("li.na")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/desk/cases/{urgent.number}/edit")
    page.get_by_label("Order reference").fill("JD-2026-999999")
    # Meanwhile someone else changes the subject.
    case_update(
        actor=None,
        case=urgent,
        version=urgent.version,
        changes={"subject": "Left earbud dead on arrival"},
    )
    page.get_by_role("button", name="Save changes").click()
    alert = page.locator(".conflict")
    expect(alert).to_contain_text("Left earbud dead on arrival")
    expect(page.get_by_label("Order reference")).to_have_value("JD-2026-999999")
    expect(page.get_by_label("Subject")).to_have_value("Left earbud dead on arrival")
    screenshot(page, "desk-conflict")
    page.get_by_role("button", name="Save changes").click()
    expect(page).to_have_url(re.compile(rf"/desk/cases/{urgent.number}$"))
    saved = Case.objects.get(pk=urgent.pk)
    assert (saved.subject, saved.order_ref) == ("Left earbud dead on arrival", "JD-2026-999999")
