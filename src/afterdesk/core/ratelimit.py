"""Fixed-window rate limits shared by every process of the installation.

Counters live in the database (one row per key and minute, incremented atomically with
UPDATE … SET hits = hits + 1), so limits hold across web processes and machines without
requiring Redis. Old windows are swept by the worker.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from afterdesk.core.models import RateLimitCounter

WINDOW = timedelta(minutes=1)


def client_address(request: HttpRequest) -> str:
    """The client's address; X-Forwarded-For only as far as TRUSTED_PROXY_COUNT allows."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def rate_limit_hit(*, scope: str, key: str, limit: int) -> bool:
    """Count one hit for (scope, key) in the current minute; True if over `limit`."""
    now = timezone.now()
    window = now.replace(second=0, microsecond=0)
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:40]
    with transaction.atomic():
        updated = RateLimitCounter.objects.filter(key=digest, window=window).update(
            hits=F("hits") + 1
        )
        if not updated:
            try:
                with transaction.atomic():
                    RateLimitCounter.objects.create(key=digest, window=window, hits=1)
            except IntegrityError:
                RateLimitCounter.objects.filter(key=digest, window=window).update(
                    hits=F("hits") + 1
                )
        hits = (
            RateLimitCounter.objects.filter(key=digest, window=window)
            .values_list("hits", flat=True)
            .first()
        )
    return (hits or 0) > limit


def rate_limit_prune(*, before: timedelta = timedelta(minutes=10)) -> int:
    """Delete counters of windows that ended long ago."""
    deleted, _ = RateLimitCounter.objects.filter(window__lt=timezone.now() - before).delete()
    return deleted
