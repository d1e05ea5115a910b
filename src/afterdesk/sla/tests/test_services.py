"""Timers through a case's life, driven by the case services on the seeded cn-business policies.

The clock starts on Monday 23 November 2026 at 10:00 in Shanghai; cn-business works
Monday–Friday 09:00–12:00 and 13:00–18:00 (8 working hours a day).
"""

from __future__ import annotations

from datetime import UTC, date, time

import pytest

from afterdesk.cases.services import (
    case_add_message,
    case_transition,
    case_update,
)
from afterdesk.sla import services
from afterdesk.sla.errors import SlaInvalid, SlaTimerNotLive
from afterdesk.sla.models import BusinessCalendar, SlaTimer
from afterdesk.sla.selectors import timer_remaining
from afterdesk.sla.tests.conftest import cn, sla_events, timers
from afterdesk.sla.worktime import HOUR

pytestmark = pytest.mark.django_db


def test_a_new_case_starts_its_clocks(clock, make_case):
    case = make_case()
    clocks = timers(case)
    assert set(clocks) == {"first_response", "first_feedback", "solution_plan"}
    first = clocks["first_response"]
    assert (first.state, first.policy.name, first.target_seconds) == (
        "running",
        "Normal priority",
        24 * HOUR,
    )
    assert first.calendar.name == "cn-business"
    # 24 working hours from Monday 10:00: Monday 7 h, Tuesday 8 h, Wednesday 8 h, Thursday 1 h.
    assert first.due_at == cn(2026, 11, 26, 10, 0)
    # The warning at 75 % (18 h): Monday 7 h, Tuesday 8 h, Wednesday 09:00–12:00.
    assert first.warn_at == cn(2026, 11, 25, 12, 0)
    assert clocks["first_feedback"].due_at == cn(2026, 11, 26, 10, 0)
    # 72 h: nine working days, due Friday 4 December at 10:00.
    assert clocks["solution_plan"].due_at == cn(2026, 12, 4, 10, 0)
    assert sla_events(case) == [
        ("sla.started", "first_response", None, "running"),
        ("sla.started", "first_feedback", None, "running"),
        ("sla.started", "solution_plan", None, "running"),
    ]


def test_urgent_complex_cases_get_the_short_target_and_a_resolution_clock(clock, make_case):
    case = make_case(priority="urgent", is_complex=True)
    clocks = timers(case)
    assert clocks["first_response"].due_at == cn(2026, 11, 23, 11, 0)
    assert clocks["first_response"].policy.name == "Urgent"
    # Five working days of 8 h: the next Monday at 10:00.
    assert clocks["resolution"].due_at == cn(2026, 11, 30, 10, 0)
    assert clocks["resolution"].policy.name == "Complex cases"


def test_waiting_for_the_customer_pauses_and_coming_back_resumes(clock, make_case):
    case = make_case()
    clock.set(cn(2026, 11, 23, 11, 0))
    case_transition(actor=None, case=case, to="pending_customer")
    paused = timers(case)["first_response"]
    assert (paused.state, paused.remaining_seconds) == ("paused", 23 * HOUR)
    assert paused.warn_at is None
    # Two days later the customer answers: the clock goes on with the 23 h it had left.
    clock.set(cn(2026, 11, 25, 15, 0))
    case_transition(actor=None, case=case, to="open")
    resumed = timers(case)["first_response"]
    assert resumed.state == "running"
    # Wednesday 15–18 (3 h), Thursday 8, Friday 8, Monday 09–12 and 13–14 (4 h).
    assert resumed.due_at == cn(2026, 11, 30, 14, 0)
    assert timer_remaining(resumed, now=cn(2026, 11, 25, 16, 0)) == 22 * HOUR
    assert [e[0] for e in sla_events(case)][3:] == ["sla.paused"] * 3 + ["sla.resumed"] * 3


def test_other_statuses_do_not_pause(clock, make_case):
    case = make_case()
    case_transition(actor=None, case=case, to="pending_internal")
    assert timers(case)["first_response"].state == "running"


def test_staff_replies_meet_first_response_then_first_feedback(clock, make_case, agent):
    case = make_case()
    clock.set(cn(2026, 11, 23, 10, 30))
    # An internal note and a customer's message are not a response.
    case_add_message(actor=agent, case=case, body="checking stock", internal=True)
    case_add_message(actor=None, case=case, body="any news?", by_customer=True)
    assert timers(case)["first_response"].state == "running"
    # The acknowledgement of a new case meets first response only.
    case_add_message(actor=agent, case=case, body="We have your case.")
    clocks = timers(case)
    assert (clocks["first_response"].state, clocks["first_response"].elapsed_seconds) == (
        "met",
        30 * 60,
    )
    assert clocks["first_feedback"].state == "running"
    # Once the case is being worked on, a reply is feedback.
    clock.set(cn(2026, 11, 24, 9, 0))
    case_transition(actor=agent, case=case, to="open")
    case_add_message(actor=agent, case=case, body="The courier confirms the damage.")
    feedback = timers(case)["first_feedback"]
    assert (feedback.state, feedback.elapsed_seconds, feedback.breached_at) == (
        "met",
        7 * HOUR,
        None,
    )
    met = [e for e in sla_events(case) if e[0] == "sla.met"]
    assert met == [
        ("sla.met", "first_response", "running", "met"),
        ("sla.met", "first_feedback", "running", "met"),
    ]


def test_resolving_meets_the_case_clocks(clock, make_case):
    case = make_case(is_complex=True)
    clock.set(cn(2026, 11, 24, 10, 0))
    case_transition(actor=None, case=case, to="resolved")
    clocks = timers(case)
    assert {m: t.state for m, t in clocks.items()} == {
        "first_response": "met",
        "first_feedback": "met",
        "solution_plan": "met",
        "resolution": "met",
    }
    assert clocks["resolution"].elapsed_seconds == 8 * HOUR


def test_a_late_resolution_is_recorded_as_breached(clock, make_case):
    case = make_case(priority="urgent")
    clock.set(cn(2026, 11, 23, 14, 0))  # 3 working hours later; the target was 1 h
    case_transition(actor=None, case=case, to="resolved")
    first = timers(case)["first_response"]
    assert (first.state, first.elapsed_seconds) == ("met", 3 * HOUR)
    assert first.breached_at == cn(2026, 11, 23, 11, 0)


def test_cancelling_cancels_every_clock(clock, make_case):
    case = make_case(kind="repair")
    services.timer_start(case=case, metric="diagnosis")
    case_transition(actor=None, case=case, to="cancelled")
    assert {t.state for t in SlaTimer.objects.filter(case=case)} == {"cancelled"}
    assert SlaTimer.objects.filter(case=case).count() == 4


def test_reopening_restarts_the_resolution_clock(clock, make_case):
    case = make_case(is_complex=True)
    clock.set(cn(2026, 11, 24, 10, 0))
    case_transition(actor=None, case=case, to="resolved")
    clock.set(cn(2026, 11, 25, 10, 0))
    case_transition(actor=None, case=case, to="open")
    resolution = list(SlaTimer.objects.filter(case=case, metric="resolution").order_by("id"))
    assert [t.state for t in resolution] == ["met", "running"]
    assert resolution[1].started_at == cn(2026, 11, 25, 10, 0)
    assert resolution[1].due_at == cn(2026, 12, 2, 10, 0)
    # The other clocks stay met.
    assert timers(case)["first_response"].state == "met"


def test_a_priority_change_recomputes_keeping_the_time_used(clock, make_case, supervisor):
    case = make_case()
    clock.set(cn(2026, 11, 23, 12, 0))  # 2 working hours used
    case = case_update(
        actor=supervisor, case=case, version=case.version, changes={"priority": "high"}
    )
    first = timers(case)["first_response"]
    assert (first.policy.name, first.target_seconds, first.remaining_seconds) == (
        "High priority",
        4 * HOUR,
        2 * HOUR,
    )
    # Two hours left at noon: the lunch break, then 13:00–15:00.
    assert first.due_at == cn(2026, 11, 23, 15, 0)
    # The warning at 3 h used is at 14:00.
    assert first.warn_at == cn(2026, 11, 23, 14, 0)
    recomputed = [e for e in sla_events(case) if e[0] == "sla.recomputed"]
    assert recomputed == [
        (
            "sla.recomputed",
            "first_response",
            cn(2026, 11, 26, 10, 0).astimezone(UTC).isoformat(),
            cn(2026, 11, 23, 15, 0).astimezone(UTC).isoformat(),
        )
    ]
    # Urgent now: 1 h target, 2 h used — overdue by an hour, due at 11:00.
    case = case_update(
        actor=supervisor, case=case, version=case.version, changes={"priority": "urgent"}
    )
    first = timers(case)["first_response"]
    assert (first.remaining_seconds, first.due_at, first.state) == (
        -HOUR,
        cn(2026, 11, 23, 11, 0),
        "running",
    )


def test_fields_policies_ignore_do_not_recompute(clock, make_case, supervisor):
    case = make_case()
    case_update(actor=supervisor, case=case, version=case.version, changes={"subject": "New"})
    assert not [e for e in sla_events(case) if e[0] == "sla.recomputed"]


def test_becoming_complex_starts_the_resolution_clock(clock, make_case, supervisor):
    case = make_case()
    clock.set(cn(2026, 11, 24, 10, 0))
    case_update(actor=supervisor, case=case, version=case.version, changes={"is_complex": True})
    resolution = timers(case)["resolution"]
    assert (resolution.started_at, resolution.due_at) == (
        cn(2026, 11, 24, 10, 0),
        cn(2026, 12, 1, 10, 0),
    )
    # …and no longer complex: the clock is cancelled.
    case.refresh_from_db()
    case_update(actor=supervisor, case=case, version=case.version, changes={"is_complex": False})
    assert timers(case)["resolution"].state == "cancelled"


def test_rma_clocks_start_only_when_asked(clock, make_case):
    repair = make_case(kind="repair")
    assert "diagnosis" not in timers(repair)
    diagnosis = services.timer_start(case=repair, metric="diagnosis")
    assert diagnosis is not None
    assert (diagnosis.target_seconds, diagnosis.due_at) == (24 * HOUR, cn(2026, 11, 26, 10, 0))
    # Starting it again is a no-op.
    assert services.timer_start(case=repair, metric="diagnosis").pk == diagnosis.pk
    clock.set(cn(2026, 11, 24, 10, 0))
    met = services.timer_meet(case=repair, metric="diagnosis")
    assert (met.state, met.elapsed_seconds) == ("met", 8 * HOUR)
    # A complaint has no diagnosis target.
    assert services.timer_start(case=make_case(), metric="diagnosis") is None


def test_timer_meet_refuses_unknown_or_stopped_clocks(clock, make_case):
    case = make_case()
    with pytest.raises(SlaInvalid):
        services.timer_meet(case=case, metric="coffee")
    services.timer_meet(case=case, metric="solution_plan")
    with pytest.raises(SlaTimerNotLive):
        services.timer_meet(case=case, metric="solution_plan")


def test_a_department_calendar_is_used_by_policies_without_one(clock, make_case, departments):
    always = BusinessCalendar.objects.get(name="24x7")
    services.department_calendar_set(department=departments["customer-service"], calendar=always)
    case = make_case()
    first = timers(case)["first_response"]
    assert first.calendar.name == "24x7"
    assert first.due_at == cn(2026, 11, 24, 10, 0)
    # A repair case goes to the repair department, which keeps the default.
    assert timers(make_case(kind="repair"))["first_response"].calendar.name == "cn-business"


def test_moving_to_a_department_with_another_calendar_recomputes(
    clock, make_case, departments, supervisor
):
    always = BusinessCalendar.objects.get(name="24x7")
    services.department_calendar_set(department=departments["repair"], calendar=always)
    case = make_case()
    clock.set(cn(2026, 11, 23, 12, 0))
    case_update(actor=supervisor, case=case, version=case.version, changes={"department": "repair"})
    first = timers(case)["first_response"]
    # 2 h used on cn-business; 22 h left round the clock.
    assert (first.calendar.name, first.due_at) == ("24x7", cn(2026, 11, 24, 10, 0))


def test_a_holiday_added_to_the_calendar_moves_the_due_time(clock, make_case):
    case = make_case()
    calendar = BusinessCalendar.objects.get(name="cn-business")
    services.calendar_set_date(
        calendar=calendar, day=date(2026, 11, 25), is_working=False, note="company day"
    )
    clock.set(cn(2026, 11, 23, 11, 0))
    assert services.timers_recompute_calendar(calendar=calendar) == 3
    first = timers(case)["first_response"]
    # Wednesday is off now: due Friday 10:00 instead of Thursday.
    assert first.due_at == cn(2026, 11, 27, 10, 0)
    assert first.remaining_seconds == 23 * HOUR
    assert next(e for e in sla_events(case) if e[0] == "sla.recomputed")[:2] == (
        "sla.recomputed",
        "first_response",
    )


def test_calendar_create_validates(db):
    with pytest.raises(SlaInvalid):
        services.calendar_create(
            name="mars", tz="Mars/Olympus_Mons", weekly={0: [(time(9), time(17))]}
        )
    with pytest.raises(SlaInvalid):
        services.calendar_create(name="empty", tz="UTC")
    with pytest.raises(SlaInvalid):
        services.calendar_create(
            name="atlantis", tz="UTC", country="XX", weekly={0: [(time(9), time(17))]}
        )
    assert not BusinessCalendar.objects.filter(name__in=["mars", "empty", "atlantis"]).exists()


def test_a_policy_change_rematches_live_clocks(clock, make_case):
    from afterdesk.sla.models import SlaTarget

    case = make_case()
    target = SlaTarget.objects.get(policy__name="Normal priority", metric="first_response")
    target.working_seconds = 8 * HOUR
    target.save()
    clock.set(cn(2026, 11, 23, 11, 0))
    assert services.timers_rematch() == 1
    first = timers(case)["first_response"]
    assert (first.target_seconds, first.due_at) == (8 * HOUR, cn(2026, 11, 24, 10, 0))
