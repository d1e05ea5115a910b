"""Fixed-window rate limits in the database, and the client address behind proxies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import RequestFactory

from afterdesk.core import ratelimit
from afterdesk.core.models import RateLimitCounter
from afterdesk.core.ratelimit import client_address, rate_limit_hit, rate_limit_prune


class FrozenNow:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> FrozenNow:
    """timezone.now() as afterdesk.core.ratelimit sees it, at 10:20:30 into a minute."""
    frozen = FrozenNow(datetime(2026, 11, 23, 10, 20, 30, 250_000, tzinfo=UTC))
    monkeypatch.setattr(ratelimit.timezone, "now", frozen)
    return frozen


def _hits(count: int, *, scope: str = "track", key: str = "203.0.113.7", limit: int = 3):
    return [rate_limit_hit(scope=scope, key=key, limit=limit) for _ in range(count)]


@pytest.mark.django_db
def test_allows_limit_hits_then_refuses(now):
    assert _hits(5, limit=3) == [False, False, False, True, True]
    assert list(RateLimitCounter.objects.values_list("window", "hits")) == [
        (datetime(2026, 11, 23, 10, 20, tzinfo=UTC), 5)
    ]


@pytest.mark.django_db
def test_a_limit_of_one(now):
    assert _hits(2, limit=1) == [False, True]


@pytest.mark.django_db
def test_keys_and_scopes_are_independent(now):
    assert _hits(4, key="203.0.113.7") == [False, False, False, True]

    assert _hits(3, key="198.51.100.1") == [False, False, False]
    assert _hits(1, scope="login", key="203.0.113.7") == [False]
    assert RateLimitCounter.objects.count() == 3


@pytest.mark.django_db
def test_the_key_is_stored_hashed(now):
    _hits(1, key="203.0.113.7")

    [stored] = RateLimitCounter.objects.values_list("key", flat=True)
    assert "203.0.113.7" not in stored
    assert len(stored) == 40


@pytest.mark.django_db
def test_the_window_is_the_calendar_minute(now):
    assert _hits(3) == [False, False, False]

    now.now = datetime(2026, 11, 23, 10, 20, 59, 999_999, tzinfo=UTC)
    assert _hits(1) == [True]

    now.now = datetime(2026, 11, 23, 10, 21, 0, tzinfo=UTC)
    assert _hits(4) == [False, False, False, True]
    assert list(RateLimitCounter.objects.order_by("window").values_list("hits", flat=True)) == [
        4,
        4,
    ]


@pytest.mark.django_db
def test_prune_drops_only_old_windows(now):
    _hits(1)
    now.now += timedelta(minutes=11)
    _hits(1)

    assert rate_limit_prune() == 1

    assert list(RateLimitCounter.objects.values_list("window", flat=True)) == [
        datetime(2026, 11, 23, 10, 31, tzinfo=UTC)
    ]


# --- client_address -----------------------------------------------------------------------------


def _request(remote: str = "10.0.0.2", forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/api/v1/track", **extra)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "address"),
    [
        # No trusted proxy: X-Forwarded-For is whatever the client wrote; ignore it.
        (0, None, "10.0.0.2"),
        (0, "6.6.6.6", "10.0.0.2"),
        # One proxy appends the address it saw; anything before it is the client's claim.
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),
        (1, " 6.6.6.6 ,203.0.113.7 ", "203.0.113.7"),
        # Two proxies: the entry the outer proxy appended.
        (2, "6.6.6.6, 203.0.113.7, 10.0.0.1", "203.0.113.7"),
        (2, "203.0.113.7, 10.0.0.1", "203.0.113.7"),
        # Fewer entries than trusted proxies: the header cannot be trusted.
        (2, "203.0.113.7", "10.0.0.2"),
        (1, "", "10.0.0.2"),
        (1, None, "10.0.0.2"),
        (1, " , ", "10.0.0.2"),
    ],
)
def test_client_address_honours_trusted_proxy_count(settings, proxies, forwarded, address):
    settings.TRUSTED_PROXY_COUNT = proxies

    assert client_address(_request(forwarded=forwarded)) == address


def test_client_address_without_remote_addr(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = _request()
    del request.META["REMOTE_ADDR"]

    assert client_address(request) == "unknown"
