"""Background work of the SLA engine: the sweep, notifications, recomputation."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from afterdesk.accounts.models import User
from afterdesk.cases.choices import EventType
from afterdesk.cases.models import CaseEvent
from afterdesk.core.periodic import periodic
from afterdesk.sla import services, sweep
from afterdesk.sla.choices import Metric
from afterdesk.sla.models import BusinessCalendar

logger = logging.getLogger(__name__)


@periodic(interval=timedelta(seconds=60))
@task()
def sla_sweep() -> dict[str, int]:
    """Warn about clocks close to their due time, breach and escalate the overdue ones."""
    result = sweep.timers_sweep()
    return {"breached": result.breached, "warned": result.warned}


def _message(event: CaseEvent, user: User) -> EmailMessage:
    case = event.case
    due = datetime.fromisoformat(event.payload["due_at"])
    local_due = timezone.localtime(due).strftime("%Y-%m-%d %H:%M")
    metric = Metric(event.payload["metric"]).label
    with translation.override(user.language or settings.LANGUAGE_CODE):
        if event.type == EventType.SLA_BREACHED:
            subject = _("SLA breached: %(metric)s of %(number)s was due %(due)s")
        else:
            subject = _("SLA warning: %(metric)s of %(number)s is due %(due)s")
        values = {"metric": str(metric), "number": case.number, "due": local_due}
        body = "\n".join(
            [
                subject % values,
                "",
                _("Case: %(number)s — %(subject)s")
                % {"number": case.number, "subject": case.subject},
                _("Priority: %s") % case.get_priority_display(),
                _("Status: %s") % case.get_status_display(),
                "",
                settings.SITE_URL + "/",
            ]
        )
        subject = subject % values
    return EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email]
    )


@task()
def sla_notify(event_ids: list[int]) -> int:
    """E-mail the users named in `sla.warning` / `sla.breached` events; returns how many."""
    events = list(CaseEvent.objects.filter(pk__in=event_ids).select_related("case").order_by("pk"))
    names = {name for event in events for name in event.payload.get("notify", [])}
    users = {u.username: u for u in User.objects.filter(username__in=names, is_active=True)}
    messages = [
        _message(event, users[name])
        for event in events
        for name in event.payload.get("notify", [])
        if name in users and users[name].email
    ]
    if messages:
        get_connection().send_messages(messages)
    return len(messages)


@task()
def sla_recompute(calendar_id: int) -> int:
    """Move the live clocks of a calendar to its current version."""
    calendar = BusinessCalendar.objects.filter(pk=calendar_id).first()
    if calendar is None:
        return 0
    return services.timers_recompute_calendar(calendar=calendar)


@task()
def sla_rematch(department_id: int | None = None) -> int:
    """Re-match the cases with live clocks against the policies (after a policy change)."""
    return services.timers_rematch(department_id=department_id)
