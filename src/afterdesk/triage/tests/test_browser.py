"""Triage in a real browser: a case the model was unsure about waits in "Needs triage"; the
agent takes a suggestion with one click and the case page explains what happened."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from afterdesk.accounts.models import Department, User
from afterdesk.cases.models import Case, Category
from afterdesk.cases.services import CaseInput, case_create
from afterdesk.customers.services import CustomerInput
from afterdesk.triage.services import model_train, settings_update
from afterdesk.triage.tests.conftest import labelled_samples

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-triage-2026"
CATEGORIES = ("product.doa", "logistics.delay", "logistics.loss")


@pytest.fixture
def world() -> dict[str, Any]:
    """Transactional tests empty the database after them, seeded rows included: make them."""
    service, _ = Department.objects.update_or_create(
        code="customer-service",
        defaults={
            "name_en": "Customer service",
            "name_zh": "客服部",
            "position": 1,
            "handles_kinds": ["complaint", "inquiry"],
            "is_active": True,
        },
    )
    names = {"product": "Product", "logistics": "Logistics"}
    leaves = {"doa": "Dead on arrival", "delay": "Delivery delay", "loss": "Lost parcel"}
    for code in CATEGORIES:
        top, leaf = code.split(".")
        parent, _ = Category.objects.get_or_create(
            code=top, defaults={"name_en": names[top], "name_zh": names[top]}
        )
        Category.objects.get_or_create(
            code=code, defaults={"parent": parent, "name_en": leaves[leaf], "name_zh": leaf}
        )
    agent = User.objects.create_user(username="li.na", password=PASSWORD, role="agent")
    agent.departments.set([service])
    admin = User.objects.create_user(username="boss", role="admin")
    model_train(actor=admin, samples=[s for s in labelled_samples() if s.category in CATEGORIES])
    settings_update(actor=admin, confidence_threshold=0.99)
    case = case_create(
        actor=None,
        data=CaseInput(
            kind="complaint",
            channel="web",
            subject="Still waiting for my parcel",
            description="Tracking has not moved for a week and nobody answers.",
            customer=CustomerInput(name="Bob Smith", email="bob@example.com", language="en"),
        ),
    )
    return {"case": case}


def test_an_agent_takes_a_suggestion_from_needs_triage(
    page: Any, screenshot: Any, world: dict[str, Any]
) -> None:
    case: Case = world["case"]
    page.goto("/accounts/login?next=/desk/triage/")
    page.get_by_label("Username").fill("li.na")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/desk/triage/$"))

    row = page.locator(f'tr[data-needs-triage="{case.number}"]')
    expect(row).to_be_visible()
    suggestions = row.locator("button[data-suggestion]")
    expect(suggestions).to_have_count(3)
    screenshot(page, "desk-needs-triage")
    chosen = suggestions.first.get_attribute("data-suggestion")
    suggestions.first.click()

    expect(page.get_by_text("Nothing needs triage.")).to_be_visible()
    case.refresh_from_db()
    assert case.category is not None and case.category.code == chosen

    page.goto(f"/desk/cases/{case.number}")
    panel = page.locator("#triage")
    expect(panel).to_contain_text("Model v1")
    expect(panel).to_contain_text("below the threshold of 99 %")
