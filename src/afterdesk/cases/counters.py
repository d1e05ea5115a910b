"""Maintained queue counters: the only place that writes QueueCounter rows.

Each case sits in one bucket (department, owner, status). The case services call
`queue_counter_move` in the same transaction as the change that moves a case between buckets,
as their last write, so the counter row is locked only briefly. Queue tabs then add up a
handful of rows (cases.selectors.queue_counts) instead of counting the case table.

Bulk loads that bypass the services (imports, the benchmark seeder) call
`queue_counters_rebuild` afterwards.
"""

from __future__ import annotations

from typing import NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F

from afterdesk.cases.models import Case, QueueCounter
from afterdesk.core import fastsql


class Bucket(NamedTuple):
    department_id: int
    owner_id: int
    status: str


def bucket_of(case: Case) -> Bucket:
    return Bucket(case.department_id or 0, case.owner_id or 0, str(case.status))


def _add(bucket: Bucket, delta: int) -> None:
    # Every case write moves a counter: the UPDATE is written out (core.fastsql).
    updated = fastsql.execute(
        f"UPDATE {fastsql.table(QueueCounter)} SET count = count + %s"  # noqa: S608
        " WHERE department_id = %s AND owner_id = %s AND status = %s",
        [delta, bucket.department_id, bucket.owner_id, bucket.status],
    )
    if updated:
        return
    try:
        with transaction.atomic():
            QueueCounter.objects.create(
                department_id=bucket.department_id,
                owner_id=bucket.owner_id,
                status=bucket.status,
                count=delta,
            )
    except IntegrityError:
        # Another transaction created the row first: add to it.
        QueueCounter.objects.filter(
            department_id=bucket.department_id, owner_id=bucket.owner_id, status=bucket.status
        ).update(count=F("count") + delta)


def queue_counter_move(*, old: Bucket | None, new: Bucket | None) -> None:
    """Move one case from bucket `old` to `new` (None: it did not exist / no longer counts)."""
    if old == new:
        return
    # A fixed order of row locks, so two moves in opposite directions cannot deadlock.
    changes = sorted(
        [(b, d) for b, d in ((old, -1), (new, +1)) if b is not None], key=lambda c: c[0]
    )
    for bucket, delta in changes:
        _add(bucket, delta)


def queue_counters_rebuild() -> int:
    """Recompute every counter from the case table; returns the number of buckets.

    On PostgreSQL the counter table is locked first, so services that move a case meanwhile
    wait and then apply their change on top of the rebuilt numbers.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {QueueCounter._meta.db_table} IN EXCLUSIVE MODE")
        rows = (
            Case.objects.values("department_id", "owner_id", "status")
            .annotate(n=Count("id"))
            .order_by()
        )
        counters = [
            QueueCounter(
                department_id=row["department_id"] or 0,
                owner_id=row["owner_id"] or 0,
                status=row["status"],
                count=row["n"],
            )
            for row in rows
        ]
        QueueCounter.objects.all().delete()
        QueueCounter.objects.bulk_create(counters, batch_size=1000)
    return len(counters)
