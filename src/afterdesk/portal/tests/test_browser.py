"""A customer's whole journey in a real browser (Playwright on Debian's Chromium).

Submit a request with a photo → see the service number → track it without signing in → sign in
with the e-mailed link → reply → (staff resolve the case) → confirm the resolution.
Screenshots of the main screens go to var/screenshots/ (see docs/screenshots/).
"""

from __future__ import annotations

import re

import pytest
from django.core import mail

from afterdesk.accounts.models import Department, User
from afterdesk.cases.models import Attachment, Case, Category, Message
from afterdesk.cases.services import CaseInput, case_add_message, case_create, case_transition
from afterdesk.customers.services import CustomerInput
from afterdesk.portal.tests.conftest import png_bytes
from afterdesk.sla.models import SlaPolicy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINK = re.compile(r"https?://[^/\s]+(/portal/login/[A-Za-z0-9_\-]+)")


@pytest.fixture(autouse=True)
def _portal_settings(settings, live_server):
    settings.SITE_URL = live_server.url
    settings.PORTAL_LOGIN_MIN_RESPONSE_MS = 0


@pytest.fixture
def staff() -> User:
    """An agent of customer service and repair, and the categories the form offers.

    Transactional tests empty the database after them, seeded rows included: make them here.
    Seeded SLA policies may or may not have survived an earlier one; none apply here, so the
    confirmation shows the portal's own response promise.
    """
    SlaPolicy.objects.update(active=False)
    product, _ = Category.objects.get_or_create(
        code="product", defaults={"name_en": "Product", "name_zh": "商品问题"}
    )
    Category.objects.get_or_create(
        code="product.quality",
        defaults={"parent": product, "name_en": "Quality defect", "name_zh": "质量问题"},
    )
    departments = [
        Department.objects.get_or_create(
            code=code, defaults={"name_en": name, "name_zh": name, "handles_kinds": kinds}
        )[0]
        for code, name, kinds in (
            ("customer-service", "Customer service", []),
            ("repair", "Repair", ["repair"]),
        )
    ]
    user = User.objects.create_user(username="agent-li", password="pw", role="agent")
    user.departments.set(departments)
    return user


def _older_cases(email: str, staff: User) -> None:
    """Two earlier cases of the same customer, so that "My cases" is a list."""
    contact = CustomerInput(name="Carol Chen", email=email)
    for kind, subject, status in (
        ("inquiry", "Warranty period of the TV-55", "closed"),
        ("exchange", "Remote control missing from the box", "pending_internal"),
    ):
        case = case_create(
            actor=None,
            data=CaseInput(kind=kind, channel="email", subject=subject, customer=contact),
        )
        if status == "closed":
            case = case_transition(actor=staff, case=case, to="resolved")
        case_transition(actor=staff, case=case, to=status)


def _whole_page(page, screenshot, name: str) -> None:
    """Screenshot the page from its top, with the viewport as tall as the page (max 1600)."""
    height = min(1600, max(800, page.evaluate("document.documentElement.scrollHeight")))
    page.set_viewport_size({"width": 1280, "height": height})
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_a_customer_submits_tracks_signs_in_replies_and_confirms(page, screenshot, staff):
    # 1. The request form, with a photo.
    page.goto("/portal/")
    page.get_by_role("link", name="Submit a request").click()
    page.get_by_label("What do you need?").select_option("repair")
    page.get_by_label("Topic").select_option("product.quality")
    page.get_by_label("Summary").fill("TV screen flickers after ten minutes")
    page.get_by_label("Describe the problem").fill(
        "Bought in March. After about ten minutes the picture flickers and turns dark.\n"
        "Restarting does not help."
    )
    page.get_by_label("Order number").fill("JD-2026-118822")
    page.get_by_label("Product / model").fill("TV-55 Pro")
    page.get_by_label("Serial number").fill("SN55P-00981")
    page.get_by_label("Photos or documents").set_input_files(
        [{"name": "flicker.png", "mimeType": "image/png", "buffer": png_bytes(64, 48)}]
    )
    page.get_by_label("Your name").fill("Carol Chen")
    page.get_by_label("E-mail").fill("carol@example.com")
    page.get_by_label("Phone").fill("138 0013 8000")
    _whole_page(page, screenshot, "portal-submit")
    page.get_by_role("button", name="Send request").click()

    # 2. The confirmation: the number and the expected response time, at once.
    page.wait_for_url(re.compile(r"/portal/submitted/AS-\d{8}-\d{5}$"))
    number = page.locator("#service-number").inner_text().strip()
    case = Case.objects.get(number=number)
    assert case.channel == "web" and case.customer.email == "carol@example.com"
    assert Attachment.objects.get(case=case).filename == "flicker.png"
    assert page.get_by_text("Expected response time").is_visible()
    # No SLA policy in this database (see `staff`): the portal's own promise.
    assert page.get_by_text("within 24 hours").is_visible()
    screenshot(page, "portal-submitted")

    # 3. Track it without signing in.
    page.get_by_role("link", name="Track this request").click()
    page.wait_for_url("**/track")
    page.get_by_label("Service number").fill(number)
    page.get_by_label("E-mail or phone").fill("13800138000")
    page.get_by_role("button", name="Show status").click()
    page.get_by_role("heading", name=re.compile(number)).wait_for()
    assert page.get_by_text("Request received").is_visible()

    # 4. Sign in with a one-time link.
    _older_cases("carol@example.com", staff)
    page.goto("/portal/login")
    page.get_by_label("E-mail").fill("carol@example.com")
    screenshot(page, "portal-sign-in")
    page.get_by_role("button", name="Send me a sign-in link").click()
    page.get_by_role("heading", name="Check your e-mail").wait_for()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["carol@example.com"]
    link = LINK.search(mail.outbox[0].body)
    assert link, mail.outbox[0].body
    page.goto(link.group(1))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/portal/cases")
    assert page.get_by_text(number).is_visible()
    assert page.get_by_text("Remote control missing from the box").is_visible()
    screenshot(page, "portal-my-cases")

    # 5. Reply on the case page.
    page.get_by_role("link", name=re.compile("TV screen flickers")).click()
    page.wait_for_url(f"**/portal/cases/{number}")
    page.get_by_label("Your message").fill(
        "The flicker also happens on HDMI 2. Video attached later."
    )
    page.get_by_role("button", name="Send", exact=True).click()
    page.get_by_text("Thank you, we received your message.").wait_for()
    assert Message.objects.get(case=case, from_customer=True).body.startswith("The flicker")

    # 6. Staff answer and resolve the case (through the services, as the workspace does).
    case_add_message(
        actor=staff,
        case=case,
        body="We replaced the backlight driver board under warranty. Please check it again.",
    )
    case_transition(actor=staff, case=case, to="resolved")
    page.reload()
    page.get_by_role("heading", name="Is your problem solved?").wait_for()
    assert page.get_by_text("We replaced the backlight driver board").is_visible()
    _whole_page(page, screenshot, "portal-case")

    # 7. Confirm the resolution.
    page.get_by_role("button", name="Yes, it is solved").click()
    page.get_by_text("Thank you for confirming. The case is closed.").wait_for()
    case.refresh_from_db()
    assert case.status == "closed"
    assert page.locator(".case-meta .badge").inner_text() == "Closed"
    _whole_page(page, screenshot, "portal-case-closed")


def test_the_confirmation_on_a_phone(page, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/portal/new")
    page.get_by_label("What do you need?").select_option("return")
    page.get_by_label("Summary").fill("Headphones: no sound on the left side")
    page.get_by_label("Describe the problem").fill("Arrived yesterday, left ear is silent.")
    page.get_by_label("Your name").fill("王芳")
    page.get_by_label("Phone").fill("139 1234 5678")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url(re.compile(r"/portal/submitted/"))
    assert page.locator("#service-number").is_visible()
    # The page fits the phone: nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "portal-submitted-phone")


def test_a_refused_photo_keeps_the_form(page):
    page.goto("/portal/new")
    page.get_by_label("Summary").fill("Kept summary")
    page.get_by_label("Describe the problem").fill("Kept description")
    page.get_by_label("Photos or documents").set_input_files(
        [{"name": "virus.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ\x90\x00"}]
    )
    page.get_by_label("Your name").fill("Dan")
    page.get_by_label("E-mail").fill("dan@example.com")
    page.get_by_role("button", name="Send request").click()
    page.get_by_text("are not accepted").wait_for()
    assert page.get_by_label("Summary").input_value() == "Kept summary"
    assert page.get_by_label("Describe the problem").input_value() == "Kept description"
    assert Case.objects.count() == 0
