from __future__ import annotations

from django.db import models


class PeriodicJob(models.Model):
    """When a periodic sweep is next due. Any number of workers share one schedule: the
    worker whose conditional UPDATE moves `next_run_at` forward is the one that enqueues it."""

    name = models.CharField(max_length=100, primary_key=True)
    next_run_at = models.DateTimeField()
    last_enqueued_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class RateLimitCounter(models.Model):
    """Hits of one client key in one one-minute window (see core.ratelimit)."""

    key = models.CharField(max_length=40)
    window = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window"], name="uniq_ratelimit_window")
        ]
        indexes = [models.Index(fields=["window"], name="ratelimit_window")]

    def __str__(self) -> str:
        return f"{self.key}@{self.window:%H:%M} = {self.hits}"
