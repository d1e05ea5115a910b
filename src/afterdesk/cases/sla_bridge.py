"""The one place the workspace asks the SLA app, when it is installed, for clocks and queues.

Without `afterdesk.sla` in INSTALLED_APPS the workspace has no "Due soon / Overdue" tab and
no clocks; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from afterdesk.accounts.models import User
from afterdesk.accounts.selectors import user_department_ids
from afterdesk.cases.models import Case

# The Due soon / Overdue tab shows "999+" rather than counting further.
DUE_COUNT_CAP = 1000


def sla_installed() -> bool:
    return apps.is_installed("afterdesk.sla")


def due_filter(*, now: datetime | None = None) -> Q:
    """Cases with a clock that is past due or due within the hour."""
    from afterdesk.sla.selectors import due_soon_timers, overdue_timers

    now = now or timezone.now()
    return Q(pk__in=overdue_timers(now=now).values("case_id")) | Q(
        pk__in=due_soon_timers(now=now).values("case_id")
    )


def due_count(*, user: User, now: datetime | None = None) -> int:
    """How many cases the user may see are overdue or due soon, counted up to the cap.

    Driven from the timer index (state, due_at), which holds only live clocks, joined to
    the case for visibility, and stopped at DUE_COUNT_CAP: never a scan of the case table.
    """
    from afterdesk.sla.choices import TICKING_STATES
    from afterdesk.sla.models import SlaTimer
    from afterdesk.sla.selectors import DUE_SOON

    now = now or timezone.now()
    timers = SlaTimer.objects.filter(state__in=TICKING_STATES, due_at__lte=now + DUE_SOON)
    if not user.sees_all_cases:
        timers = timers.filter(
            Q(case__department_id__in=user_department_ids(user)) | Q(case__owner=user)
        )
    return timers.values("case_id").distinct()[:DUE_COUNT_CAP].count()


@dataclass(frozen=True)
class Clock:
    """One SLA clock as the workspace shows it."""

    metric: str
    label: str
    state: str
    state_label: str
    due_at: datetime | None
    remaining: str
    overdue: bool
    due_soon: bool


def metric_label(code: str) -> str:
    if not sla_installed():
        return code
    from afterdesk.sla.choices import Metric

    return str(dict(Metric.choices).get(code, code))


def _duration(seconds: int) -> str:
    """Working time as hours and minutes (days would suggest calendar days)."""
    minutes = abs(seconds) // 60
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%d min") % minutes


def _clock(metric: str, data: dict[str, Any]) -> Clock:
    from afterdesk.sla.choices import TimerState
    from afterdesk.sla.selectors import DUE_SOON

    remaining = data.get("remaining_seconds")
    state = str(data.get("state", ""))
    overdue = state == TimerState.BREACHED or (remaining is not None and remaining < 0)
    if remaining is None:
        text = ""
    elif remaining < 0:
        text = _("overdue by %s") % _duration(remaining)
    else:
        text = _("%s left") % _duration(remaining)
    return Clock(
        metric=metric,
        label=metric_label(metric),
        state=state,
        state_label=str(dict(TimerState.choices).get(state, state)),
        due_at=data.get("due_at"),
        remaining=text,
        overdue=overdue,
        due_soon=not overdue
        and remaining is not None
        and remaining <= DUE_SOON.total_seconds()
        and state == TimerState.RUNNING,
    )


def case_clocks(*, user: User, case: Case) -> list[Clock]:
    """The case's clocks, newest per metric (none without the SLA app or for customers)."""
    if not sla_installed():
        return []
    from afterdesk.sla.selectors import case_clocks_for

    return [_clock(m, d) for m, d in case_clocks_for(user=user, case=case).items()]


def next_due(cases: Iterable[Case]) -> dict[int, Clock]:
    """For a page of cases: the ticking clock due first on each (one query for the page)."""
    if not sla_installed():
        return {}
    from django.db.models import prefetch_related_objects

    from afterdesk.sla.choices import TICKING_STATES
    from afterdesk.sla.selectors import clock_out, timers_prefetch

    items = list(cases)
    prefetch_related_objects(items, timers_prefetch())
    now = timezone.now()
    out: dict[int, Clock] = {}
    for case in items:
        ticking = [t for t in case.sla_timers.all() if t.state in TICKING_STATES]  # type: ignore[attr-defined]
        if ticking:
            first = min(ticking, key=lambda t: t.due_at)
            out[case.pk] = _clock(first.metric, clock_out(first, now=now))
    return out
