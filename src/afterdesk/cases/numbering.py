"""Human-friendly case numbers: PREFIX-YYYYMMDD-NNNNN, unique under concurrent creation.

The day is the installation's local date (TIME_ZONE). The counter row for the day is
incremented with UPDATE … RETURNING inside the creating transaction, so the row lock (on
PostgreSQL) or the write lock (on SQLite) serialises concurrent creators; the unique index on
Case.number is the last line of defence.
"""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from afterdesk.cases.models import CaseNumberCounter


def _increment(day: date) -> int | None:
    table = CaseNumberCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last = last + 1 WHERE day = %s RETURNING last",  # noqa: S608
            [connection.ops.adapt_datefield_value(day)],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


def case_number_next(*, at: datetime) -> str:
    """Take the next number for the local day of `at`. Call inside the creating transaction."""
    day = timezone.localtime(at).date()
    sequence = _increment(day)
    if sequence is None:
        try:
            with transaction.atomic():
                CaseNumberCounter.objects.create(day=day, last=1)
            sequence = 1
        except IntegrityError:
            # Another creator made today's row first; it is locked or committed now.
            sequence = _increment(day)
            if sequence is None:  # pragma: no cover - the row exists after the conflict
                raise
    return format_case_number(day.strftime("%Y%m%d"), sequence)


def format_case_number(day: str, sequence: int) -> str:
    return f"{settings.CASE_NUMBER_PREFIX}-{day}-{sequence:05d}"
