"""Periodic sweeps run by the background worker (SLA, surveys, auto-close, …).

Apps register a task with an interval; every worker calls `periodic_enqueue_due()` every few
seconds. A sweep is enqueued once per interval across all workers on all machines, because
only one conditional UPDATE of its PeriodicJob row can win.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from afterdesk.core.models import PeriodicJob

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    task: Any  # a django_tasks Task
    interval: timedelta


_REGISTRY: dict[str, Periodic] = {}


def periodic(*, interval: timedelta) -> Any:
    """Decorator for a django_tasks task: run it every `interval` in the worker."""

    def register(task: Any) -> Any:
        name = f"{task.func.__module__}.{task.func.__name__}"
        _REGISTRY[name] = Periodic(name=name, task=task, interval=interval)
        return task

    return register


def registered() -> list[Periodic]:
    return sorted(_REGISTRY.values(), key=lambda p: p.name)


def _claim(job: Periodic, now: datetime) -> bool:
    """Move the job's next run forward if it is due; True if this caller won."""
    won = PeriodicJob.objects.filter(name=job.name, next_run_at__lte=now).update(
        next_run_at=now + job.interval, last_enqueued_at=now
    )
    if won:
        return True
    try:
        with transaction.atomic():
            PeriodicJob.objects.create(
                name=job.name, next_run_at=now + job.interval, last_enqueued_at=now
            )
        return True
    except IntegrityError:
        return False


def periodic_enqueue_due(*, now: datetime | None = None) -> list[str]:
    """Enqueue every registered sweep that is due; returns the names enqueued."""
    now = now or timezone.now()
    enqueued = []
    for job in registered():
        with transaction.atomic():
            if _claim(job, now):
                job.task.enqueue()
                enqueued.append(job.name)
    if enqueued:
        logger.info("Enqueued periodic sweeps: %s", ", ".join(enqueued))
    return enqueued
