"""The cap under concurrency: cases arriving at the same instant never push an agent past it.

PostgreSQL only: threads with their own connections and transactions, started together.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connections, transaction

from afterdesk.cases.models import Case
from afterdesk.cases.services import CaseInput, case_create
from afterdesk.customers.services import CustomerInput
from afterdesk.triage.assignment import assign_mark, assign_pick
from afterdesk.triage.cache import snapshot

THREADS = 6
CAP = 2
MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def seeded_department(django_db_blocker: Any) -> None:
    """Transactional tests may find the database emptied by an earlier one (seeded rows
    included) and leave it empty after them: make the one department these tests need."""
    from afterdesk.accounts.models import Department

    with django_db_blocker.unblock():
        Department.objects.update_or_create(
            code="customer-service",
            defaults={
                "name_en": "Customer service",
                "name_zh": "客服部",
                "handles_kinds": ["complaint", "inquiry", "dispute"],
                "position": 1,
                "is_active": True,
            },
        )


def in_threads(count: int, work: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
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
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results, errors


def case_input(i: int) -> CaseInput:
    return CaseInput(
        kind="complaint",
        channel="web",
        subject=f"Concurrent {i}",
        customer=CustomerInput(name=f"C{i}", email=f"c{i}@example.com"),
    )


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_simultaneous_creates_respect_the_cap(make_agent, clock) -> None:
    clock.set(MONDAY_10)
    make_agent("capped", max_open=CAP)

    results, errors = in_threads(
        THREADS, lambda i: case_create(actor=None, data=case_input(i)).number
    )

    assert errors == []
    owners = Counter(
        Case.objects.filter(number__in=results).values_list("owner__username", flat=True)
    )
    assert owners == {"capped": CAP, None: THREADS - CAP}


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_assignment_lock_alone_keeps_the_cap(make_agent, clock) -> None:
    """Without case creation around it (whose number counter also serialises writers): each
    thread picks an owner and holds its transaction open a moment before saving."""
    clock.set(MONDAY_10)
    make_agent("capped", max_open=CAP)
    cases = [case_create(actor=None, data=case_input(i), at=MONDAY_10) for i in range(THREADS)]
    snapshot()

    def work(i: int) -> str | None:
        case = Case.objects.select_related("customer").get(pk=cases[i].pk)
        with transaction.atomic():
            snap = snapshot()
            choice = assign_pick(
                case=case,
                snap=snap,
                department_id=case.department_id,
                product_line="",
                at=MONDAY_10,
            )
            if choice is None:
                return None
            time.sleep(0.2)  # a slow request: without the lock the others would read load 0
            Case.objects.filter(pk=case.pk).update(owner_id=choice.agent.user_id)
            assign_mark(user_id=choice.agent.user_id, at=MONDAY_10, turn=choice.turn)
            return choice.agent.username

    results, errors = in_threads(THREADS, work)

    assert errors == []
    assert Counter(results) == {"capped": CAP, None: THREADS - CAP}
    assert Case.objects.filter(owner__username="capped").count() == CAP
