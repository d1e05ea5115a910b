"""The worker's look-up of the next messages must not scan the mailbox's processed mail."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from afterdesk.intake.models import Mailbox
from afterdesk.intake.services import PROCESS_BATCH, _claimable

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite_only]


def test_the_messages_a_worker_claims_are_found_through_an_index() -> None:
    mailbox = Mailbox.objects.first()
    assert mailbox is not None
    query = _claimable(mailbox, timezone.now()).values_list("pk", "size")[:PROCESS_BATCH]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "inbound_mailbox_state_id (mailbox_id=? AND state=?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
