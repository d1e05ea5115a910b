"""The quarantine API: supervisors and admins only, keyset pages, retry."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from afterdesk.intake.choices import InboundSource, InboundState
from afterdesk.intake.models import InboundMessage, Mailbox
from afterdesk.intake.services import inbound_process

pytestmark = pytest.mark.django_db
LIST = "/api/v1/intake/quarantine"


def _quarantined(mailbox: Mailbox, n: int, clock: Any) -> list[InboundMessage]:
    rows = []
    for i in range(n):
        clock.advance(seconds=1)
        now = timezone.now()
        rows.append(
            InboundMessage.objects.create(
                mailbox=mailbox,
                source=InboundSource.SMTP,
                message_id=f"q{i}@x",
                raw_sha256=f"{i:064d}",
                raw=f"From: a{i}@example.com\r\nSubject: s{i}\r\n\r\nbody\r\n".encode(),
                size=40,
                state=InboundState.QUARANTINED,
                reason="parse_error",
                error="boom",
                sender=f"a{i}@example.com",
                subject=f"s{i}",
                received_at=now,
                enqueued_at=now,
                updated_at=now,
            )
        )
    return rows


@pytest.mark.parametrize(
    ("persona", "status"),
    [("admin_user", 200), ("supervisor", 200), ("agent", 403), ("customer", 403)],
)
def test_only_supervisors_and_admins_see_the_quarantine(
    request: pytest.FixtureRequest, api: Any, persona: str, status: int, customer_a: Any
) -> None:
    user = customer_a.user if persona == "customer" else request.getfixturevalue(persona)
    assert api(user).get(LIST).status_code == status


def test_anonymous_is_401(api: Any) -> None:
    assert api(None).get(LIST).status_code == 401


def test_keyset_pages_newest_first_without_raw_bytes(
    api: Any, supervisor: Any, support_mailbox: Mailbox, clock: Any, django_assert_num_queries: Any
) -> None:
    rows = _quarantined(support_mailbox, 5, clock)
    client = api(supervisor)
    client.get(LIST)  # the token's first use is stamped once
    with django_assert_num_queries(2):  # the token with its user, one page
        first = client.get(LIST, {"limit": 2}).json()
    assert [item["id"] for item in first["items"]] == [rows[4].pk, rows[3].pk]
    assert first["items"][0] == {
        "id": rows[4].pk,
        "mailbox": "support@example.com",
        "source": "smtp",
        "state": "quarantined",
        "reason": "parse_error",
        "error": "boom",
        "message_id": "q4@x",
        "sender": "a4@example.com",
        "subject": "s4",
        "size": 40,
        "attempts": 0,
        "received_at": rows[4].received_at.isoformat().replace("+00:00", "Z"),
    }
    second = client.get(LIST, {"limit": 2, "cursor": first["next_cursor"]}).json()
    third = client.get(LIST, {"limit": 2, "cursor": second["next_cursor"]}).json()
    assert [i["id"] for i in second["items"]] == [rows[2].pk, rows[1].pk]
    assert [i["id"] for i in third["items"]] == [rows[0].pk] and third["next_cursor"] is None
    assert client.get(LIST, {"cursor": "garbage"}).status_code == 422


def test_retry_puts_the_message_back_to_the_worker(
    api: Any, admin_user: Any, support_mailbox: Mailbox, clock: Any, departments: Any
) -> None:
    [row] = _quarantined(support_mailbox, 1, clock)
    response = api(admin_user).post(f"{LIST}/{row.pk}/retry")
    assert response.status_code == 202
    assert response.json()["state"] == "received"
    processed = inbound_process(inbound_id=row.pk)
    assert processed is not None and processed.state == "processed"
    assert api(admin_user).post(f"{LIST}/{row.pk}/retry").status_code == 422


def test_retry_is_refused_to_agents_and_unknown_ids(
    api: Any, agent: Any, supervisor: Any, support_mailbox: Mailbox, clock: Any
) -> None:
    [row] = _quarantined(support_mailbox, 1, clock)
    assert api(agent).post(f"{LIST}/{row.pk}/retry").status_code == 403
    assert api(supervisor).post(f"{LIST}/999999/retry").status_code == 404
    row.refresh_from_db()
    assert row.state == "quarantined"
