"""The SLA sweep: warn before a promise is broken, act when it is.

Run every minute by the worker (`afterdesk.sla.tasks.sla_sweep`). Candidates come from index
range scans — running clocks with `due_at <= now` (breaches) and `warn_at <= now` (warnings)
— in bounded batches. Each batch is one transaction: the cases are locked first (the order
the case services lock in), the timers are re-read under lock with the same conditions, and
one conditional UPDATE moves them on (breached: state `breached`; warned: `warn_at` cleared).
A timer the sweep has acted on no longer matches either query, so a sweep run twice, or by
two workers at once, acts once.

Per timer, the target's actions run in that transaction and each is an event on the case:

* ``notify_owner`` / ``notify_supervisor`` — listed in the `sla.warning` / `sla.breached`
  event as the users to notify; one `sla_notify` task per batch sends the e-mails;
* ``escalation_queue`` — the timer is flagged (`escalated_at`): the escalation queue is every
  case with a flagged live clock (`GET /api/v1/cases?sla=escalated`); an `sla.escalated` event;
* ``raise_priority`` — one step up through the case service (which recomputes the clocks);
* ``reassign_to_supervisor`` — to a supervisor of the case's department through the case
  service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from afterdesk.accounts.choices import Role
from afterdesk.accounts.models import User
from afterdesk.cases import services as case_services
from afterdesk.cases.choices import EventType, Priority
from afterdesk.cases.events import events_record_many
from afterdesk.cases.models import Case, CaseEvent
from afterdesk.core.errors import DomainError
from afterdesk.sla.choices import Action, TimerState
from afterdesk.sla.models import SlaTimer

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500
SWEEP_MAX_BATCHES = 40
# One step up per escalation; urgent stays urgent.
PRIORITY_UP = {
    Priority.LOW: Priority.NORMAL,
    Priority.NORMAL: Priority.HIGH,
    Priority.HIGH: Priority.URGENT,
}


@dataclass(frozen=True)
class SweepResult:
    breached: int
    warned: int


class _Supervisors:
    """Active supervisors by department, loaded once per sweep when first needed."""

    def __init__(self) -> None:
        self._by_department: dict[int, list[User]] | None = None
        self._all: list[User] = []

    def _load(self) -> dict[int, list[User]]:
        if self._by_department is None:
            self._by_department = {}
            self._all = list(
                User.objects.filter(role=Role.SUPERVISOR, is_active=True)
                .prefetch_related("departments")
                .order_by("username")
            )
            for user in self._all:
                for department in user.departments.all():
                    self._by_department.setdefault(department.pk, []).append(user)
        return self._by_department

    def of(self, department_id: int | None) -> list[User]:
        """The department's supervisors; every supervisor when it has none."""
        by_department = self._load()
        if department_id is not None and by_department.get(department_id):
            return by_department[department_id]
        return self._all


def timers_sweep(
    *,
    now: datetime | None = None,
    batch_size: int = SWEEP_BATCH,
    max_batches: int = SWEEP_MAX_BATCHES,
) -> SweepResult:
    """Breach the running clocks past due, then warn those past their warning threshold.

    Breaches go first so a clock that crossed both since the last sweep is reported once, as
    breached. At most `max_batches` batches of `batch_size` per kind; the rest waits for the
    next run.
    """
    now = now or timezone.now()
    supervisors = _Supervisors()
    breached = _sweep(
        kind=EventType.SLA_BREACHED,
        candidates=lambda: SlaTimer.objects.filter(
            state=TimerState.RUNNING, due_at__lte=now
        ).order_by("due_at", "pk"),
        now=now,
        supervisors=supervisors,
        batch_size=batch_size,
        max_batches=max_batches,
    )
    warned = _sweep(
        kind=EventType.SLA_WARNING,
        candidates=lambda: SlaTimer.objects.filter(
            state=TimerState.RUNNING, warn_at__lte=now
        ).order_by("warn_at", "pk"),
        now=now,
        supervisors=supervisors,
        batch_size=batch_size,
        max_batches=max_batches,
    )
    if breached or warned:
        logger.info("SLA sweep: %d breached, %d warned", breached, warned)
    return SweepResult(breached=breached, warned=warned)


def _sweep(
    *,
    kind: str,
    candidates: Callable[[], QuerySet[SlaTimer]],
    now: datetime,
    supervisors: _Supervisors,
    batch_size: int,
    max_batches: int,
) -> int:
    acted = 0
    for _batch in range(max_batches):
        rows = list(candidates().values_list("pk", "case_id")[:batch_size])
        if not rows:
            break
        with transaction.atomic():
            acted += _act(
                kind=kind,
                timer_ids=[pk for pk, _case in rows],
                case_ids=[case_id for _pk, case_id in rows],
                candidates=candidates,
                now=now,
                supervisors=supervisors,
            )
        if len(rows) < batch_size:
            break
    return acted


@dataclass(frozen=True)
class _Due:
    """What the sweep needs of one timer, read as plain values (no model instances)."""

    pk: int
    case_id: int
    metric: str
    due_at: datetime
    escalated_at: datetime | None
    policy: str
    actions: list[str]
    owner: str | None
    department_id: int | None


_DUE_FIELDS = (
    "pk",
    "case_id",
    "metric",
    "due_at",
    "escalated_at",
    "policy__name",
    "target__warn_actions",
    "target__breach_actions",
    "case__owner__username",
    "case__owner__is_active",
    "case__department_id",
)


def _act(
    *,
    kind: str,
    timer_ids: list[int],
    case_ids: list[int],
    candidates: Callable[[], QuerySet[SlaTimer]],
    now: datetime,
    supervisors: _Supervisors,
) -> int:
    from afterdesk.sla.tasks import sla_notify

    breach = kind == EventType.SLA_BREACHED
    list(
        Case.objects.select_for_update()
        .filter(pk__in=sorted(set(case_ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    timers = [
        _Due(
            pk=pk,
            case_id=case_id,
            metric=metric,
            due_at=due_at,
            escalated_at=escalated_at,
            policy=policy,
            actions=list(breach_actions if breach else warn_actions),
            owner=owner if owner_active else None,
            department_id=department_id,
        )
        for (
            pk,
            case_id,
            metric,
            due_at,
            escalated_at,
            policy,
            warn_actions,
            breach_actions,
            owner,
            owner_active,
            department_id,
        ) in candidates()
        .select_for_update(of=("self",))
        .filter(pk__in=timer_ids)
        .values_list(*_DUE_FIELDS)
    ]
    if not timers:
        return 0
    ids = [t.pk for t in timers]
    if breach:
        SlaTimer.objects.filter(pk__in=ids).update(
            state=TimerState.BREACHED, breached_at=now, warn_at=None, version=F("version") + 1
        )
    else:
        SlaTimer.objects.filter(pk__in=ids).update(
            warn_at=None, warned_at=now, version=F("version") + 1
        )
    queued = [t.pk for t in timers if Action.ESCALATION_QUEUE in t.actions]
    if queued:
        SlaTimer.objects.filter(pk__in=queued, escalated_at__isnull=True).update(escalated_at=now)
    events: list[CaseEvent] = []
    notify_events: list[CaseEvent] = []
    for timer in timers:
        notify = _recipients(timer, supervisors)
        event = CaseEvent(
            case_id=timer.case_id,
            at=now,
            type=kind,
            field=timer.metric,
            old=TimerState.RUNNING,
            new=TimerState.BREACHED if breach else TimerState.RUNNING,
            payload={
                "metric": timer.metric,
                "policy": timer.policy,
                "due_at": timer.due_at.isoformat(),
                "actions": timer.actions,
                "notify": notify,
            },
        )
        events.append(event)
        if notify:
            notify_events.append(event)
        if Action.ESCALATION_QUEUE in timer.actions and timer.escalated_at is None:
            events.append(_escalated(timer, now, Action.ESCALATION_QUEUE))
    events_record_many(events)
    if notify_events:
        sla_notify.enqueue(event_ids=[e.pk for e in notify_events])
    for timer in timers:
        if Action.RAISE_PRIORITY in timer.actions:
            _raise_priority(timer, now)
        if Action.REASSIGN_TO_SUPERVISOR in timer.actions:
            _reassign(timer, now, supervisors)
    return len(timers)


def _recipients(timer: _Due, supervisors: _Supervisors) -> list[str]:
    names: list[str] = []
    if Action.NOTIFY_OWNER in timer.actions and timer.owner is not None:
        names.append(timer.owner)
    if Action.NOTIFY_SUPERVISOR in timer.actions:
        names += [u.username for u in supervisors.of(timer.department_id)]
    return list(dict.fromkeys(names))


def _escalated(
    timer: _Due, at: datetime, action: str, *, old: Any = None, new: Any = None
) -> CaseEvent:
    return CaseEvent(
        case_id=timer.case_id,
        at=at,
        type=EventType.SLA_ESCALATED,
        field=timer.metric,
        old=old,
        new=new,
        payload={"metric": timer.metric, "action": action},
    )


def _raise_priority(timer: _Due, now: datetime) -> None:
    """One step up through the case service, in a savepoint: a refusal skips only this."""
    try:
        with transaction.atomic():
            case = Case.objects.select_for_update().get(pk=timer.case_id)
            higher = PRIORITY_UP.get(Priority(case.priority))
            if higher is None:
                return
            case_services.case_update(
                actor=None, case=case, version=case.version, changes={"priority": higher}, at=now
            )
            events_record_many(
                [_escalated(timer, now, Action.RAISE_PRIORITY, old=case.priority, new=higher)]
            )
    except DomainError:
        logger.warning("SLA: could not raise the priority of case %s", timer.case_id)


def _reassign(timer: _Due, now: datetime, supervisors: _Supervisors) -> None:
    try:
        with transaction.atomic():
            case = (
                Case.objects.select_for_update(of=("self",))
                .select_related("owner")
                .get(pk=timer.case_id)
            )
            candidates = supervisors.of(case.department_id)
            if not candidates or case.owner_id in {u.pk for u in candidates}:
                return
            supervisor = candidates[0]
            old = case.owner.username if case.owner else None
            case_services.case_assign(actor=None, case=case, owner=supervisor, at=now)
            events_record_many(
                [
                    _escalated(
                        timer,
                        now,
                        Action.REASSIGN_TO_SUPERVISOR,
                        old=old,
                        new=supervisor.username,
                    )
                ]
            )
    except DomainError:
        logger.warning("SLA: could not reassign case %s", timer.case_id)
