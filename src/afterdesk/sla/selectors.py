"""Reads of the SLA engine: compiled calendars, policy matching, clocks, queues."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Avg, Count, Prefetch, Q, QuerySet
from django.utils import timezone

from afterdesk.accounts.models import User
from afterdesk.cases.config import category_codes
from afterdesk.cases.models import Case
from afterdesk.core.configcache import ConfigCache
from afterdesk.customers.models import Segment
from afterdesk.sla.choices import (
    LIVE_STATES,
    TICKING_STATES,
    CalendarKind,
    Metric,
    QueueFilter,
    TimerState,
)
from afterdesk.sla.countries import country_days_for
from afterdesk.sla.models import (
    BusinessCalendar,
    CalendarDate,
    DepartmentCalendar,
    SlaPolicy,
    SlaTarget,
    SlaTimer,
    WorkingInterval,
)
from afterdesk.sla.permissions import can_view_sla
from afterdesk.sla.worktime import DAY, WorkCalendar, remaining_at

DUE_SOON = timedelta(hours=1)
_CACHE_SIZE = 64


# -- calendars ------------------------------------------------------------------------------------


def _seconds(value: time | str) -> int:
    if isinstance(value, str):
        hours, _sep, minutes = value.partition(":")
        return int(hours) * 3600 + int(minutes or 0) * 60
    return value.hour * 3600 + value.minute * 60 + value.second


def interval_seconds(start: time | str, end: time | str) -> list[int]:
    """[start, end] in seconds after midnight; an end of 00:00 is the end of the day."""
    begin, finish = _seconds(start), _seconds(end)
    return [begin, finish or DAY]


def calendar_spec(calendar: BusinessCalendar) -> dict[str, Any]:
    """The compiled form of a calendar from its rows (what `calendar_compile` stores)."""
    weekly: list[list[list[int]]] = [[] for _ in range(7)]
    for interval in calendar.intervals.all():
        weekly[interval.weekday].append(interval_seconds(interval.start, interval.end))
    dates: dict[str, list[list[int]] | None] = {}
    for row in calendar.dates.all():
        if not row.is_working:
            dates[row.date.isoformat()] = []
        elif row.intervals:
            dates[row.date.isoformat()] = [interval_seconds(s, e) for s, e in row.intervals]
        else:
            dates[row.date.isoformat()] = None
    return {
        "tz": calendar.tz,
        "kind": calendar.kind,
        "country": calendar.country,
        "weekly": [sorted(day) for day in weekly],
        "dates": dates,
    }


def build_work_calendar(spec: dict[str, Any]) -> WorkCalendar:
    """A WorkCalendar from a compiled spec (raises ValueError on a bad one)."""
    dates = {
        date.fromisoformat(day): None if hours is None else [tuple(i) for i in hours]
        for day, hours in spec.get("dates", {}).items()
    }
    always_open = spec.get("kind") == CalendarKind.ALWAYS
    return WorkCalendar(
        tz=spec["tz"],
        weekly=[[tuple(i) for i in day] for day in spec.get("weekly", [[]] * 7)],
        always_open=always_open,
        dates=dates,
        country_days=None if always_open else country_days_for(spec.get("country", "")),
    )


class _CalendarCache:
    """Compiled calendars by (id, version, compiled at), least recently used out first;
    thread-safe. The compile time keeps a key unique even where ids are reused."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[int, int, datetime], WorkCalendar] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, calendar: BusinessCalendar) -> WorkCalendar:
        key = (calendar.pk, calendar.version, calendar.updated_at)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        built = build_work_calendar(calendar.spec or calendar_spec(calendar))
        with self._lock:
            self._items[key] = built
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return built

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_calendars = _CalendarCache(_CACHE_SIZE)


def work_calendar(calendar: BusinessCalendar) -> WorkCalendar:
    """The arithmetic form of a calendar, cached per calendar version (no query when the
    calendar row carries its compiled spec)."""
    return _calendars.get(calendar)


def calendar_by_name(name: str) -> BusinessCalendar | None:
    return BusinessCalendar.objects.filter(name=name).first()


def calendars_list() -> list[BusinessCalendar]:
    return list(BusinessCalendar.objects.prefetch_related("intervals", "dates").order_by("name"))


def policies_list() -> list[SlaPolicy]:
    return list(
        SlaPolicy.objects.select_related("calendar")
        .prefetch_related(Prefetch("targets", queryset=SlaTarget.objects.order_by("metric")))
        .order_by("position", "id")
    )


# -- matching -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """The policy and target that set a metric's clock on a case, and the calendar it runs in."""

    policy: SlaPolicy
    target: SlaTarget
    calendar: BusinessCalendar


@dataclass(frozen=True)
class CaseFacts:
    """What policies match on, read once per case."""

    kind: str
    priority: str
    channel: str
    is_complex: bool
    categories: frozenset[str]
    segment: str


def _case_facts(case: Case, config: SlaConfig) -> CaseFacts:
    categories: frozenset[str] = frozenset()
    if case.category_id is not None and any(p.categories for p in config.policies):
        categories = category_codes(case.category_id)
    segment = ""
    if any(p.segments for p in config.policies):
        segment_id = case.customer.segment_id
        if segment_id is not None:
            segment = config.segment_codes.get(segment_id, "")
    return CaseFacts(
        kind=case.kind,
        priority=case.priority,
        channel=case.channel,
        is_complex=case.is_complex,
        categories=categories,
        segment=segment,
    )


def policy_matches(policy: SlaPolicy, facts: CaseFacts) -> bool:
    """Whether every match field of `policy` is empty or contains the case's value."""
    if policy.kinds and facts.kind not in policy.kinds:
        return False
    if policy.priorities and facts.priority not in policy.priorities:
        return False
    if policy.channels and facts.channel not in policy.channels:
        return False
    if policy.segments and facts.segment not in policy.segments:
        return False
    if policy.categories and not facts.categories.intersection(policy.categories):
        return False
    return policy.is_complex is None or policy.is_complex == facts.is_complex


def _active_policies() -> list[SlaPolicy]:
    """Active policies in order, each with its targets, from one query over the targets."""
    policies: dict[int, SlaPolicy] = {}
    targets: dict[int, list[SlaTarget]] = {}
    for target in (
        SlaTarget.objects.filter(policy__active=True)
        .select_related("policy", "policy__calendar")
        .order_by("policy__position", "policy_id", "metric")
    ):
        policy = policies.setdefault(target.policy_id, target.policy)
        targets.setdefault(policy.pk, []).append(target)
    for policy in policies.values():
        policy.ordered_targets = targets[policy.pk]  # type: ignore[attr-defined]
    return list(policies.values())


@dataclass(frozen=True)
class SlaConfig:
    """What matching a case needs, cached per process (afterdesk.core.configcache)."""

    policies: list[SlaPolicy]
    default_calendar: BusinessCalendar | None
    department_calendars: dict[int, BusinessCalendar]
    segment_codes: dict[int, str]


def _load_config() -> SlaConfig:
    return SlaConfig(
        policies=_active_policies(),
        default_calendar=BusinessCalendar.objects.filter(is_default=True).first(),
        department_calendars={
            link.department_id: link.calendar
            for link in DepartmentCalendar.objects.select_related("calendar")
        },
        segment_codes=dict(Segment.objects.values_list("pk", "code")),
    )


_config = ConfigCache(
    "sla",
    _load_config,
    models=(
        SlaPolicy,
        SlaTarget,
        BusinessCalendar,
        WorkingInterval,
        CalendarDate,
        DepartmentCalendar,
        Segment,
    ),
)


def sla_config() -> SlaConfig:
    return _config.get()


def active_policies() -> list[SlaPolicy]:
    return sla_config().policies


def default_calendar() -> BusinessCalendar | None:
    return sla_config().default_calendar


def fallback_calendar(department_id: int | None) -> BusinessCalendar | None:
    """The department's calendar, else the default one."""
    config = sla_config()
    if department_id is not None and department_id in config.department_calendars:
        return config.department_calendars[department_id]
    return config.default_calendar


def sla_matches(case: Case) -> dict[str, Match]:
    """For each metric with a matching policy: the first match in policy order."""
    config = sla_config()
    facts = _case_facts(case, config)
    chosen: dict[str, tuple[SlaPolicy, SlaTarget]] = {}
    for policy in config.policies:
        if not policy_matches(policy, facts):
            continue
        for target in policy.ordered_targets:  # type: ignore[attr-defined]
            chosen.setdefault(target.metric, (policy, target))
    if not chosen:
        return {}
    fallback: list[BusinessCalendar | None] = []

    def calendar_of(policy: SlaPolicy) -> BusinessCalendar | None:
        if policy.calendar is not None:
            return policy.calendar
        if not fallback:
            fallback.append(fallback_calendar(case.department_id))
        return fallback[0]

    matches: dict[str, Match] = {}
    for metric, (policy, target) in chosen.items():
        calendar = calendar_of(policy)
        if calendar is not None:
            matches[metric] = Match(policy=policy, target=target, calendar=calendar)
    return matches


# -- clocks ---------------------------------------------------------------------------------------


def timer_remaining(timer: SlaTimer, *, now: datetime) -> int | None:
    """Working seconds left on the clock now (negative when overdue); None once it stopped."""
    if timer.state == TimerState.PAUSED:
        return timer.remaining_seconds
    if timer.state not in TICKING_STATES:
        return None
    return remaining_at(
        work_calendar(timer.calendar),
        anchor=timer.anchor_at,
        remaining=timer.remaining_seconds,
        at=now,
    )


def timers_prefetch() -> Prefetch[Any]:
    """Prefetch for a list of cases: every timer in one query, then their calendars in
    another (the page's few calendars, each built once and shared by its timers: joined in,
    a calendar was built for every timer, hundreds per page)."""
    return Prefetch(
        "sla_timers",
        queryset=SlaTimer.objects.prefetch_related("calendar").order_by("started_at", "id"),
    )


def clock_out(timer: SlaTimer, *, now: datetime) -> dict[str, Any]:
    remaining = timer_remaining(timer, now=now)
    state = timer.state
    if state == TimerState.RUNNING and remaining is not None and remaining < 0:
        # Past due but not yet swept: say what is true now.
        state = TimerState.BREACHED
    return {
        "state": state,
        "due_at": None
        if timer.state in (TimerState.PAUSED, TimerState.CANCELLED)
        else timer.due_at,
        "remaining_seconds": remaining,
        "target_seconds": timer.target_seconds,
        "started_at": timer.started_at,
        "met_at": timer.met_at,
        "breached_at": timer.breached_at,
        "escalated": timer.escalated_at is not None and timer.state in LIVE_STATES,
    }


def case_clocks(case: Case, *, now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """The latest clock per metric of a case (from `timers_prefetch` when it was used, or
    from the clocks `sla_case_opened` just started)."""
    now = now or timezone.now()
    if hasattr(case, "_sla_timers"):
        timers = list(case._sla_timers)
    elif "sla_timers" in getattr(case, "_prefetched_objects_cache", {}):
        timers = list(case.sla_timers.all())
    else:
        timers = list(
            SlaTimer.objects.filter(case_id=case.pk)
            .select_related("calendar")
            .order_by("started_at", "id")
        )
    latest: dict[str, SlaTimer] = {}
    for timer in timers:  # ordered by start: a restarted clock replaces the earlier one
        latest[timer.metric] = timer
    return {metric: clock_out(timer, now=now) for metric, timer in latest.items()}


# -- queues ---------------------------------------------------------------------------------------


def overdue_timers(*, now: datetime) -> QuerySet[SlaTimer]:
    """Ticking timers past due: two index range scans on (state, due_at)."""
    return SlaTimer.objects.filter(state__in=TICKING_STATES, due_at__lt=now)


def due_soon_timers(*, now: datetime, within: timedelta = DUE_SOON) -> QuerySet[SlaTimer]:
    """Running timers due within `within`: one index range scan on (state, due_at)."""
    return SlaTimer.objects.filter(
        state=TimerState.RUNNING, due_at__gte=now, due_at__lte=now + within
    )


def escalated_timers() -> QuerySet[SlaTimer]:
    return SlaTimer.objects.filter(escalated_at__isnull=False, state__in=LIVE_STATES)


def case_queue_filter(queue: str, *, now: datetime | None = None) -> Q:
    """A filter on cases for `?sla=overdue|due_soon|escalated` (ValueError when unknown)."""
    now = now or timezone.now()
    if queue == QueueFilter.OVERDUE:
        timers = overdue_timers(now=now)
    elif queue == QueueFilter.DUE_SOON:
        timers = due_soon_timers(now=now)
    elif queue == QueueFilter.ESCALATED:
        timers = escalated_timers()
    else:
        raise ValueError(queue)
    return Q(pk__in=timers.values("case_id"))


# -- report ---------------------------------------------------------------------------------------

HISTOGRAM_HOURS = (1, 2, 4, 8, 16, 24, 40, 72, 120)
DISTRIBUTION_METRICS = (Metric.FIRST_RESPONSE, Metric.RESOLUTION)
PERCENTILES = (("p50_hours", 0.5), ("p90_hours", 0.9))


def _compliance_row(row: dict[str, Any]) -> dict[str, Any]:
    decided = row["met_on_time"] + row["breached"]
    row["compliance"] = round(row["met_on_time"] / decided, 4) if decided else None
    return row


def _compliance(
    base: QuerySet[SlaTimer], key: str, name: str, now: datetime
) -> list[dict[str, Any]]:
    breached = Q(breached_at__isnull=False) | Q(state__in=TICKING_STATES, due_at__lt=now)
    rows = (
        base.values("metric", key)
        .annotate(
            total=Count("pk"),
            met_on_time=Count("pk", filter=Q(state=TimerState.MET, breached_at__isnull=True)),
            breached=Count("pk", filter=breached),
            open=Count("pk", filter=Q(state__in=LIVE_STATES) & ~breached),
        )
        .order_by(key, "metric")
    )
    return [
        _compliance_row(
            {
                name: row[key],
                "metric": row["metric"],
                "total": row["total"],
                "met_on_time": row["met_on_time"],
                "breached": row["breached"],
                "open": row["open"],
            }
        )
        for row in rows
    ]


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _distribution(base: QuerySet[SlaTimer], metric: str) -> dict[str, Any]:
    """Working hours taken by the clocks of `metric` met in the period: percentiles and a
    histogram, from one aggregate and one indexed ORDER BY … LIMIT 1 per percentile."""
    met = base.filter(metric=metric, state=TimerState.MET, elapsed_seconds__isnull=False)
    cumulative = {
        f"le_{hours}": Count("pk", filter=Q(elapsed_seconds__lte=hours * 3600))
        for hours in HISTOGRAM_HOURS
    }
    totals = met.aggregate(count=Count("pk"), mean=Avg("elapsed_seconds"), **cumulative)
    count = totals["count"]
    out: dict[str, Any] = {"count": count, "mean_hours": _hours(totals["mean"])}
    for name, fraction in PERCENTILES:
        rank = max(1, math.ceil(fraction * count))
        value = (
            met.order_by("elapsed_seconds").values_list("elapsed_seconds", flat=True)[
                rank - 1 : rank
            ]
            if count
            else []
        )
        out[name] = _hours(next(iter(value), None))
    histogram, previous = [], 0
    for hours in HISTOGRAM_HOURS:
        upto = totals[f"le_{hours}"]
        histogram.append({"le_hours": hours, "count": upto - previous})
        previous = upto
    histogram.append({"le_hours": None, "count": count - previous})
    out["histogram"] = histogram
    return out


def sla_report(*, start: datetime, end: datetime, now: datetime | None = None) -> dict[str, Any]:
    """Compliance per policy, department and agent, and the distribution of first-response
    and resolution times, for the clocks started in [start, end) (cancelled ones left out).

    met_on_time: met without breaching; breached: breached (met late, or still running past
    due); open: live and not past due; compliance: met_on_time / (met_on_time + breached).
    Times are working hours of each clock's calendar, pauses excluded.
    """
    now = now or timezone.now()
    base = SlaTimer.objects.filter(started_at__gte=start, started_at__lt=end).exclude(
        state=TimerState.CANCELLED
    )
    return {
        "from": start,
        "to": end,
        "by_policy": _compliance(base, "policy__name", "policy", now),
        "by_department": _compliance(base, "case__department__code", "department", now),
        "by_agent": _compliance(base, "case__owner__username", "agent", now),
        "distributions": {metric: _distribution(base, metric) for metric in DISTRIBUTION_METRICS},
    }


def case_clocks_for(
    *, user: User, case: Case, now: datetime | None = None
) -> dict[str, dict[str, Any]]:
    """The case's clocks if `user` may see them (staff), else nothing."""
    return case_clocks(case, now=now) if can_view_sla(user, case) else {}
