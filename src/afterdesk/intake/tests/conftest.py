"""Fixtures of the intake tests: the support mailbox, seeded cases whose acknowledgements have
known Message-IDs (the corpus replies to them), and storing + processing a raw message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from afterdesk.cases.models import Case
from afterdesk.cases.services import case_transition
from afterdesk.intake.choices import InboundSource, InboundState, OutboundKind
from afterdesk.intake.models import InboundMessage, Mailbox, OutboundMessage
from afterdesk.intake.services import inbound_process, inbound_store


@pytest.fixture
def support_mailbox(db: None) -> Mailbox:
    """support@example.com, made by the data migration."""
    return Mailbox.objects.get(address="support@example.com")


def ack_id(number: str) -> str:
    return f"{number}.ack@example.com"


@pytest.fixture
def seeded(
    clock: Any, customer_a: Any, customer_b: Any, make_case: Any, support_mailbox: Mailbox
) -> dict[str, Case]:
    """Cases AS-20261123-00001 (customer a), -00002 (b), -00003 (a, cancelled) and -00004 (b,
    resolved), each acknowledged with Message-ID <number.ack@example.com>; and an earlier
    e-mail of customer a, <first-a@example.com>, that became case 1."""
    cases = [
        make_case(customer=customer_a, channel="email"),
        make_case(customer=customer_b, channel="email"),
        make_case(customer=customer_a, channel="email", subject="Old issue"),
        make_case(customer=customer_b, channel="email", subject="Fixed?"),
    ]
    case_transition(actor=None, case=cases[2], to="cancelled")
    case_transition(actor=None, case=cases[3], to="resolved")
    for case in cases:
        OutboundMessage.objects.filter(case=case, kind=OutboundKind.ACK).update(
            message_id=ack_id(case.number)
        )
    now = timezone.now()
    InboundMessage.objects.create(
        mailbox=support_mailbox,
        source=InboundSource.SMTP,
        message_id="first-a@example.com",
        raw_sha256="0" * 64,
        raw=b"",
        size=0,
        state=InboundState.PROCESSED,
        sender="a@example.com",
        case=cases[0],
        received_at=now,
        enqueued_at=now,
        updated_at=now,
        processed_at=now,
    )
    numbers = {case.number: case for case in cases}
    assert sorted(numbers) == [f"AS-20261123-0000{i}" for i in range(1, 5)]
    return numbers


@pytest.fixture
def ingest(support_mailbox: Mailbox) -> Callable[..., InboundMessage]:
    """ingest(raw) -> the stored message after processing (as the worker would)."""

    def run(raw: bytes, mailbox: Mailbox | None = None) -> InboundMessage:
        stored = inbound_store(mailbox=mailbox or support_mailbox, raw=raw, source="smtp")
        row = inbound_process(inbound_id=stored.message.pk)
        assert row is not None
        return InboundMessage.objects.select_related("case", "case__customer").get(pk=row.pk)

    return run
