"""`afterdesk demo`: a complete, back-dated installation through the real services."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Max, Min

from afterdesk.accounts.models import User
from afterdesk.cases.choices import Channel, EventType, Kind, Status
from afterdesk.cases.models import Case, CaseEvent, CaseLink, Message
from afterdesk.customers.models import Customer, Order, Product


def _load(*, cases: int = 120, customers: int = 30, **options: object) -> str:
    out = StringIO()
    call_command("demo", cases=cases, customers=customers, stdout=out, **options)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "customers": Customer.objects.count(),
        "orders": Order.objects.count(),
        "cases": Case.objects.count(),
        "messages": Message.objects.count(),
        "events": CaseEvent.objects.count(),
    }


@pytest.mark.django_db
def test_demo_loads_every_kind_channel_and_status_with_complete_histories():
    output = _load()

    assert Case.objects.count() == 120
    assert Customer.objects.count() == 30
    assert Product.objects.count() == 20
    assert set(Case.objects.values_list("kind", flat=True)) == set(Kind.values)
    assert set(Case.objects.values_list("channel", flat=True)) == set(Channel.values)
    assert set(Case.objects.values_list("status", flat=True)) == set(Status.values)
    admin = User.objects.get(username="admin")
    assert (admin.role, admin.is_staff, admin.is_superuser) == ("admin", True, True)
    assert admin.check_password("afterdesk-demo")
    assert User.objects.get(username="shop-sync").role == "integration"
    created = CaseEvent.objects.filter(type=EventType.CREATED)
    assert created.count() == 120
    assert set(created.values_list("case_id", flat=True)) == set(
        Case.objects.values_list("pk", flat=True)
    )
    assert not Case.objects.filter(status=Status.CLOSED, closed_at__isnull=True).exists()
    assert not Case.objects.filter(status=Status.RESOLVED, resolved_at__isnull=True).exists()
    assert Message.objects.filter(from_customer=True, author__isnull=True).exists()
    assert Message.objects.filter(internal=True).exists()
    assert Message.objects.filter(body__contains="您好").exists()
    assert Message.objects.filter(body__contains="Best regards").exists()
    assert CaseLink.objects.filter(kind="duplicate_of").exists()
    assert Case.objects.filter(kind="repair").exclude(order_ref="").exists()
    assert "admin / afterdesk-demo (administrator)" in output
    assert "API docs at /api/v1/docs" in output


@pytest.mark.django_db
def test_demo_history_spans_most_of_a_year_and_events_follow_creation():
    _load(cases=60, customers=20)

    span = Case.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    assert span["last"] - span["first"] > timedelta(days=150)
    for case in Case.objects.all():
        times = list(case.events.values_list("at", flat=True))
        assert times[0] == case.created_at
        assert times == sorted(times)


@pytest.mark.django_db
def test_if_empty_loads_nothing_into_a_database_that_has_cases(make_case):
    make_case()
    before = _counts()

    output = _load(if_empty=True)

    assert _counts() == before
    assert "already exists" in output


@pytest.mark.django_db
def test_refuses_a_database_that_has_cases_without_force(make_case):
    make_case()
    before = _counts()

    with pytest.raises(CommandError, match="--force"):
        _load()

    assert _counts() == before
