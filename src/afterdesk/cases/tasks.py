"""Background work for cases."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from afterdesk.cases.choices import Status
from afterdesk.cases.errors import CaseTransitionNotAllowed
from afterdesk.cases.models import Case, CaseSettings
from afterdesk.cases.services import case_transition
from afterdesk.core.periodic import periodic

logger = logging.getLogger(__name__)
AUTO_CLOSE_BATCH = 500


@periodic(interval=timedelta(minutes=15))
@task()
def cases_auto_close() -> int:
    """Close resolved cases whose customer did not react within the auto-close window."""
    days = CaseSettings.current().auto_close_days
    if days == 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    closed = 0
    candidates = Case.objects.filter(status=Status.RESOLVED, resolved_at__lt=cutoff).order_by(
        "resolved_at"
    )[:AUTO_CLOSE_BATCH]
    for case in candidates:
        try:
            case_transition(actor=None, case=case, to=Status.CLOSED, note="auto-closed")
            closed += 1
        except CaseTransitionNotAllowed:
            # Reopened between the query and the lock: nothing to do.
            continue
    if closed:
        logger.info("Auto-closed %d resolved cases", closed)
    return closed
