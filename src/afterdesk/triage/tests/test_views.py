"""Workspace screens of triage: who sees what, forms, one-click suggestions, the case panel,
query budgets."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from afterdesk.accounts.models import User
from afterdesk.cases.choices import EventType
from afterdesk.cases.models import CaseEvent
from afterdesk.triage.models import Route, Rule, Shift, SubTask, TaskForceMember, TriageSettings
from afterdesk.triage.services import RuleInput, model_train, rule_create, settings_update
from afterdesk.triage.tests.conftest import labelled_samples

pytestmark = pytest.mark.django_db

PAGES = [
    "/desk/triage/",
    "/desk/triage/rules",
    "/desk/triage/agents",
    "/desk/triage/setup",
]


def login(user: User) -> Client:
    """A client logged in as `user`, in English."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", PAGES)
def test_staff_see_the_pages(agent, supervisor, path) -> None:
    for user in (agent, supervisor):
        response = login(user).get(path)
        assert response.status_code == 200, (user, path)


@pytest.mark.parametrize("path", [*PAGES, "/desk/triage/rules/new"])
def test_customers_are_sent_to_the_portal(customer_a, path) -> None:
    response = login(customer_a.user).get(path)
    assert response.status_code == 302
    assert "/portal/" in response["Location"]


def test_agents_cannot_edit_rules(agent) -> None:
    client = login(agent)
    assert client.get("/desk/triage/rules/new").status_code == 403
    response = client.post("/desk/triage/rules/new", {"name": "x", "stop": "on"})
    assert response.status_code == 403
    assert not Rule.objects.exists()
    page = client.get("/desk/triage/rules").content.decode()
    assert "/desk/triage/rules/new" not in page


def test_a_supervisor_creates_a_rule_through_the_form(supervisor) -> None:
    client = login(supervisor)
    response = client.post(
        "/desk/triage/rules/new",
        {
            "name": "DOA words",
            "position": "10",
            "is_active": "on",
            "keywords": "开不了机，dead on arrival",
            "kinds": ["complaint", "return"],
            "set_category": "product.doa",
            "add_tags": "doa, hardware",
        },
    )
    assert response.status_code == 302
    rule = Rule.objects.get()
    assert rule.keywords == ["开不了机", "dead on arrival"]
    assert (rule.kinds, rule.add_tags, rule.set_category.code) == (
        ["complaint", "return"],
        ["doa", "hardware"],
        "product.doa",
    )
    listing = client.get("/desk/triage/rules").content.decode()
    assert "DOA words" in listing


def test_a_bad_pattern_is_shown_on_the_form(supervisor) -> None:
    response = login(supervisor).post(
        "/desk/triage/rules/new",
        {"name": "bad", "position": "1", "pattern": "(open", "set_priority": "high"},
    )
    assert response.status_code == 422
    assert "regular expression is invalid" in response.content.decode()
    assert not Rule.objects.exists()


def test_editing_and_deleting_a_rule(supervisor, admin_user) -> None:
    rule = rule_create(
        actor=admin_user, data=RuleInput(name="old", keywords=("x",), set_priority="low")
    )
    client = login(supervisor)
    page = client.get(f"/desk/triage/rules/{rule.pk}").content.decode()
    assert 'value="old"' in page
    response = client.post(
        f"/desk/triage/rules/{rule.pk}",
        {"name": "new", "position": "5", "keywords": "x", "set_priority": "high"},
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.set_priority, rule.is_active) == ("new", "high", False)
    assert client.post(f"/desk/triage/rules/{rule.pk}/delete").status_code == 302
    assert not Rule.objects.exists()


def test_skills_and_a_night_shift_through_the_form(supervisor, agent) -> None:
    client = login(supervisor)
    response = client.post(
        "/desk/triage/agents/agent",
        {
            "languages": ["en"],
            "product_lines": "phones, watches",
            "max_open": "15",
            "auto_assign": "on",
            "shifts": "mon 22:00-06:00\n2 09:00-18:00",
        },
    )
    assert response.status_code == 302
    shifts = list(Shift.objects.filter(profile__user=agent).order_by("weekday"))
    assert [(s.weekday, f"{s.start:%H:%M}", f"{s.end:%H:%M}") for s in shifts] == [
        (0, "22:00", "06:00"),
        (1, "09:00", "18:00"),
    ]
    page = client.get("/desk/triage/agents").content.decode()
    assert "mon 22:00-06:00" in page
    bad = client.post("/desk/triage/agents/agent", {"shifts": "someday 9-5"})
    assert bad.status_code == 422
    assert "mon 09:00-18:00" in bad.content.decode()
    assert Shift.objects.filter(profile__user=agent).count() == 2


def test_agents_mark_themselves_away_and_back(agent, make_agent) -> None:
    me = make_agent("me")
    client = login(me)
    client.post("/desk/triage/agents/away", {"away": "1"})
    me.triage_profile.refresh_from_db()
    assert me.triage_profile.is_away
    client.post("/desk/triage/agents/away", {"away": "0"})
    me.triage_profile.refresh_from_db()
    assert not me.triage_profile.is_away


def test_setup_routes_settings_and_training(supervisor, agent) -> None:
    client = login(supervisor)
    response = client.post(
        "/desk/triage/setup/routes",
        {"kind": "", "category": "service.attitude", "department": "product", "position": "5"},
    )
    assert response.status_code == 302
    assert Route.objects.filter(category__code="service.attitude").exists()
    saved = client.post(
        "/desk/triage/setup/settings",
        {
            "confidence_threshold": "0.4",
            "assignment_mode": "round_robin",
            "default_max_open": "10",
            "urgent_words": "火",
            "negative_words": "差",
            "negative_threshold": "2",
        },
    )
    assert saved.status_code == 302
    row = TriageSettings.objects.get()
    assert (row.confidence_threshold, row.assignment_mode) == (0.4, "round_robin")
    trained = client.post("/desk/triage/setup/models", {"activate": "1"}, follow=True)
    assert "At least 20 labelled cases" in trained.content.decode()
    assert login(agent).post("/desk/triage/setup/settings", {}).status_code == 403


def test_needs_triage_one_click(agent, admin_user, make_case) -> None:
    model_train(actor=admin_user, samples=labelled_samples())
    settings_update(actor=admin_user, confidence_threshold=1.0)
    case = make_case(subject="Hmm", description="Something about my order")
    client = login(agent)
    page = client.get("/desk/triage/").content.decode()
    assert case.number in page
    assert page.count("data-suggestion=") == 3
    response = client.post(
        f"/desk/triage/cases/{case.number}/apply", {"category": "logistics.delay", "back": "needs"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/desk/triage/"
    case.refresh_from_db()
    assert case.category.code == "logistics.delay"
    assert case.number not in client.get("/desk/triage/").content.decode()


@pytest.mark.parametrize("cases", [1, 8])
def test_needs_triage_page_query_budget(agent, make_case, cases, django_assert_num_queries) -> None:
    for i in range(cases):
        make_case(subject=f"q{i}")
    client = login(agent)
    client.get("/desk/triage/")
    # session, user, the agent's departments, the suggestions with their cases
    with django_assert_num_queries(4):
        assert client.get("/desk/triage/").status_code == 200


def test_the_case_page_explains_triage(agent, admin_user, make_case) -> None:
    rule_create(
        actor=admin_user,
        data=RuleInput(name="DOA words", keywords=("dead on arrival",), set_category="product.doa"),
    )
    case = make_case(subject="Tablet dead on arrival", description="Also 账号被盗")
    page = login(agent).get(f"/desk/cases/{case.number}").content.decode()
    assert 'id="triage"' in page
    assert "Rule “DOA words” set Category = Product › Dead on arrival" in page
    assert "Graded urgent because of: 账号被盗" in page


def test_collaboration_from_the_case_page(agent, supervisor, make_case, departments) -> None:
    tech = User.objects.create_user(username="tech1", role="agent")
    tech.departments.set([departments["tech"]])
    case = make_case()
    client = login(agent)
    created = client.post(
        f"/desk/triage/cases/{case.number}/subtasks",
        {"department": "tech", "title": "Look at the logs", "owner": "tech1"},
    )
    assert created.status_code == 302
    task = SubTask.objects.get()
    client.post(f"/desk/triage/cases/{case.number}/subtasks/{task.pk}/status", {"status": "done"})
    task.refresh_from_db()
    assert task.status == "done"
    client.post(
        f"/desk/triage/cases/{case.number}/task-force", {"username": "tech1", "role": "member"}
    )
    client.post(
        f"/desk/triage/cases/{case.number}/escalate",
        {"supervisor": "supervisor", "reason": "Angry VIP"},
    )
    assert set(TaskForceMember.objects.values_list("user__username", flat=True)) == {
        "tech1",
        "supervisor",
    }
    page = client.get(f"/desk/cases/{case.number}").content.decode()
    assert "Look at the logs" in page
    assert "Escalated to supervisor: Angry VIP" in page
    assert CaseEvent.objects.filter(case=case, type=EventType.SUBTASK_CHANGED).count() == 1


def test_another_department_cannot_act_on_the_case(repair_agent, make_case) -> None:
    case = make_case()
    response = login(repair_agent).post(
        f"/desk/triage/cases/{case.number}/subtasks", {"department": "tech", "title": "x"}
    )
    assert response.status_code == 404
    assert not SubTask.objects.exists()


def test_the_nav_links_triage_for_staff(agent) -> None:
    page: Any = login(agent).get("/desk/").content.decode()
    assert 'href="/desk/triage/"' in page
