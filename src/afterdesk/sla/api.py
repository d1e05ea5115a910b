"""SLA endpoints of API v1: calendars, policies, the report, and marking a clock met."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router

from afterdesk.cases.permissions import get_case_for_user
from afterdesk.core.api_auth import request_user as _user
from afterdesk.core.errors import PermissionDenied, ValidationFailed
from afterdesk.core.schemas import error_responses
from afterdesk.sla import selectors, services
from afterdesk.sla.models import BusinessCalendar, SlaPolicy
from afterdesk.sla.permissions import can_meet_sla, can_view_sla_config, can_view_sla_report
from afterdesk.sla.schemas import CalendarOut, PolicyOut, ReportOut, ReportQuery, SlaClockOut

router = Router()
# Mounted under /cases: the clocks of one case.
case_router = Router()

ERRORS = error_responses(401, 403, 404, 409, 422)
REPORT_DEFAULT_DAYS = 30
REPORT_MAX_DAYS = 732


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def calendar_out(calendar: BusinessCalendar) -> dict[str, Any]:
    work = selectors.work_calendar(calendar)
    return {
        "name": calendar.name,
        "description": calendar.description,
        "tz": calendar.tz,
        "kind": calendar.kind,
        "country": calendar.country,
        "is_default": calendar.is_default,
        "version": calendar.version,
        "standard_day_seconds": work.standard_day_seconds,
        "intervals": [
            {"weekday": weekday, "start": _hhmm(start), "end": _hhmm(end)}
            for weekday, day in enumerate(work.weekly)
            for start, end in (() if work.always_open else day)
        ],
        "dates": [
            {"date": d.date, "is_working": d.is_working, "intervals": d.intervals, "note": d.note}
            for d in calendar.dates.all()
        ],
    }


def policy_out(policy: SlaPolicy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "position": policy.position,
        "active": policy.active,
        "kinds": policy.kinds,
        "priorities": policy.priorities,
        "categories": policy.categories,
        "channels": policy.channels,
        "segments": policy.segments,
        "is_complex": policy.is_complex,
        "calendar": policy.calendar.name if policy.calendar else None,
        "pause_statuses": policy.pause_statuses,
        "targets": [
            {
                "metric": t.metric,
                "working_seconds": t.working_seconds,
                "warn_fraction": t.warn_fraction,
                "warn_actions": t.warn_actions,
                "breach_actions": t.breach_actions,
            }
            for t in policy.targets.all()
        ],
    }


@router.get("/calendars", response={200: list[CalendarOut], **ERRORS}, summary="Calendars")
def list_calendars(request: HttpRequest) -> list[dict[str, Any]]:
    if not can_view_sla_config(_user(request)):
        raise PermissionDenied(_("Only staff may see the SLA configuration."))
    return [calendar_out(c) for c in selectors.calendars_list()]


@router.get("/policies", response={200: list[PolicyOut], **ERRORS}, summary="Policies")
def list_policies(request: HttpRequest) -> list[dict[str, Any]]:
    if not can_view_sla_config(_user(request)):
        raise PermissionDenied(_("Only staff may see the SLA configuration."))
    return [policy_out(p) for p in selectors.policies_list()]


@router.get(
    "/report", response={200: ReportOut, **ERRORS}, by_alias=True, summary="Compliance report"
)
def report(request: HttpRequest, period: Query[ReportQuery]) -> dict[str, Any]:
    """Compliance per policy, department and agent, and the first-response and resolution
    time distributions (working hours), for the clocks started in [from, to)."""
    if not can_view_sla_report(_user(request)):
        raise PermissionDenied(_("Only supervisors and admins may see the SLA report."))
    end = period.to or timezone.now()
    start = period.from_ or end - timedelta(days=REPORT_DEFAULT_DAYS)
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationFailed(
            _("from and to need a UTC offset."), fields={"from": _("offset required")}
        )
    if not start < end or end - start > timedelta(days=REPORT_MAX_DAYS):
        raise ValidationFailed(
            _("from must be before to, at most %d days apart.") % REPORT_MAX_DAYS,
            fields={"from": _("invalid period")},
        )
    return selectors.sla_report(start=start, end=end)


@case_router.post(
    "/{number}/sla/{metric}/met",
    response={200: dict[str, SlaClockOut], **ERRORS},
    summary="Mark a clock met",
)
def meet_clock(request: HttpRequest, number: str, metric: str) -> dict[str, Any]:
    """Stop a running or paused clock as met, e.g. `solution_plan` when the plan was given."""
    user = _user(request)
    case = get_case_for_user(user, number, write=True)
    if not can_meet_sla(user, case):
        raise PermissionDenied(_("You may not change this case."))
    services.timer_meet(case=case, metric=metric, actor=user)
    return selectors.case_clocks_for(user=user, case=case)
