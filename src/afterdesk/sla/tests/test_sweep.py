"""The sweep: warnings, breaches and escalations happen once, however often it runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django_tasks_db.models import DBTaskResult

from afterdesk.cases.models import CaseEvent
from afterdesk.cases.services import case_assign, case_transition
from afterdesk.core.periodic import registered
from afterdesk.sla.models import SlaTarget, SlaTimer
from afterdesk.sla.sweep import timers_sweep
from afterdesk.sla.tasks import sla_notify
from afterdesk.sla.tests.conftest import cn, timers

pytestmark = pytest.mark.django_db

WARN_TIME = cn(2026, 11, 25, 12, 0)  # 18 of 24 working hours after Monday 10:00
DUE_TIME = cn(2026, 11, 26, 10, 0)


@pytest.fixture
def owned_case(clock, make_case, agent, supervisor):
    agent.email = "agent@example.com"
    agent.save()
    supervisor.email = "supervisor@example.com"
    supervisor.save()
    case = make_case()
    return case_assign(actor=supervisor, case=case, owner=agent)


def events(case, type):
    return list(CaseEvent.objects.filter(case=case, type=type).order_by("id"))


def notify_tasks():
    return DBTaskResult.objects.filter(task_path="afterdesk.sla.tasks.sla_notify")


def test_the_sweep_runs_every_minute():
    (sweep,) = [job for job in registered() if job.name == "afterdesk.sla.tasks.sla_sweep"]
    assert sweep.interval == timedelta(seconds=60)


def test_a_warning_is_given_once(owned_case):
    assert timers_sweep(now=WARN_TIME - timedelta(seconds=1)).warned == 0
    first = timers_sweep(now=WARN_TIME)
    second = timers_sweep(now=WARN_TIME + timedelta(minutes=1))
    assert (first.warned, first.breached, second.warned, second.breached) == (2, 0, 0, 0)
    warnings = events(owned_case, "sla.warning")
    assert [(e.field, e.payload["notify"], e.payload["actions"]) for e in warnings] == [
        ("first_response", ["agent"], ["notify_owner"]),
        ("first_feedback", ["agent"], ["notify_owner"]),
    ]
    clock_ = timers(owned_case)["first_response"]
    assert (clock_.state, clock_.warn_at, clock_.warned_at) == ("running", None, WARN_TIME)
    (task,) = notify_tasks()
    assert task.args_kwargs["kwargs"] == {"event_ids": [e.pk for e in warnings]}
    # The e-mails, as the worker sends them.
    assert sla_notify.call(event_ids=[e.pk for e in warnings]) == 2
    assert [m.to for m in mail.outbox] == [["agent@example.com"], ["agent@example.com"]]
    assert owned_case.number in mail.outbox[0].subject


def test_a_breach_is_acted_on_once(owned_case):
    first = timers_sweep(now=DUE_TIME)
    second = timers_sweep(now=DUE_TIME + timedelta(minutes=1))
    # Past due before any warning: reported once, as a breach.
    assert (first.breached, first.warned, second.breached, second.warned) == (2, 0, 0, 0)
    assert events(owned_case, "sla.warning") == []
    breaches = events(owned_case, "sla.breached")
    assert [(e.field, e.old, e.new, e.payload["notify"]) for e in breaches] == [
        ("first_response", "running", "breached", ["agent", "supervisor"]),
        ("first_feedback", "running", "breached", ["agent", "supervisor"]),
    ]
    escalated = events(owned_case, "sla.escalated")
    assert [(e.field, e.payload["action"]) for e in escalated] == [
        ("first_response", "escalation_queue"),
        ("first_feedback", "escalation_queue"),
    ]
    first_response = timers(owned_case)["first_response"]
    assert (first_response.state, first_response.breached_at, first_response.escalated_at) == (
        "breached",
        DUE_TIME,
        DUE_TIME,
    )
    assert notify_tasks().count() == 1
    sla_notify.call(event_ids=[e.pk for e in breaches])
    assert sorted(m.to[0] for m in mail.outbox) == [
        "agent@example.com",
        "agent@example.com",
        "supervisor@example.com",
        "supervisor@example.com",
    ]


def test_warn_then_breach_gives_one_of_each(owned_case):
    for now in (WARN_TIME, WARN_TIME, DUE_TIME, DUE_TIME, DUE_TIME + timedelta(hours=1)):
        timers_sweep(now=now)
    assert len(events(owned_case, "sla.warning")) == 2
    assert len(events(owned_case, "sla.breached")) == 2


def test_the_priority_is_raised_once(owned_case):
    SlaTarget.objects.filter(policy__name="Normal priority").update(
        breach_actions=["raise_priority"]
    )
    timers_sweep(now=DUE_TIME)
    timers_sweep(now=DUE_TIME + timedelta(minutes=1))
    owned_case.refresh_from_db()
    assert owned_case.priority == "high"
    raised = [
        (e.field, e.old, e.new)
        for e in CaseEvent.objects.filter(case=owned_case, type="case.field_changed")
    ]
    assert raised == [("priority", "normal", "high")]
    escalated = [e for e in events(owned_case, "sla.escalated") if e.field == "first_response"]
    assert [(e.payload["action"], e.old, e.new) for e in escalated] == [
        ("raise_priority", "normal", "high")
    ]
    # The clock moved to the high-priority target and stays breached.
    first_response = timers(owned_case)["first_response"]
    assert (first_response.policy.name, first_response.state) == ("High priority", "breached")
    assert len(events(owned_case, "sla.breached")) == 2


def test_reassign_to_the_supervisor(owned_case, supervisor):
    SlaTarget.objects.filter(policy__name="Normal priority").update(
        breach_actions=["reassign_to_supervisor"]
    )
    timers_sweep(now=DUE_TIME)
    timers_sweep(now=DUE_TIME + timedelta(minutes=5))
    owned_case.refresh_from_db()
    assert owned_case.owner == supervisor
    assert [(e.old, e.new) for e in events(owned_case, "case.assigned")] == [
        (None, "agent"),
        ("agent", "supervisor"),
    ]
    escalated = [e for e in events(owned_case, "sla.escalated") if e.field == "first_response"]
    assert [e.payload["action"] for e in escalated] == ["reassign_to_supervisor"]


def test_paused_and_met_clocks_are_left_alone(owned_case, agent):
    case_transition(actor=agent, case=owned_case, to="pending_customer")
    assert timers_sweep(now=DUE_TIME + timedelta(days=30)) == timers_sweep(
        now=DUE_TIME + timedelta(days=31)
    )
    assert events(owned_case, "sla.breached") == []


def test_batches_are_bounded(clock, make_case):
    for _ in range(3):
        make_case()
    result = timers_sweep(now=DUE_TIME, batch_size=2, max_batches=1)
    assert result.breached == 2
    assert timers_sweep(now=DUE_TIME, batch_size=2, max_batches=5).breached == 4
    assert SlaTimer.objects.filter(state="breached").count() == 6
