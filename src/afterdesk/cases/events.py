"""Recording case events: the only place that writes CaseEvent rows.

Every write to a case records one or more events, so the INSERT is prepared once per process
(core.fastsql) rather than compiled by the ORM each time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from afterdesk.accounts.models import User
from afterdesk.cases.models import Case, CaseEvent
from afterdesk.core import fastsql


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
    event = CaseEvent(
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
    fastsql.insert([event])
    return event


def events_record_many(events: list[CaseEvent]) -> None:
    fastsql.insert(events)
