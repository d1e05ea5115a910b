"""The worker's look-up of the next message must not scan the mailbox's processed mail."""

from __future__ import annotations

import pytest
from django.db import connection

from afterdesk.intake.choices import InboundState
from afterdesk.intake.models import InboundMessage, Mailbox

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite_only]


def test_next_received_message_of_a_mailbox_is_found_through_an_index() -> None:
    mailbox = Mailbox.objects.first()
    assert mailbox is not None
    query = (
        InboundMessage.objects.filter(mailbox=mailbox, state=InboundState.RECEIVED)
        .order_by("id")
        .values("id")[:1]
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "inbound_mailbox_state_id (mailbox_id=? AND state=?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
