"""The SLA object in the case JSON, the ?sla= queues, configuration and marking a clock met."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from afterdesk.cases.services import case_assign
from afterdesk.sla.sweep import timers_sweep
from afterdesk.sla.tests.conftest import cn

pytestmark = pytest.mark.django_db


def test_the_case_json_carries_its_clocks(clock, api, make_case, supervisor):
    case = make_case(priority="high")
    clock.set(cn(2026, 11, 23, 11, 30))
    body = api(supervisor).get(f"/api/v1/cases/{case.number}").json()
    assert set(body["sla"]) == {"first_response", "first_feedback", "solution_plan"}
    assert body["sla"]["first_response"] == {
        "state": "running",
        "due_at": "2026-11-23T07:00:00Z",  # 15:00 in Shanghai: 4 h with the lunch break
        "remaining_seconds": int(2.5 * 3600),
        "target_seconds": 4 * 3600,
        "started_at": "2026-11-23T02:00:00Z",
        "met_at": None,
        "breached_at": None,
        "escalated": False,
    }
    # Past due and not yet swept: the state says what is true now.
    clock.set(cn(2026, 11, 23, 16, 0))
    overdue = api(supervisor).get(f"/api/v1/cases/{case.number}").json()["sla"]
    assert (overdue["first_response"]["state"], overdue["first_response"]["remaining_seconds"]) == (
        "breached",
        -3600,
    )


def test_customers_do_not_see_clocks(clock, api, make_case, customer_a):
    case = make_case(customer=customer_a)
    body = api(customer_a.user).get(f"/api/v1/cases/{case.number}").json()
    assert body["sla"] == {}
    listed = api(customer_a.user).get("/api/v1/cases").json()["items"]
    assert [item["sla"] for item in listed] == [{}]


def test_a_paused_clock_has_no_due_time(clock, api, make_case, supervisor):
    case = make_case()
    client = api(supervisor)
    client.post(f"/api/v1/cases/{case.number}/transitions", {"to": "pending_customer"})
    clock.set(cn(2026, 11, 30, 10, 0))
    first = client.get(f"/api/v1/cases/{case.number}").json()["sla"]["first_response"]
    assert (first["state"], first["due_at"], first["remaining_seconds"]) == (
        "paused",
        None,
        24 * 3600,
    )


def test_queues_overdue_due_soon_escalated(clock, api, make_case, supervisor):
    urgent = make_case(priority="urgent", subject="urgent")
    high = make_case(priority="high", subject="high")
    make_case(priority="low", subject="low")
    client = api(supervisor)

    def numbers(queue: str) -> list[str]:
        response = client.get("/api/v1/cases", {"sla": queue})
        assert response.status_code == 200, response.content
        return [item["number"] for item in response.json()["items"]]

    clock.set(cn(2026, 11, 23, 10, 30))
    assert numbers("overdue") == []
    assert numbers("due_soon") == [urgent.number]
    clock.set(cn(2026, 11, 23, 14, 30))  # urgent due 11:00, high due 15:00
    assert numbers("overdue") == [urgent.number]
    assert numbers("due_soon") == [high.number]
    assert numbers("escalated") == []
    timers_sweep(now=cn(2026, 11, 23, 14, 30))
    assert numbers("escalated") == [urgent.number]
    assert numbers("overdue") == [urgent.number]
    # Combined with the other filters.
    assert client.get("/api/v1/cases", {"sla": "overdue", "priority": "low"}).json()["items"] == []


def test_an_unknown_queue_is_refused(api, supervisor):
    response = api(supervisor).get("/api/v1/cases", {"sla": "late"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], set(error["fields"])) == ("validation_error", {"sla"})


def test_the_list_loads_clocks_in_one_query_whatever_the_page_size(
    clock, api, make_case, supervisor
):
    client = api(supervisor)
    make_case()
    client.get("/api/v1/cases")  # warm the token and caches

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/cases")
        assert response.status_code == 200
        return len(queries)

    one = count()
    for _ in range(4):
        make_case()
    assert count() == one


def test_mark_the_solution_plan_met(clock, api, make_case, agent, supervisor):
    case = make_case()
    case_assign(actor=supervisor, case=case, owner=agent)
    clock.set(cn(2026, 11, 24, 10, 0))
    response = api(agent).post(f"/api/v1/cases/{case.number}/sla/solution_plan/met")
    assert response.status_code == 200, response.content
    assert response.json()["solution_plan"]["state"] == "met"
    assert response.json()["solution_plan"]["met_at"] == "2026-11-24T02:00:00Z"
    again = api(agent).post(f"/api/v1/cases/{case.number}/sla/solution_plan/met")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "sla_timer_not_live")
    unknown = api(agent).post(f"/api/v1/cases/{case.number}/sla/coffee/met")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "sla_invalid")


def test_only_staff_who_may_change_the_case_mark_clocks(
    clock, api, make_case, customer_a, repair_agent
):
    case = make_case(customer=customer_a)
    assert (
        api(customer_a.user).post(f"/api/v1/cases/{case.number}/sla/solution_plan/met").status_code
        == 403
    )
    # Another department's agent does not even learn that the case exists.
    assert (
        api(repair_agent).post(f"/api/v1/cases/{case.number}/sla/solution_plan/met").status_code
        == 404
    )
    assert api(None).post(f"/api/v1/cases/{case.number}/sla/solution_plan/met").status_code == 401


def test_calendars_and_policies(api, agent, customer_a):
    calendars = api(agent).get("/api/v1/sla/calendars")
    assert calendars.status_code == 200
    by_name = {c["name"]: c for c in calendars.json()}
    cn_business = by_name["cn-business"]
    assert (cn_business["tz"], cn_business["country"], cn_business["standard_day_seconds"]) == (
        "Asia/Shanghai",
        "cn",
        8 * 3600,
    )
    assert cn_business["intervals"][:2] == [
        {"weekday": 0, "start": "09:00", "end": "12:00"},
        {"weekday": 0, "start": "13:00", "end": "18:00"},
    ]
    assert len(cn_business["intervals"]) == 10
    assert by_name["24x7"]["kind"] == "24x7"
    policies = api(agent).get("/api/v1/sla/policies").json()
    assert [p["name"] for p in policies] == [
        "Urgent",
        "High priority",
        "Normal priority",
        "Low priority",
        "Complex cases",
        "Repair, return, exchange",
        "Standard",
    ]
    urgent = policies[0]
    assert (urgent["priorities"], urgent["pause_statuses"], urgent["targets"][0]["metric"]) == (
        ["urgent"],
        ["pending_customer"],
        "first_response",
    )
    assert urgent["targets"][0]["working_seconds"] == 3600
    assert api(customer_a.user).get("/api/v1/sla/calendars").status_code == 403
    assert api(customer_a.user).get("/api/v1/sla/policies").status_code == 403


def test_openapi_lists_the_sla_paths(api, agent):
    paths = api(agent).get("/api/v1/openapi.json").json()["paths"]
    assert {
        "/api/v1/sla/calendars",
        "/api/v1/sla/policies",
        "/api/v1/sla/report",
        "/api/v1/cases/{number}/sla/{metric}/met",
    } <= set(paths)
    # The case list documents the queue filter.
    parameters = {p["name"] for p in paths["/api/v1/cases"]["get"]["parameters"]}
    assert "sla" in parameters


def test_the_due_soon_window_is_one_hour(clock, api, make_case, supervisor):
    urgent = make_case(priority="urgent")
    client = api(supervisor)
    clock.set(cn(2026, 11, 23, 10, 0) - timedelta(minutes=1))
    assert [
        c["number"] for c in client.get("/api/v1/cases", {"sla": "due_soon"}).json()["items"]
    ] == []
    clock.set(cn(2026, 11, 23, 10, 0))
    assert [
        c["number"] for c in client.get("/api/v1/cases", {"sla": "due_soon"}).json()["items"]
    ] == [urgent.number]
