"""Prepared statements (core.fastsql) give the same rows and instances as the ORM."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from afterdesk.accounts.models import ApiToken
from afterdesk.cases.models import Case, CaseEvent, QueueCounter
from afterdesk.core import fastsql

pytestmark = pytest.mark.django_db


def _values(obj: Model) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_insert_writes_what_the_orm_reads_back(make_case: Any) -> None:
    case = make_case()
    at = timezone.now() - timedelta(days=3)
    events = [
        CaseEvent(
            case=case,
            type="note.test",
            at=at,
            field="owner",
            old=None,
            new={"deep": [1, "二", None]},
            payload={"text": '屏幕碎了 "quoted" \\ slash', "n": 1.5},
        ),
        CaseEvent(case=case, type="note.test", at=at, by_customer=True, payload={}),
    ]
    fastsql.insert(events)

    assert events[0].pk is not None and events[1].pk == events[0].pk + 1
    assert not events[0]._state.adding and events[0]._state.db == "default"
    for event in events:
        assert _values(CaseEvent.objects.get(pk=event.pk)) == _values(event)


def test_insert_runs_pre_save_like_save(departments: Any, agent: Any) -> None:
    """auto_now_add fields are filled in, as Model.save() would."""
    before = timezone.now()
    token = ApiToken(user=agent, prefix="adk_test", digest="d" * 64)
    fastsql.insert([token])
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.created_at is not None and stored.created_at >= before
    assert stored.created_at == token.created_at


def test_insert_conflict_raises_and_writes_nothing(make_case: Any) -> None:
    case = make_case()
    clash = Case(number=case.number, kind="inquiry", channel="web", subject="x")
    before = Case.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        fastsql.insert([clash])
    assert Case.objects.count() == before
    assert clash.pk is None


def test_columns_build_equals_the_orm_instance(make_case: Any, agent: Any) -> None:
    case = make_case(amount=Decimal("1234.50"), currency="CNY", is_complex=True)
    Case.objects.filter(pk=case.pk).update(owner=agent, first_response_at=timezone.now())
    columns = fastsql.columns(Case, "c")
    rows = fastsql.fetch(
        f"SELECT {columns.sql} FROM {fastsql.table(Case)} c WHERE c.id = %s",
        [case.pk],
    )
    built = columns.build(rows[0])
    orm = Case.objects.get(pk=case.pk)
    assert isinstance(built, Case)
    assert _values(built) == _values(orm)
    assert built.amount == Decimal("1234.50") and built.is_complex is True
    assert built.first_response_at is not None and built.first_response_at.tzinfo is not None
    assert not built._state.adding


def test_columns_build_after_an_offset(make_case: Any) -> None:
    """Two models from one joined row: the second starts where the first ends."""
    case = make_case()
    event = CaseEvent.objects.filter(case=case).order_by("id").first()
    assert event is not None
    ec, cc = fastsql.columns(CaseEvent, "e"), fastsql.columns(Case, "c")
    rows = fastsql.fetch(
        f"SELECT {ec.sql}, {cc.sql} FROM {fastsql.table(CaseEvent)} e"
        f" JOIN {fastsql.table(Case)} c ON c.id = e.case_id WHERE e.id = %s",
        [event.pk],
    )
    assert _values(ec.build(rows[0])) == _values(event)
    assert _values(cc.build(rows[0], ec.width)) == _values(Case.objects.get(pk=case.pk))


def test_execute_returns_the_rows_changed(make_case: Any) -> None:
    make_case()
    counter = QueueCounter.objects.get(status="new")
    changed = fastsql.execute(
        f"UPDATE {fastsql.table(QueueCounter)} SET count = count + %s WHERE id = %s",
        [2, counter.pk],
    )
    assert changed == 1
    counter.refresh_from_db()
    assert counter.count == 3
    assert (
        fastsql.execute(
            f"UPDATE {fastsql.table(QueueCounter)} SET count = 0 WHERE id = %s",
            [-1],
        )
        == 0
    )


def test_insert_prepares_datetimes_and_json_as_django_does(make_case: Any) -> None:
    """The written-out preparations (aware datetimes in any zone, JSON lists and dicts) store
    exactly what the ORM's own `save()` stores."""
    from zoneinfo import ZoneInfo

    case = make_case()
    at = timezone.now().astimezone(ZoneInfo("Asia/Shanghai")).replace(microsecond=0)
    fast = CaseEvent(case=case, type="note.test", at=at, new=[1, "二"], payload={"k": [None]})
    orm = CaseEvent(case=case, type="note.test", at=at, new=[1, "二"], payload={"k": [None]})
    fastsql.insert([fast])
    orm.save()
    stored = fastsql.fetch(
        f"SELECT at, new, payload FROM {fastsql.table(CaseEvent)} WHERE id IN (%s, %s) ORDER BY id",
        [fast.pk, orm.pk],
    )
    assert stored[0] == stored[1]
    assert CaseEvent.objects.get(pk=fast.pk).at == at


def test_statements_go_straight_to_sqlite_unless_queries_are_logged(make_case: Any) -> None:
    """On SQLite, fetch and execute skip Django's cursor wrapper; with queries logged (DEBUG,
    the suite's query counting) they go through it and are counted."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    case = make_case()
    sql = f"SELECT number FROM {fastsql.table(Case)} WHERE id = %s AND number NOT LIKE '%%x'"
    assert fastsql.fetch(sql, [case.pk]) == [(case.number,)]
    with CaptureQueriesContext(connection) as captured:
        assert fastsql.fetch(sql, [case.pk]) == [(case.number,)]
    assert len(captured) == 1
    if connection.vendor == "sqlite":
        assert fastsql._direct(connection)


def test_direct_statements_raise_django_errors(make_case: Any) -> None:
    case = make_case()
    with pytest.raises(IntegrityError), transaction.atomic():
        fastsql.execute(f"UPDATE {fastsql.table(Case)} SET number = NULL WHERE id = %s", [case.pk])
    assert Case.objects.get(pk=case.pk).number == case.number
