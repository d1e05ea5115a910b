"""Background work of the RMA app: the receipt auto-confirmation sweep."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from afterdesk.core.periodic import periodic
from afterdesk.rma.services import rma_auto_confirm_due

# The receipt-confirmation clock is counted in hours; a five-minute sweep is close enough.
AUTO_CONFIRM_INTERVAL = timedelta(minutes=5)


@periodic(interval=AUTO_CONFIRM_INTERVAL)
@task()
def rma_auto_confirm() -> int:
    """Confirm receipt of delivered RMAs whose confirmation window ran out (R11); returns how
    many. The window is the SLA receipt-confirmation due time, else the policy's days."""
    return rma_auto_confirm_due()
