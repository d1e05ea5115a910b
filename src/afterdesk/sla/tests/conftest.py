"""SLA test helpers: a settable clock, Shanghai local times, the clocks of a case."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest

from afterdesk.cases.models import Case, CaseEvent
from afterdesk.sla.models import SlaTimer

SHANGHAI = ZoneInfo("Asia/Shanghai")


def cn(*args: int) -> datetime:
    """A local time in Asia/Shanghai, the zone of cn-business."""
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


class Clock:
    """What `timezone.now()` answers inside a test, moved by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def set(self, when: datetime) -> datetime:
        self.now = when
        return when


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Monday 23 November 2026, 10:00 in Shanghai, until moved."""
    state = Clock(cn(2026, 11, 23, 10, 0))
    with mock.patch("django.utils.timezone.now", side_effect=lambda: state.now):
        yield state


def timers(case: Case, **filters: Any) -> dict[str, SlaTimer]:
    """The latest timer per metric of a case."""
    latest: dict[str, SlaTimer] = {}
    for timer in SlaTimer.objects.filter(case=case, **filters).order_by("started_at", "id"):
        latest[timer.metric] = timer
    return latest


def sla_events(case: Case) -> list[tuple[str, str, Any, Any]]:
    """(type, metric, old, new) of the case's SLA events, oldest first."""
    return [
        (e.type, e.field, e.old, e.new)
        for e in CaseEvent.objects.filter(case=case, type__startswith="sla.").order_by("at", "id")
    ]
