"""The one place the portal asks the SLA app (when installed) for a case's due times."""

from __future__ import annotations

from datetime import datetime

from django.apps import apps

from afterdesk.cases.models import Case

FIRST_RESPONSE = "first_response"


def first_response_due(case: Case) -> datetime | None:
    """When the SLA clock says the first response is due, or None.

    None without the SLA app, without a first-response clock on the case, and while that clock
    is paused or cancelled: the portal then falls back on its own per-priority promise.
    """
    if not apps.is_installed("afterdesk.sla"):
        return None
    from afterdesk.sla.selectors import case_clocks

    clock = case_clocks(case).get(FIRST_RESPONSE)
    due_at = clock.get("due_at") if clock else None
    return due_at if isinstance(due_at, datetime) else None
