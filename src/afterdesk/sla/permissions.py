"""Who may see and act on SLA clocks, configuration and reports."""

from __future__ import annotations

from afterdesk.accounts.models import User
from afterdesk.cases.models import Case
from afterdesk.cases.permissions import can_edit_case, can_view_case


def can_view_sla(user: User, case: Case) -> bool:
    """Clocks are internal: staff who can see the case; customers never."""
    return user.is_staff_member and can_view_case(user, case)


def can_meet_sla(user: User, case: Case) -> bool:
    """Mark a clock met (e.g. the solution plan was given): staff who may change the case."""
    return can_edit_case(user, case)


def can_view_sla_config(user: User) -> bool:
    return user.is_active and user.is_staff_member


def can_view_sla_report(user: User) -> bool:
    """Compliance by agent is performance data: supervisors, admins and integrations."""
    return user.is_active and user.sees_all_cases
