"""Triage endpoints of API v1: permissions by role, validation, effects and query budgets."""

from __future__ import annotations

from typing import Any

import pytest

from afterdesk.cases.choices import EventType
from afterdesk.cases.models import CaseEvent
from afterdesk.triage.models import ClassifierModel, Route, Rule, Shift, SubTask, TaskForceMember
from afterdesk.triage.services import RuleInput, model_train, rule_create, settings_update
from afterdesk.triage.tests.conftest import labelled_samples

pytestmark = pytest.mark.django_db

RULE = {"name": "DOA words", "keywords": ["dead on arrival"], "set_category": "product.doa"}

# (method, path, body) of every configuration endpoint; {rule} is filled in.
READS = [
    ("get", "/api/v1/triage/rules", None),
    ("get", "/api/v1/triage/rules/{rule}", None),
    ("get", "/api/v1/triage/routes", None),
    ("get", "/api/v1/triage/settings", None),
    ("get", "/api/v1/triage/agents", None),
    ("get", "/api/v1/triage/models", None),
    ("get", "/api/v1/triage/needs-triage", None),
    ("post", "/api/v1/triage/classify", {"subject": "x"}),
]
WRITES = [
    ("post", "/api/v1/triage/rules", {**RULE, "name": "another"}),
    ("put", "/api/v1/triage/rules/{rule}", RULE),
    ("delete", "/api/v1/triage/rules/{rule}", None),
    ("put", "/api/v1/triage/routes", {"kind": "inquiry", "department": "product"}),
    ("patch", "/api/v1/triage/settings", {"confidence_threshold": 0.3}),
    ("put", "/api/v1/triage/agents/agent", {"languages": ["en"]}),
    ("post", "/api/v1/triage/models", {"activate": True}),
]


@pytest.fixture
def rule(admin_user) -> Rule:
    return rule_create(
        actor=admin_user,
        data=RuleInput(name="DOA words", keywords=("dead on arrival",), set_category="product.doa"),
    )


def call(client: Any, method: str, path: str, body: Any, rule: Rule) -> Any:
    path = path.format(rule=rule.pk)
    if method == "get":
        return client.get(path)
    if method == "delete":
        return client.client.delete(path)
    if method == "put":
        return client._send("put", path, body)
    return getattr(client, method)(path, body)


def config_state() -> dict[str, Any]:
    return {
        "rules": list(Rule.objects.values()),
        "routes": list(Route.objects.values()),
        "models": ClassifierModel.objects.count(),
    }


@pytest.mark.parametrize(("method", "path", "body"), READS + WRITES)
def test_customers_never_reach_triage(api, customer_a, rule, method, path, body) -> None:
    before = config_state()
    response = call(api(customer_a.user), method, path, body, rule)
    assert response.status_code == 404
    assert config_state() == before


@pytest.mark.parametrize(("method", "path", "body"), READS + WRITES)
def test_anonymous_requests_are_refused(api, rule, method, path, body) -> None:
    response = call(api(None), method, path, body, rule)
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path", "body"), READS)
def test_agents_read_the_configuration(api, agent, rule, method, path, body) -> None:
    response = call(api(agent), method, path, body, rule)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_agents_cannot_change_it(api, agent, rule, method, path, body) -> None:
    before = config_state()
    response = call(api(agent), method, path, body, rule)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert config_state() == before


def test_supervisors_manage_rules(api, supervisor) -> None:
    client = api(supervisor)
    created = client.post("/api/v1/triage/rules", {**RULE, "position": 5, "stop": True})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["set_category"], body["position"], body["stop"]) == ("product.doa", 5, True)

    replaced = client._send(
        "put", f"/api/v1/triage/rules/{body['id']}", {**RULE, "set_priority": "high"}
    )
    assert replaced.status_code == 200
    assert (replaced.json()["set_priority"], replaced.json()["stop"]) == ("high", False)

    listed = client.get("/api/v1/triage/rules").json()
    assert [r["name"] for r in listed] == ["DOA words"]
    deleted = client.client.delete(f"/api/v1/triage/rules/{body['id']}")
    assert deleted.status_code == 204
    assert not Rule.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"pattern": "(unclosed"}, "pattern"),
        ({"set_category": "product.nope"}, "set_category"),
        ({"kinds": ["complaint", "weird"]}, "kinds"),
        ({"set_priority": "asap"}, "set_priority"),
        ({"assign_to": "ghost"}, "assign_to"),
        ({"amount_min": "50", "amount_max": "10"}, "amount_max"),
        ({"vip": "maybe"}, "vip"),
        ({"languages": ["fr"]}, "languages"),
        ({"set_category": "", "keywords": ["x"]}, "actions"),
        ({"unknown": 1}, "unknown"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(api, supervisor, change, field) -> None:
    response = api(supervisor).post("/api/v1/triage/rules", {**RULE, **change})
    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    assert not Rule.objects.exists()


def test_a_duplicate_rule_name_is_refused(api, supervisor, rule) -> None:
    response = api(supervisor).post("/api/v1/triage/rules", RULE)
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"name"}


def test_routes(api, supervisor) -> None:
    client = api(supervisor)
    saved = client._send(
        "put", "/api/v1/triage/routes", {"category": "service.attitude", "department": "product"}
    )
    assert saved.status_code == 200
    assert saved.json()["department"] == "product"
    again = client._send(
        "put", "/api/v1/triage/routes", {"category": "service.attitude", "department": "tech"}
    )
    assert again.json()["id"] == saved.json()["id"]
    assert Route.objects.get(pk=saved.json()["id"]).department.code == "tech"
    bad = client._send("put", "/api/v1/triage/routes", {"department": "tech"})
    assert bad.status_code == 422
    assert "category" in bad.json()["error"]["fields"]
    assert client.client.delete(f"/api/v1/triage/routes/{saved.json()['id']}").status_code == 204


def test_settings(api, supervisor) -> None:
    client = api(supervisor)
    response = client.patch(
        "/api/v1/triage/settings",
        {"confidence_threshold": 0.7, "assignment_mode": "round_robin", "urgent_words": "火\n烟"},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["confidence_threshold"], body["assignment_mode"]) == (0.7, "round_robin")
    assert body["urgent_words"] == ["火", "烟"]
    bad = client.patch("/api/v1/triage/settings", {"assignment_mode": "lottery"})
    assert bad.status_code == 422
    assert client.get("/api/v1/triage/settings").json()["assignment_mode"] == "round_robin"


def test_skills_and_shifts_of_an_agent(api, supervisor, agent) -> None:
    client = api(supervisor)
    body = {
        "languages": ["en", "zh-hans"],
        "product_lines": ["phones"],
        "max_open": 12,
        "shifts": [
            {"weekday": 0, "start": "22:00", "end": "06:00"},
            {"weekday": 1, "start": "09:00", "end": "18:00"},
        ],
    }
    response = client._send("put", "/api/v1/triage/agents/agent", body)
    assert response.status_code == 200, response.content
    out = response.json()
    assert (out["in_assignment"], out["max_open"], out["languages"]) == (
        True,
        12,
        ["en", "zh-hans"],
    )
    assert out["shifts"][0] == {"weekday": 0, "start": "22:00:00", "end": "06:00:00"}
    bad = client._send(
        "put",
        "/api/v1/triage/agents/agent",
        {"shifts": [{"weekday": 2, "start": "09:00", "end": "09:00"}]},
    )
    assert bad.status_code == 422
    assert Shift.objects.filter(profile__user=agent).count() == 2
    assert client._send("put", "/api/v1/triage/agents/ghost", {}).status_code == 404


def test_agents_mark_themselves_away(api, agent) -> None:
    response = api(agent).post("/api/v1/triage/away", {"away": True})
    assert response.status_code == 200
    assert response.json()["is_away"] is True


def test_models_train_and_activate(api, supervisor, admin_user) -> None:
    refused = api(supervisor).post("/api/v1/triage/models", {"activate": True})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "training_refused"
    model_train(actor=admin_user, samples=labelled_samples())
    model_train(actor=admin_user, samples=labelled_samples(), activate=False)
    listed = api(supervisor).get("/api/v1/triage/models").json()
    assert [(m["version"], m["is_active"]) for m in listed] == [(2, False), (1, True)]
    activated = api(supervisor).post("/api/v1/triage/models/2/activate")
    assert activated.status_code == 200
    assert ClassifierModel.objects.get(is_active=True).version == 2
    assert api(supervisor).post("/api/v1/triage/models/7/activate").status_code == 404


def test_classify_gives_suggestions_and_urgency_words(api, agent, admin_user) -> None:
    model_train(actor=admin_user, samples=labelled_samples())
    response = api(agent).post(
        "/api/v1/triage/classify", {"subject": "充电宝冒烟了", "body": "还有烧焦的味道"}
    )
    body = response.json()
    assert len(body["categories"]) == 3
    assert body["model"] == 1
    assert "冒烟" in body["urgent_words"]


# ---- a case's triage and collaboration ----------------------------------------------------


def test_needs_triage_and_one_click_apply(api, agent, admin_user, make_case) -> None:
    model_train(actor=admin_user, samples=labelled_samples())
    settings_update(actor=admin_user, confidence_threshold=1.0)
    case = make_case(subject="Question", description="Something is not right with my order")
    client = api(agent)
    listed = client.get("/api/v1/triage/needs-triage").json()
    assert [item["number"] for item in listed] == [case.number]
    assert len(listed[0]["suggestions"]) == 3

    detail = client.get(f"/api/v1/cases/{case.number}/triage").json()
    assert detail["needs_triage"] is True
    assert detail["why"][0]["type"] == EventType.TRIAGE_CLASSIFIED

    applied = client.post(
        f"/api/v1/cases/{case.number}/triage/apply", {"category": "product.missing_parts"}
    )
    assert applied.status_code == 200, applied.content
    assert applied.json()["needs_triage"] is False
    assert client.get("/api/v1/triage/needs-triage").json() == []
    case.refresh_from_db()
    assert case.category.code == "product.missing_parts"


def test_apply_refuses_an_unknown_category(api, agent, make_case) -> None:
    case = make_case()
    response = api(agent).post(f"/api/v1/cases/{case.number}/triage/apply", {"category": "x.y"})
    assert response.status_code == 422
    case.refresh_from_db()
    assert case.category is None


def test_customers_see_no_triage_of_their_own_case(api, customer_a, make_case) -> None:
    case = make_case(customer=customer_a)
    client = api(customer_a.user)
    for path in ("triage", "subtasks", "task-force"):
        assert client.get(f"/api/v1/cases/{case.number}/{path}").status_code == 404
    created = client.post(
        f"/api/v1/cases/{case.number}/subtasks", {"department": "tech", "title": "x"}
    )
    assert created.status_code == 404
    assert not SubTask.objects.exists()


def test_agents_of_another_department_cannot_see_the_case(api, repair_agent, make_case) -> None:
    case = make_case()
    assert api(repair_agent).get(f"/api/v1/cases/{case.number}/triage").status_code == 404


def test_subtasks_across_departments(api, agent, supervisor, make_case, departments) -> None:
    from afterdesk.accounts.models import User

    tech = User.objects.create_user(username="tech1", role="agent")
    tech.departments.set([departments["tech"]])
    case = make_case()
    created = api(agent).post(
        f"/api/v1/cases/{case.number}/subtasks",
        {
            "department": "tech",
            "title": "Investigate firmware crash",
            "owner": "tech1",
            "due_at": "2026-12-10T10:00:00+08:00",
        },
    )
    assert created.status_code == 201, created.content
    task = created.json()
    assert (task["department"], task["owner"], task["status"]) == ("tech", "tech1", "open")
    event = CaseEvent.objects.get(case=case, type=EventType.SUBTASK_CREATED)
    assert event.payload["department"] == "tech"

    # The tech agent cannot see the customer-service case, but owns the sub-task.
    tech_client = api(tech)
    path = f"/api/v1/cases/{case.number}/subtasks/{task['id']}"
    assert tech_client.patch(path, {"status": "done"}).status_code == 404
    moved = api(agent).patch(path, {"status": "in_progress"})
    assert moved.json()["status"] == "in_progress"
    done = api(agent).patch(path, {"status": "done"})
    assert done.json()["completed_at"] is not None
    refused = api(agent).patch(path, {"status": "open"})
    assert refused.status_code == 409
    assert SubTask.objects.get().status == "done"
    wrong = api(agent).post(
        f"/api/v1/cases/{case.number}/subtasks",
        {"department": "tech", "title": "x", "owner": "agent"},
    )
    assert wrong.status_code == 422
    assert set(wrong.json()["error"]["fields"]) == {"owner"}
    listed = api(supervisor).get(f"/api/v1/cases/{case.number}/subtasks").json()
    assert [t["title"] for t in listed] == ["Investigate firmware crash"]


def test_task_force_and_escalation(api, agent, supervisor, make_case, departments) -> None:
    from afterdesk.accounts.models import User

    product = User.objects.create_user(username="pm", role="agent")
    product.departments.set([departments["product"]])
    case = make_case()
    client = api(agent)
    added = client.post(
        f"/api/v1/cases/{case.number}/task-force", {"username": "pm", "note": "evaluates"}
    )
    assert added.status_code == 201
    case.refresh_from_db()
    assert case.is_complex
    escalated = client.post(
        f"/api/v1/cases/{case.number}/escalate",
        {"supervisor": "supervisor", "reason": "Customer threatens to go to the press"},
    )
    assert escalated.status_code == 201
    assert escalated.json()["role"] == "supervisor"
    case.refresh_from_db()
    assert case.priority == "high"
    assert CaseEvent.objects.filter(case=case, type=EventType.ESCALATED).count() == 1
    members = client.get(f"/api/v1/cases/{case.number}/task-force").json()
    assert [m["username"] for m in members] == ["pm", "supervisor"]
    not_supervisor = client.post(
        f"/api/v1/cases/{case.number}/escalate", {"supervisor": "pm", "reason": "x"}
    )
    assert not_supervisor.status_code == 422
    removed = client.client.delete(f"/api/v1/cases/{case.number}/task-force/pm")
    assert removed.status_code == 204
    assert list(TaskForceMember.objects.values_list("user__username", flat=True)) == ["supervisor"]


def test_run_triage_on_demand(api, agent, admin_user, make_case) -> None:
    case = make_case(subject="Tablet dead on arrival")
    rule_create(
        actor=admin_user,
        data=RuleInput(name="DOA", keywords=("dead on arrival",), set_category="product.doa"),
    )
    response = api(agent).post(f"/api/v1/cases/{case.number}/triage/run")
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.category.code == "product.doa"
    assert response.json()["why"][-1]["payload"]["name"] == "DOA"


@pytest.mark.parametrize("rules", [1, 20])
def test_rule_list_query_budget(
    api, supervisor, admin_user, rules, django_assert_num_queries
) -> None:
    for i in range(rules):
        rule_create(
            actor=admin_user,
            data=RuleInput(
                name=f"r{i}", keywords=("x",), set_category="product.doa", assign_to="supervisor"
            ),
        )
    client = api(supervisor)
    client.get("/api/v1/triage/rules")
    # token, token stamp skipped on re-use; the rules with their relations in one query
    with django_assert_num_queries(2):
        assert len(client.get("/api/v1/triage/rules").json()) == rules


@pytest.mark.parametrize("agents", [1, 10])
def test_agent_list_query_budget(
    api, supervisor, make_agent, agents, django_assert_num_queries
) -> None:
    for i in range(agents):
        make_agent(f"a{i}", shifts=[(0, "09:00", "18:00")], languages=("en",))
    client = api(supervisor)
    client.get("/api/v1/triage/agents")
    # token; users with profiles; their departments; their shifts
    with django_assert_num_queries(4):
        client.get("/api/v1/triage/agents")


@pytest.mark.parametrize("cases", [1, 10])
def test_needs_triage_query_budget(api, agent, make_case, cases, django_assert_num_queries) -> None:
    for i in range(cases):
        make_case(subject=f"q{i}")
    client = api(agent)
    client.get("/api/v1/triage/needs-triage")
    # token; the agent's departments; the suggestions with their cases
    with django_assert_num_queries(3):
        assert len(client.get("/api/v1/triage/needs-triage").json()) == cases
