"""Background work of intake: processing stored messages, the outbox, IMAP fetches."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django_tasks import task

from afterdesk.core.periodic import periodic
from afterdesk.intake.imap import fetch_mailbox
from afterdesk.intake.models import Mailbox
from afterdesk.intake.outbox import outbox_send_due
from afterdesk.intake.services import inbound_process_pending, inbound_requeue_stuck

# How often the worker looks for due outbound mail (new messages and retries).
OUTBOX_INTERVAL = timedelta(seconds=10)


# New mail becomes cases before waiting tasks run (acknowledgements go out when a burst has
# been taken in): see request_processing for how a long backlog still lets them through.
INTAKE_PRIORITY = 10


@task(priority=INTAKE_PRIORITY)
def intake_process_mailbox(mailbox_id: int) -> int:
    """Process the received messages of one mailbox; returns how many."""
    return inbound_process_pending(mailbox_id=mailbox_id)


@periodic(interval=timedelta(seconds=settings.INTAKE_SWEEP_INTERVAL_SECONDS))
@task()
def intake_requeue_stuck() -> int:
    """Hand messages a dead worker left unprocessed to the worker again."""
    return inbound_requeue_stuck()


@periodic(interval=OUTBOX_INTERVAL)
@task()
def intake_send_outbox() -> dict[str, int]:
    """Send due acknowledgements, replies and notifications (retries with backoff)."""
    report = outbox_send_due()
    return {"sent": report.sent, "retried": report.retried, "failed": report.failed}


@task()
def intake_fetch_mailbox(mailbox_id: int) -> dict[str, Any]:
    """Fetch new messages of one IMAP mailbox (each mailbox in its own job)."""
    mailbox = Mailbox.objects.filter(pk=mailbox_id, is_active=True).first()
    if mailbox is None:
        return {"skipped": "inactive"}
    return fetch_mailbox(mailbox=mailbox).as_dict()
