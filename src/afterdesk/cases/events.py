"""Recording case events: the only place that writes CaseEvent rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from afterdesk.accounts.models import User
from afterdesk.cases.models import Case, CaseEvent


def event_record(
    *,
    case: Case,
    type: str,
    at: datetime,
    actor: User | None,
    by_customer: bool = False,
    field: str = "",
    old: Any = None,
    new: Any = None,
    payload: dict[str, Any] | None = None,
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        type=type,
        at=at,
        actor=actor,
        by_customer=by_customer,
        field=field,
        old=old,
        new=new,
        payload=payload or {},
    )


def events_record_many(events: list[CaseEvent]) -> None:
    CaseEvent.objects.bulk_create(events)
