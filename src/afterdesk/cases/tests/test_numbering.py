"""Case numbers: AS-YYYYMMDD-NNNNN per local day, unique and gap-free under concurrent creation."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections

from afterdesk.cases.models import Case, CaseNumberCounter
from afterdesk.cases.numbering import case_number_next, format_case_number
from afterdesk.cases.services import CaseInput, case_create
from afterdesk.customers.models import ContactPoint, Customer
from afterdesk.customers.services import CustomerInput, customer_resolve

ON_POSTGRES = connection.vendor == "postgresql"
ON_SQLITE = connection.vendor == "sqlite"
CI_ON_POSTGRES = os.environ.get("CI") == "true" and os.environ.get("DATABASE_URL", "").startswith(
    "postgres"
)

THREADS = 16
CASES_PER_THREAD = 10


def _input(email: str) -> CaseInput:
    return CaseInput(
        kind="complaint",
        channel="web",
        subject="Numbering under load",
        customer=CustomerInput(name="Load", email=email),
    )


def _sequence(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


# --- Sequential numbering -----------------------------------------------------------------------


@pytest.mark.django_db
def test_numbers_are_sequential_within_a_day(clock, departments):
    numbers = [case_create(actor=None, data=_input("a@example.com")).number for _ in range(3)]

    # 09:00 UTC is 17:00 the same day in Asia/Shanghai.
    assert numbers == ["AS-20261123-00001", "AS-20261123-00002", "AS-20261123-00003"]
    assert CaseNumberCounter.objects.get(day=date(2026, 11, 23)).last == 3


@pytest.mark.django_db
def test_a_new_local_day_restarts_at_one(clock, departments):
    # 15:59:59 UTC is 23:59:59 in Shanghai; one second later it is the next local day.
    clock.set(datetime(2026, 11, 23, 15, 59, 59, tzinfo=UTC))
    late = [case_create(actor=None, data=_input("a@example.com")).number for _ in range(2)]
    clock.set(datetime(2026, 11, 23, 16, 0, 0, tzinfo=UTC))
    next_day = [case_create(actor=None, data=_input("a@example.com")).number for _ in range(2)]

    assert late == ["AS-20261123-00001", "AS-20261123-00002"]
    assert next_day == ["AS-20261124-00001", "AS-20261124-00002"]
    assert dict(CaseNumberCounter.objects.values_list("day", "last")) == {
        date(2026, 11, 23): 2,
        date(2026, 11, 24): 2,
    }


@pytest.mark.django_db
def test_case_number_next_uses_the_local_date_of_at():
    assert case_number_next(at=datetime(2026, 11, 23, 17, 0, tzinfo=UTC)) == "AS-20261124-00001"
    assert case_number_next(at=datetime(2026, 11, 23, 15, 0, tzinfo=UTC)) == "AS-20261123-00001"
    assert case_number_next(at=datetime(2026, 11, 24, 1, 0, tzinfo=UTC)) == "AS-20261124-00002"


@pytest.mark.django_db
def test_a_day_past_99999_cases_keeps_counting():
    CaseNumberCounter.objects.create(day=date(2026, 11, 23), last=99_999)

    assert case_number_next(at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC)) == "AS-20261123-100000"


def test_format_case_number_pads_to_five_digits(settings):
    settings.CASE_NUMBER_PREFIX = "RMA"

    assert format_case_number("20261123", 42) == "RMA-20261123-00042"


# --- Concurrency --------------------------------------------------------------------------------


def _in_threads(count: int, work: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run work(i) in `count` threads released together by a barrier; (results, errors)."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            # Each thread has its own connection; leave none behind for the test database.
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results, errors


def _create_cases_concurrently() -> list[str]:
    def work(i: int) -> list[str]:
        return [
            case_create(actor=None, data=_input(f"load{i}@example.com")).number
            for _ in range(CASES_PER_THREAD)
        ]

    results, errors = _in_threads(THREADS, work)
    assert errors == []
    return [number for numbers in results for number in numbers]


def _assert_contiguous(numbers: list[str]) -> None:
    total = THREADS * CASES_PER_THREAD
    assert len(numbers) == total
    assert len(set(numbers)) == total
    assert {n.rsplit("-", 1)[0] for n in numbers} == {"AS-20261123"}
    assert sorted(_sequence(n) for n in numbers) == list(range(1, total + 1))


def _resolve_concurrently() -> list[int]:
    # Differently written, the same address: one customer, one contact point.
    spellings = ["New.Person@Example.com", "new.person@example.com", " NEW.PERSON@EXAMPLE.COM "]

    def work(i: int) -> int:
        data = CustomerInput(name=f"Person {i}", email=spellings[i % len(spellings)])
        return customer_resolve(data=data).pk

    results, errors = _in_threads(8, work)
    assert errors == []
    return results


def test_ci_on_postgres_runs_the_postgres_tests():
    """The skip below must never hide the concurrency tests in the PostgreSQL CI run."""
    if CI_ON_POSTGRES:
        assert ON_POSTGRES


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_creation_gives_distinct_contiguous_numbers_on_postgres(clock):
    numbers = _create_cases_concurrently()

    _assert_contiguous(numbers)
    assert Case.objects.count() == THREADS * CASES_PER_THREAD
    assert CaseNumberCounter.objects.get(day=date(2026, 11, 23)).last == THREADS * CASES_PER_THREAD
    assert Customer.objects.filter(email__startswith="load").count() == THREADS


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_resolve_of_a_new_email_makes_one_customer_on_postgres():
    pks = _resolve_concurrently()

    customer = Customer.objects.get()
    assert set(pks) == {customer.pk}
    assert list(ContactPoint.objects.values_list("customer_id", "kind", "normalized")) == [
        (customer.pk, "email", "new.person@example.com")
    ]


# The SQLite test database is in memory with a shared cache, where concurrent writers fail at
# once with "database table is locked" instead of waiting (no busy timeout applies to
# shared-cache table locks). Installations use a file, so the SQLite variants point the
# default connection at a migrated file for the duration of the test; every thread opens its
# own connection to it with the production options (WAL, IMMEDIATE transactions, timeout).
# The test's own thread never touches the file: its connection stays on the in-memory database.
@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory, django_db_blocker: Any) -> Path:
    """A migrated SQLite file, made once and copied by each test that needs one."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    with django_db_blocker.unblock(), _default_database_on(path, migrate=True):
        pass
    return path


@contextmanager
def _default_database_on(path: Path, *, migrate: bool = False) -> Iterator[None]:
    settings_dict = connections.settings[DEFAULT_DB_ALIAS]
    assert settings_dict is connection.settings_dict
    original = settings_dict["NAME"]
    settings_dict["NAME"] = str(path)
    try:
        if migrate:
            # In a thread: this thread's connection stays on the in-memory test database.
            _, errors = _in_threads(1, lambda i: call_command("migrate", verbosity=0))
            assert errors == []
        yield
    finally:
        settings_dict["NAME"] = original


@pytest.fixture
def sqlite_file(migrated_sqlite: Path, tmp_path: Path) -> Iterator[None]:
    """Point the default database at a fresh copy of the migrated file during the test."""
    path = tmp_path / "db.sqlite3"
    shutil.copyfile(migrated_sqlite, path)
    with _default_database_on(path):
        yield


def _on_file(query: Callable[[], Any]) -> Any:
    results, errors = _in_threads(1, lambda i: query())
    assert errors == []
    return results[0]


@pytest.mark.sqlite_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_creation_gives_distinct_contiguous_numbers_on_sqlite_file(clock, sqlite_file):
    numbers = _create_cases_concurrently()
    stored = _on_file(lambda: sorted(Case.objects.values_list("number", flat=True)))
    counter = _on_file(lambda: CaseNumberCounter.objects.get(day=date(2026, 11, 23)).last)

    _assert_contiguous(numbers)
    assert stored == sorted(numbers)
    assert counter == THREADS * CASES_PER_THREAD


@pytest.mark.sqlite_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_resolve_of_a_new_email_makes_one_customer_on_sqlite_file(sqlite_file):
    pks = _resolve_concurrently()
    customers = _on_file(lambda: list(Customer.objects.values_list("pk", flat=True)))
    contacts = _on_file(
        lambda: list(ContactPoint.objects.values_list("customer_id", "kind", "normalized"))
    )

    assert len(customers) == 1
    assert set(pks) == set(customers)
    assert contacts == [(customers[0], "email", "new.person@example.com")]
