"""The SLA report on a small fixture: compliance per policy, department and agent, and the
first-response and resolution time distributions in working hours."""

from __future__ import annotations

import pytest

from afterdesk.cases.services import case_add_message, case_assign, case_transition
from afterdesk.sla.selectors import sla_report
from afterdesk.sla.tests.conftest import cn

pytestmark = pytest.mark.django_db

PERIOD = {"from": "2026-11-23T00:00:00+08:00", "to": "2026-12-01T00:00:00+08:00"}
NOW = cn(2026, 11, 25, 10, 0)


@pytest.fixture
def history(clock, make_case, agent, repair_agent, supervisor):
    """Four cases opened Monday 23 November 10:00; the report is read Wednesday 10:00.

    A (normal): answered after 30 min. B (high): answered after 8 working hours, 4 too late.
    C (urgent repair): never answered, overdue. D (normal, complex): resolved after 8 h.
    """
    a = case_assign(actor=supervisor, case=make_case(subject="A"), owner=agent)
    b = case_assign(actor=supervisor, case=make_case(subject="B", priority="high"), owner=agent)
    c = make_case(subject="C", kind="repair", priority="urgent")
    case_assign(actor=supervisor, case=c, owner=repair_agent)
    d = make_case(subject="D", is_complex=True)
    clock.set(cn(2026, 11, 23, 10, 30))
    case_add_message(actor=agent, case=a, body="We are on it.")
    clock.set(cn(2026, 11, 24, 10, 0))
    case_add_message(actor=agent, case=b, body="Sorry for the wait.")
    case_transition(actor=supervisor, case=d, to="resolved")
    clock.set(NOW)


def row(rows, **match):
    (found,) = [r for r in rows if all(r[k] == v for k, v in match.items())]
    return {k: found[k] for k in ("total", "met_on_time", "breached", "open", "compliance")}


def test_compliance_and_distributions(history, api, supervisor):
    response = api(supervisor).get("/api/v1/sla/report", PERIOD)
    assert response.status_code == 200, response.content
    report = response.json()
    assert (report["from"], report["to"]) == (PERIOD["from"], PERIOD["to"])

    by_policy = report["by_policy"]
    assert row(by_policy, policy="Normal priority", metric="first_response") == {
        "total": 2,
        "met_on_time": 2,
        "breached": 0,
        "open": 0,
        "compliance": 1.0,
    }
    assert row(by_policy, policy="High priority", metric="first_response") == {
        "total": 1,
        "met_on_time": 0,
        "breached": 1,
        "open": 0,
        "compliance": 0.0,
    }
    # Never answered and past due: breached although no sweep has run.
    assert row(by_policy, policy="Urgent", metric="first_response") == {
        "total": 1,
        "met_on_time": 0,
        "breached": 1,
        "open": 0,
        "compliance": 0.0,
    }
    assert row(by_policy, policy="Standard", metric="first_feedback") == {
        "total": 4,
        "met_on_time": 1,
        "breached": 0,
        "open": 3,
        "compliance": 1.0,
    }
    assert row(by_policy, policy="Complex cases", metric="resolution") == {
        "total": 1,
        "met_on_time": 1,
        "breached": 0,
        "open": 0,
        "compliance": 1.0,
    }

    by_department = report["by_department"]
    assert row(by_department, department="customer-service", metric="first_response") == {
        "total": 3,
        "met_on_time": 2,
        "breached": 1,
        "open": 0,
        "compliance": 0.6667,
    }
    assert row(by_department, department="repair", metric="first_response")["breached"] == 1

    by_agent = report["by_agent"]
    assert row(by_agent, agent="agent", metric="first_response") == {
        "total": 2,
        "met_on_time": 1,
        "breached": 1,
        "open": 0,
        "compliance": 0.5,
    }
    assert row(by_agent, agent="repairer", metric="first_response")["breached"] == 1
    assert row(by_agent, agent=None, metric="first_response")["met_on_time"] == 1

    first_response = report["distributions"]["first_response"]
    # Met: A after 0.5 h, B and D after 8 h.
    assert {k: first_response[k] for k in ("count", "mean_hours", "p50_hours", "p90_hours")} == {
        "count": 3,
        "mean_hours": 5.5,
        "p50_hours": 8.0,
        "p90_hours": 8.0,
    }
    assert first_response["histogram"] == [
        {"le_hours": 1.0, "count": 1},
        {"le_hours": 2.0, "count": 0},
        {"le_hours": 4.0, "count": 0},
        {"le_hours": 8.0, "count": 2},
        {"le_hours": 16.0, "count": 0},
        {"le_hours": 24.0, "count": 0},
        {"le_hours": 40.0, "count": 0},
        {"le_hours": 72.0, "count": 0},
        {"le_hours": 120.0, "count": 0},
        {"le_hours": None, "count": 0},
    ]
    resolution = report["distributions"]["resolution"]
    assert (resolution["count"], resolution["p50_hours"], resolution["p90_hours"]) == (1, 8.0, 8.0)


def test_the_report_is_a_fixed_number_of_aggregate_queries(history, django_assert_num_queries):
    # Three grouped counts, then per distribution one aggregate and one row per percentile.
    with django_assert_num_queries(9):
        sla_report(start=cn(2026, 11, 23), end=cn(2026, 12, 1), now=NOW)


def test_an_empty_period(history):
    report = sla_report(start=cn(2025, 1, 1), end=cn(2025, 2, 1), now=NOW)
    assert report["by_policy"] == []
    assert report["distributions"]["first_response"]["count"] == 0
    assert report["distributions"]["first_response"]["p50_hours"] is None


def test_only_supervisors_and_admins_see_it(api, agent, supervisor, admin_user, customer_a):
    assert api(agent).get("/api/v1/sla/report").status_code == 403
    assert api(customer_a.user).get("/api/v1/sla/report").status_code == 403
    assert api(supervisor).get("/api/v1/sla/report").status_code == 200
    assert api(admin_user).get("/api/v1/sla/report").status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-12-01T00:00:00+08:00", "to": "2026-11-01T00:00:00+08:00"},
        {"from": "2020-01-01T00:00:00+08:00", "to": "2026-01-01T00:00:00+08:00"},
        {"from": "not a date"},
    ],
)
def test_a_bad_period_is_refused(api, supervisor, params):
    response = api(supervisor).get("/api/v1/sla/report", params)
    assert response.status_code == 422
