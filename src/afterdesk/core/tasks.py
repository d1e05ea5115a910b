"""Housekeeping sweeps."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from afterdesk.core.periodic import periodic
from afterdesk.core.ratelimit import rate_limit_prune


@periodic(interval=timedelta(minutes=10))
@task()
def core_prune_rate_limits() -> int:
    """Drop rate-limit counters of past windows."""
    return rate_limit_prune()
