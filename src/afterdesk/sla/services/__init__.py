"""Every write of the SLA engine (STYLE 3): the clocks of cases (`timers`) and the
configuration they run on (`calendars`). Callers use this package: `from afterdesk.sla import
services` then `services.timer_start(...)`, `services.sla_case_opened(...)`, …"""

from __future__ import annotations

from afterdesk.sla.services.calendars import (
    calendar_compile,
    calendar_create,
    calendar_set_date,
    department_calendar_set,
    policy_changed,
)
from afterdesk.sla.services.timers import (
    sla_case_changed,
    sla_case_opened,
    sla_case_plan,
    sla_case_replied,
    sla_case_status_changed,
    timer_meet,
    timer_start,
    timers_recompute_calendar,
    timers_rematch,
)

__all__ = [
    "calendar_compile",
    "calendar_create",
    "calendar_set_date",
    "department_calendar_set",
    "policy_changed",
    "sla_case_changed",
    "sla_case_opened",
    "sla_case_plan",
    "sla_case_replied",
    "sla_case_status_changed",
    "timer_meet",
    "timer_start",
    "timers_recompute_calendar",
    "timers_rematch",
]
