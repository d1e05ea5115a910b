"""Timers through a case's life, and their recomputation.

The case services call the `sla_case_*` hooks inside their own transaction, with the case row
locked, so a clock never disagrees with the case it times. Every timer change writes a case
event (`sla.started`, `sla.paused`, `sla.resumed`, `sla.met`, `sla.recomputed`,
`sla.cancelled`) in that same transaction; the sweep (`afterdesk.sla.sweep`) writes
`sla.warning`, `sla.breached` and `sla.escalated`.

What stops which clock:

* first_response — the first public reply by staff;
* first_feedback — the first public reply by staff once the case is being worked on (open or
  waiting), i.e. an answer about the handling rather than the acknowledgement of a new case;
* solution_plan — explicitly (`POST /api/v1/cases/{n}/sla/solution_plan/met`);
* resolution — the case is resolved (or closed);
* diagnosis, receipt_confirmation — started and stopped by the RMA milestones through
  `timer_start` and `timer_meet`.

Resolving a case meets every clock of the first four that is still live; cancelling a case
cancels every live clock, closing it cancels the RMA clocks left. Reopening starts a fresh
resolution clock. Any metric may be met explicitly through `timer_meet`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from afterdesk.accounts.models import User
from afterdesk.cases.choices import OPEN_STATUSES, EventType, Status
from afterdesk.cases.events import events_record_many
from afterdesk.cases.models import Case, CaseEvent
from afterdesk.core import fastsql
from afterdesk.sla import selectors
from afterdesk.sla.choices import (
    CASE_METRICS,
    LIVE_STATES,
    TICKING_STATES,
    Metric,
    TimerState,
)
from afterdesk.sla.errors import SlaInvalid, SlaTimerNotLive
from afterdesk.sla.models import (
    BusinessCalendar,
    SlaPolicy,
    SlaTimer,
)
from afterdesk.sla.selectors import Match, work_calendar
from afterdesk.sla.worktime import WorkCalendar, due_from, remaining_at

# Statuses in which the case is being worked on: a staff reply then is feedback.
WORKING_STATUSES = frozenset({Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_INTERNAL})
DONE_STATUSES = frozenset({Status.RESOLVED, Status.CLOSED})
RECOMPUTE_BATCH = 500

_TIMER_FIELDS = [
    "policy",
    "target",
    "calendar",
    "state",
    "target_seconds",
    "anchor_at",
    "remaining_seconds",
    "due_at",
    "warn_at",
    "paused_at",
    "warned_at",
    "breached_at",
    "met_at",
    "cancelled_at",
    "elapsed_seconds",
    "version",
]


# -- the clock of one timer -----------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _event_actor(actor: User | None) -> User | None:
    # Clocks move because of what staff or the system did; a customer's reply that reopens a
    # case is recorded on the case's own events.
    return actor if actor is not None and actor.is_staff_member else None


def _event(
    timer: SlaTimer,
    type: str,
    at: datetime,
    actor: User | None,
    *,
    old: Any = None,
    new: Any = None,
    payload: dict[str, Any] | None = None,
) -> CaseEvent:
    return CaseEvent(
        case_id=timer.case_id,
        at=at,
        actor=_event_actor(actor),
        type=type,
        field=timer.metric,
        old=old,
        new=new,
        payload={"metric": timer.metric, **(payload or {})},
    )


def _warn_fraction(timer: SlaTimer) -> float | None:
    return timer.target.warn_fraction


def _schedule(timer: SlaTimer, work: WorkCalendar) -> None:
    """Derive `due_at` and `warn_at` of a ticking clock from its anchor and remaining time."""
    timer.due_at = due_from(work, anchor=timer.anchor_at, remaining=timer.remaining_seconds)
    timer.warn_at = None
    fraction = _warn_fraction(timer)
    if fraction and timer.warned_at is None and timer.remaining_seconds > 0:
        left_at_warning = round(timer.target_seconds * (1 - fraction))
        until_warning = timer.remaining_seconds - left_at_warning
        timer.warn_at = (
            work.add(timer.anchor_at, until_warning) if until_warning > 0 else timer.anchor_at
        )


def _remaining_now(timer: SlaTimer, at: datetime) -> int:
    if timer.state == TimerState.PAUSED:
        return timer.remaining_seconds
    return remaining_at(
        work_calendar(timer.calendar),
        anchor=timer.anchor_at,
        remaining=timer.remaining_seconds,
        at=at,
    )


def _save(timer: SlaTimer) -> None:
    timer.version += 1
    timer.save(update_fields=_TIMER_FIELDS)


def _new_timer(case: Case, match: Match, at: datetime, *, paused: bool) -> SlaTimer:
    seconds = match.target.working_seconds
    timer = SlaTimer(
        case=case,
        metric=match.target.metric,
        policy=match.policy,
        target=match.target,
        calendar=match.calendar,
        state=TimerState.RUNNING,
        target_seconds=seconds,
        started_at=at,
        anchor_at=at,
        remaining_seconds=seconds,
    )
    _schedule(timer, work_calendar(match.calendar))
    if paused:
        timer.state = TimerState.PAUSED
        timer.paused_at = at
        timer.warn_at = None
    return timer


def _started_event(timer: SlaTimer, at: datetime, actor: User | None) -> CaseEvent:
    return _event(
        timer,
        EventType.SLA_STARTED,
        at,
        actor,
        new=timer.state,
        payload={
            "policy": timer.policy.name,
            "calendar": timer.calendar.name,
            "target_seconds": timer.target_seconds,
            "due_at": _iso(timer.due_at),
        },
    )


def _pause(timer: SlaTimer, at: datetime, actor: User | None) -> CaseEvent:
    old = timer.state
    timer.remaining_seconds = _remaining_now(timer, at)
    timer.anchor_at = at
    timer.paused_at = at
    timer.state = TimerState.PAUSED
    timer.warn_at = None
    _save(timer)
    return _event(
        timer,
        EventType.SLA_PAUSED,
        at,
        actor,
        old=old,
        new=timer.state,
        payload={"remaining_seconds": timer.remaining_seconds},
    )


def _ticking_state(timer: SlaTimer) -> str:
    if timer.remaining_seconds <= 0 and timer.breached_at is not None:
        return TimerState.BREACHED
    return TimerState.RUNNING


def _resume(timer: SlaTimer, at: datetime, actor: User | None) -> CaseEvent:
    timer.anchor_at = at
    timer.paused_at = None
    timer.state = _ticking_state(timer)
    _schedule(timer, work_calendar(timer.calendar))
    _save(timer)
    return _event(
        timer,
        EventType.SLA_RESUMED,
        at,
        actor,
        old=TimerState.PAUSED,
        new=timer.state,
        payload={"remaining_seconds": timer.remaining_seconds, "due_at": _iso(timer.due_at)},
    )


def _meet(timer: SlaTimer, at: datetime, actor: User | None, reason: str) -> CaseEvent:
    old = timer.state
    left = _remaining_now(timer, at)
    if left < 0 and timer.breached_at is None:
        # Met late before any sweep noticed: it broke its promise when it ran out.
        timer.breached_at = timer.due_at
    timer.remaining_seconds = left
    timer.anchor_at = at
    timer.elapsed_seconds = timer.target_seconds - left
    timer.state = TimerState.MET
    timer.met_at = at
    timer.warn_at = None
    timer.paused_at = None
    _save(timer)
    return _event(
        timer,
        EventType.SLA_MET,
        at,
        actor,
        old=old,
        new=timer.state,
        payload={
            "reason": reason,
            "on_time": left >= 0,
            "elapsed_seconds": timer.elapsed_seconds,
        },
    )


def _cancel(timer: SlaTimer, at: datetime, actor: User | None, reason: str) -> CaseEvent:
    old = timer.state
    if timer.state in TICKING_STATES:
        timer.remaining_seconds = _remaining_now(timer, at)
        timer.anchor_at = at
    timer.state = TimerState.CANCELLED
    timer.cancelled_at = at
    timer.warn_at = None
    timer.paused_at = None
    _save(timer)
    return _event(
        timer,
        EventType.SLA_CANCELLED,
        at,
        actor,
        old=old,
        new=timer.state,
        payload={"reason": reason},
    )


def _recompute(
    timer: SlaTimer, match: Match, at: datetime, actor: User | None, reason: str
) -> CaseEvent:
    """Move a live clock to `match` (or to a new calendar version) keeping the working time
    already used: what is left is the new target minus the time taken so far."""
    old_due = timer.due_at
    elapsed = timer.target_seconds - _remaining_now(timer, at)
    timer.policy = match.policy
    timer.target = match.target
    timer.calendar = match.calendar
    timer.target_seconds = match.target.working_seconds
    timer.remaining_seconds = timer.target_seconds - elapsed
    timer.anchor_at = at
    fraction = match.target.warn_fraction
    if fraction and timer.remaining_seconds > round(timer.target_seconds * (1 - fraction)):
        # The new warning threshold lies ahead: warn again when it comes.
        timer.warned_at = None
    work = work_calendar(match.calendar)
    if timer.state == TimerState.PAUSED:
        timer.due_at = due_from(work, anchor=at, remaining=timer.remaining_seconds)
        timer.warn_at = None
    else:
        timer.state = _ticking_state(timer)
        _schedule(timer, work)
    _save(timer)
    return _event(
        timer,
        EventType.SLA_RECOMPUTED,
        at,
        actor,
        old=_iso(old_due),
        new=_iso(timer.due_at),
        payload={
            "reason": reason,
            "policy": match.policy.name,
            "calendar": match.calendar.name,
            "target_seconds": timer.target_seconds,
            "remaining_seconds": timer.remaining_seconds,
        },
    )


def _differs(timer: SlaTimer, match: Match) -> bool:
    return (
        timer.target_id != match.target.pk
        or timer.target_seconds != match.target.working_seconds
        or timer.calendar_id != match.calendar.pk
    )


def _pauses(policy: SlaPolicy, status: str) -> bool:
    return status in (policy.pause_statuses or [])


def _locked_timers(case: Case, *, live_only: bool = True) -> list[SlaTimer]:
    qs = SlaTimer.objects.select_for_update().filter(case_id=case.pk)
    if live_only:
        qs = qs.filter(state__in=LIVE_STATES)
    return list(qs.select_related("calendar", "target", "policy").order_by("started_at", "id"))


def _sync(
    *,
    case: Case,
    at: datetime,
    actor: User | None,
    reason: str,
    timers: list[SlaTimer] | None = None,
) -> list[SlaTimer]:
    """Bring the case's clocks in line with the policies that match it now.

    A live clock whose match changed is recomputed (keeping the time used), one that no longer
    matches is cancelled; a case metric that matches and was never met starts now.
    """
    matches = selectors.sla_matches(case)
    if timers is None:
        timers = _locked_timers(case, live_only=False)
    live = {t.metric: t for t in timers if t.state in LIVE_STATES}
    met = {t.metric for t in timers if t.state == TimerState.MET}
    events: list[CaseEvent] = []
    started: list[SlaTimer] = []
    for metric in Metric.values:
        match = matches.get(metric)
        timer = live.get(metric)
        if timer is not None:
            if match is None:
                events.append(_cancel(timer, at, actor, reason="no_policy"))
            elif _differs(timer, match):
                events.append(_recompute(timer, match, at, actor, reason))
            continue
        if (
            match is None
            or metric not in CASE_METRICS
            or metric in met
            or case.status not in OPEN_STATUSES
            or (metric == Metric.FIRST_RESPONSE and case.first_response_at is not None)
        ):
            continue
        timer = _new_timer(case, match, at, paused=_pauses(match.policy, case.status))
        started.append(timer)
        events.append(_started_event(timer, at, actor))
    if started:
        fastsql.insert(started)
    if events:
        events_record_many(events)
    return started


# -- hooks called by the case services, inside their transaction --------------------------------


def sla_case_plan(
    *, case: Case, at: datetime, actor: User | None = None
) -> tuple[list[SlaTimer], list[CaseEvent]]:
    """The clocks a new case starts (first response, first feedback, solution plan and
    resolution, as far as a policy defines them) and their `sla.started` events, unsaved.

    Pure computation: case creation calls it before its write transaction and, once the case
    row exists, sets their case and inserts them (see `cases.services.case_create`).
    """
    if case.status not in OPEN_STATUSES:
        return [], []
    matches = selectors.sla_matches(case)
    timers: list[SlaTimer] = []
    for metric in Metric.values:
        match = matches.get(metric)
        if (
            match is None
            or metric not in CASE_METRICS
            or (metric == Metric.FIRST_RESPONSE and case.first_response_at is not None)
        ):
            continue
        timers.append(_new_timer(case, match, at, paused=_pauses(match.policy, case.status)))
    return timers, [_started_event(timer, at, actor) for timer in timers]


def sla_case_opened(*, case: Case, at: datetime, actor: User | None = None) -> None:
    """Start the clocks of a new, saved case (see `sla_case_plan`)."""
    timers, events = sla_case_plan(case=case, at=at, actor=actor)
    fastsql.insert(timers)
    events_record_many(events)
    # The new case's clocks, for its API response without another query.
    case._sla_timers = timers  # type: ignore[attr-defined]


def sla_case_changed(*, case: Case, at: datetime, actor: User | None = None) -> None:
    """Re-match after a change of kind, priority, category, complexity or department: live
    clocks move to their new target and calendar keeping the working time already used."""
    _sync(case=case, at=at, actor=actor, reason="case_changed")


def sla_case_status_changed(
    *, case: Case, old: str, new: str, at: datetime, actor: User | None = None
) -> None:
    """Pause, resume, meet, cancel or restart clocks after the case moved from `old` to `new`.

    Statuses a policy lists in `pause_statuses` stop its clocks; leaving them resumes the
    clocks with the working time they had left.
    """
    timers = _locked_timers(case)
    events: list[CaseEvent] = []
    if new == Status.CANCELLED:
        events += [_cancel(t, at, actor, reason="case_cancelled") for t in timers]
    elif new in DONE_STATUSES:
        for timer in timers:
            if timer.metric in CASE_METRICS:
                events.append(_meet(timer, at, actor, reason=f"case_{new}"))
            elif new == Status.CLOSED:
                events.append(_cancel(timer, at, actor, reason="case_closed"))
    else:
        for timer in timers:
            paused_by_new = _pauses(timer.policy, new)
            if timer.state in TICKING_STATES and paused_by_new:
                events.append(_pause(timer, at, actor))
            elif timer.state == TimerState.PAUSED and not paused_by_new:
                events.append(_resume(timer, at, actor))
        if old in DONE_STATUSES and not any(t.metric == Metric.RESOLUTION for t in timers):
            match = selectors.sla_matches(case).get(Metric.RESOLUTION)
            if match is not None:
                timer = _new_timer(case, match, at, paused=_pauses(match.policy, new))
                timer.save()
                events.append(_started_event(timer, at, actor))
    if events:
        events_record_many(events)


def sla_case_replied(*, case: Case, at: datetime, actor: User | None = None) -> None:
    """A public reply by staff: meets first_response, and first_feedback once the case is
    being worked on."""
    metrics = [Metric.FIRST_RESPONSE]
    if case.status in WORKING_STATUSES:
        metrics.append(Metric.FIRST_FEEDBACK)
    timers = [t for t in _locked_timers(case) if t.metric in metrics]
    events = [_meet(t, at, actor, reason="staff_reply") for t in timers]
    if events:
        events_record_many(events)


# -- explicit timer services (API, RMA) -----------------------------------------------------------


def _check_metric(metric: str) -> None:
    if metric not in Metric.values:
        raise SlaInvalid(
            _("Unknown metric %(metric)s. Allowed: %(allowed)s")
            % {"metric": metric, "allowed": ", ".join(Metric.values)},
            fields={"metric": _("unknown value")},
        )


def _lock_case(case: Case) -> Case:
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("category", "customer", "department")
        .get(pk=case.pk)
    )


def timer_start(
    *, case: Case, metric: str, at: datetime | None = None, actor: User | None = None
) -> SlaTimer | None:
    """Start the clock of `metric` on `case` now (the RMA milestones: goods received starts
    diagnosis, goods sent back starts receipt confirmation).

    Returns the live clock if one is already running (idempotent), None when no policy has a
    target for this metric and case. A case waiting in a pause status starts it paused.
    """
    _check_metric(metric)
    now = at or timezone.now()
    with transaction.atomic():
        locked = _lock_case(case)
        existing = [t for t in _locked_timers(locked) if t.metric == metric]
        if existing:
            return existing[0]
        match = selectors.sla_matches(locked).get(metric)
        if match is None:
            return None
        timer = _new_timer(locked, match, now, paused=_pauses(match.policy, locked.status))
        timer.save()
        events_record_many([_started_event(timer, now, actor)])
    return timer


def timer_meet(
    *, case: Case, metric: str, at: datetime | None = None, actor: User | None = None
) -> SlaTimer:
    """Stop the live clock of `metric` as met (e.g. the solution plan was given, the diagnosis
    is done). Raises SlaTimerNotLive when that clock is not running or paused."""
    _check_metric(metric)
    now = at or timezone.now()
    with transaction.atomic():
        locked = _lock_case(case)
        timers = [t for t in _locked_timers(locked) if t.metric == metric]
        if not timers:
            raise SlaTimerNotLive(
                _("The %(metric)s clock of case %(number)s is not running.")
                % {"metric": metric, "number": locked.number},
                extra={"metric": metric},
            )
        timer = timers[0]
        events_record_many([_meet(timer, now, actor, reason="marked")])
    return timer


def timers_recompute_calendar(
    *, calendar: BusinessCalendar, at: datetime | None = None, batch_size: int = RECOMPUTE_BATCH
) -> int:
    """Recompute the live clocks on `calendar` from its current version; returns how many.

    Working time since each clock's anchor is measured in the new version, so a holiday
    declared for today takes effect now and one declared for next week moves the due time.
    """
    now = at or timezone.now()
    done = 0
    last_id = 0
    while True:
        ids = list(
            SlaTimer.objects.filter(calendar=calendar, state__in=LIVE_STATES, pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", "case_id")[:batch_size]
        )
        if not ids:
            return done
        last_id = ids[-1][0]
        with transaction.atomic():
            _lock_cases([case_id for _pk, case_id in ids])
            fresh = BusinessCalendar.objects.get(pk=calendar.pk)
            timers = list(
                SlaTimer.objects.select_for_update(of=("self",))
                .select_related("target", "policy")
                .filter(pk__in=[pk for pk, _case in ids], state__in=LIVE_STATES, calendar=fresh)
            )
            events = []
            for timer in timers:
                timer.calendar = fresh
                match = Match(policy=timer.policy, target=timer.target, calendar=fresh)
                events.append(_recompute(timer, match, now, None, reason="calendar_changed"))
            events_record_many(events)
            done += len(timers)


def _lock_cases(case_ids: Iterable[int]) -> None:
    """Lock case rows in id order, the order every writer takes them in."""
    list(
        Case.objects.select_for_update()
        .filter(pk__in=sorted(set(case_ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def timers_rematch(
    *,
    department_id: int | None = None,
    at: datetime | None = None,
    batch_size: int = RECOMPUTE_BATCH,
) -> int:
    """Re-match every case with live clocks (of one department, if given) against the
    policies; returns the number of cases looked at."""
    now = at or timezone.now()
    seen = 0
    last_case = 0
    while True:
        qs = SlaTimer.objects.filter(state__in=LIVE_STATES, case_id__gt=last_case)
        if department_id is not None:
            qs = qs.filter(case__department_id=department_id)
        case_ids = sorted(
            set(qs.order_by("case_id").values_list("case_id", flat=True)[:batch_size])
        )
        if not case_ids:
            return seen
        last_case = case_ids[-1]
        for case_id in case_ids:
            with transaction.atomic():
                case = _lock_case(Case(pk=case_id))
                _sync(case=case, at=now, actor=None, reason="policy_changed")
            seen += 1
