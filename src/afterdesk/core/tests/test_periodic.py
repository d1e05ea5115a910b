"""Periodic sweeps: enqueued once per interval; the auto-close sweep."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils.module_loading import autodiscover_modules
from django_tasks_db.models import DBTaskResult

from afterdesk.cases.choices import EventType, Status
from afterdesk.cases.models import Case, CaseEvent, CaseSettings
from afterdesk.cases.services import case_transition
from afterdesk.cases.tasks import cases_auto_close
from afterdesk.core.models import PeriodicJob
from afterdesk.core.periodic import periodic_enqueue_due, registered

pytestmark = pytest.mark.django_db

AUTO_CLOSE = "afterdesk.cases.tasks.cases_auto_close"
PRUNE = "afterdesk.core.tasks.core_prune_rate_limits"


@pytest.fixture
def jobs():
    """Every sweep the worker would schedule (it autodiscovers the apps' tasks modules)."""
    autodiscover_modules("tasks")
    return {job.name: job for job in registered()}


def _queued() -> Counter[str]:
    return Counter(DBTaskResult.objects.values_list("task_path", flat=True))


def test_the_known_sweeps_are_registered(jobs):
    assert jobs[AUTO_CLOSE].interval == timedelta(minutes=15)
    assert jobs[PRUNE].interval == timedelta(minutes=10)
    assert jobs[AUTO_CLOSE].task is cases_auto_close


def test_every_sweep_is_enqueued_once_per_interval(clock, jobs):
    start = clock.now
    # When each sweep is due next, as the schedule should keep it.
    due = dict.fromkeys(jobs, start)
    expected_queue: Counter[str] = Counter()
    moments = [start, start, start + timedelta(minutes=5)] + [
        start + timedelta(minutes=m) for m in (10, 10, 15, 15, 20, 29, 30, 45, 60)
    ]

    for now in moments:
        expected = sorted(name for name, at in due.items() if at <= now)
        for name in expected:
            due[name] = now + jobs[name].interval
            expected_queue[jobs[name].task.module_path] += 1

        assert periodic_enqueue_due(now=now) == expected, now
        assert _queued() == expected_queue, now

    assert expected_queue[AUTO_CLOSE] == 5  # 0, 15, 30, 45, 60 minutes
    assert expected_queue[PRUNE] == 6  # 0, 10, 20, 30, 45, 60 minutes (29 is not yet due)


def test_a_second_call_at_the_same_moment_enqueues_nothing(clock, jobs):
    first = periodic_enqueue_due(now=clock.now)
    rows = DBTaskResult.objects.count()

    second = periodic_enqueue_due(now=clock.now)

    assert first == sorted(jobs)
    assert rows == len(jobs)
    assert second == []
    assert DBTaskResult.objects.count() == rows
    job = PeriodicJob.objects.get(name=AUTO_CLOSE)
    assert (job.last_enqueued_at, job.next_run_at) == (clock.now, clock.now + timedelta(minutes=15))


def test_after_one_interval_the_sweep_is_enqueued_again(clock, jobs):
    periodic_enqueue_due(now=clock.now)
    interval = jobs[AUTO_CLOSE].interval

    just_before = periodic_enqueue_due(now=clock.now + interval - timedelta(microseconds=1))
    on_time = periodic_enqueue_due(now=clock.now + interval)

    assert AUTO_CLOSE not in just_before
    assert AUTO_CLOSE in on_time
    assert _queued()[AUTO_CLOSE] == 2


def test_enqueued_sweeps_are_ready_to_run(clock, jobs):
    periodic_enqueue_due(now=clock.now)

    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"READY"}
    assert set(DBTaskResult.objects.values_list("task_path", flat=True)) == {
        job.task.module_path for job in jobs.values()
    }


# --- cases_auto_close ---------------------------------------------------------------------------


def _resolved(make_case, agent, *, ago: timedelta, now) -> Case:
    case = make_case()
    return case_transition(actor=agent, case=case, to=Status.RESOLVED, at=now - ago)


def test_auto_close_closes_resolved_cases_older_than_the_setting(clock, make_case, agent):
    CaseSettings.objects.filter(pk=1).update(auto_close_days=7)
    old = _resolved(make_case, agent, ago=timedelta(days=7, minutes=1), now=clock.now)
    young = _resolved(make_case, agent, ago=timedelta(days=6, hours=23), now=clock.now)
    working = case_transition(actor=agent, case=make_case(), to=Status.OPEN)
    young_events = list(CaseEvent.objects.filter(case=young))

    closed = cases_auto_close.call()

    assert closed == 1
    old.refresh_from_db()
    young.refresh_from_db()
    working.refresh_from_db()
    assert (old.status, old.closed_at) == (Status.CLOSED, clock.now)
    assert old.resolved_at == clock.now - timedelta(days=7, minutes=1)
    assert (young.status, young.closed_at) == (Status.RESOLVED, None)
    assert working.status == Status.OPEN
    event = CaseEvent.objects.filter(case=old).latest("id")
    assert (event.type, event.old, event.new) == (
        EventType.STATUS_CHANGED,
        Status.RESOLVED,
        Status.CLOSED,
    )
    assert (event.actor, event.by_customer, event.payload) == (None, False, {"note": "auto-closed"})
    assert list(CaseEvent.objects.filter(case=young)) == young_events


def test_auto_close_twice_closes_nothing_more(clock, make_case, agent):
    _resolved(make_case, agent, ago=timedelta(days=30), now=clock.now)

    assert cases_auto_close.call() == 1
    assert cases_auto_close.call() == 0
    assert CaseEvent.objects.filter(payload__note="auto-closed").count() == 1


def test_auto_close_follows_the_setting(clock, make_case, agent):
    CaseSettings.objects.filter(pk=1).update(auto_close_days=2)
    case = _resolved(make_case, agent, ago=timedelta(days=3), now=clock.now)

    assert cases_auto_close.func() == 1

    case.refresh_from_db()
    assert case.status == Status.CLOSED


def test_auto_close_off_when_days_is_zero(clock, make_case, agent):
    CaseSettings.objects.filter(pk=1).update(auto_close_days=0)
    case = _resolved(make_case, agent, ago=timedelta(days=365), now=clock.now)
    events = CaseEvent.objects.filter(case=case).count()

    assert cases_auto_close.call() == 0

    case.refresh_from_db()
    assert (case.status, case.closed_at) == (Status.RESOLVED, None)
    assert CaseEvent.objects.filter(case=case).count() == events
