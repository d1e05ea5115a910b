"""Mail intake services: durable storing, exactly-once processing, recovery, loop protection,
and what the case services queue (acknowledgements, replies, policy windows)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import OperationalError
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from afterdesk.cases.models import Case, Message
from afterdesk.cases.services import CaseInput, case_add_message, case_create
from afterdesk.customers.models import Product
from afterdesk.customers.services import CustomerInput, OrderLineInput, order_import
from afterdesk.intake import services
from afterdesk.intake.choices import InboundState, QuarantineReason
from afterdesk.intake.errors import MessageTooLarge, RetryNotAllowed
from afterdesk.intake.models import InboundMessage, Mailbox, OutboundMessage, PolicyCheck
from afterdesk.intake.outbox import outbox_send_due
from afterdesk.intake.services import (
    inbound_process,
    inbound_process_pending,
    inbound_requeue_stuck,
    inbound_retry,
    inbound_store,
)

pytestmark = pytest.mark.django_db


def email(
    sender: str = "dora@example.com", subject: str = "Kettle", mid: str = "k1@x", **headers: str
) -> bytes:
    extra = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    return (
        f"From: {sender}\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <{mid}>\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "The kettle leaks.\r\n"
    ).encode()


# --- storing --------------------------------------------------------------------------------


def test_store_keeps_the_raw_bytes_and_queues_one_job_per_mailbox(
    support_mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    raw = email()
    with django_capture_on_commit_callbacks(execute=True):
        result = inbound_store(
            mailbox=support_mailbox, raw=raw, source="smtp", recipients=["support@example.com"]
        )
        inbound_store(mailbox=support_mailbox, raw=email(mid="k2@x"), source="smtp")
    row = InboundMessage.objects.get(message_id="k1@x")
    assert result.created and result.message.pk == row.pk
    assert bytes(row.raw) == raw and row.size == len(raw)
    assert (row.state, row.envelope_to) == ("received", "support@example.com")
    # Two messages, one job: it processes every received message of the mailbox.
    [job] = DBTaskResult.objects.all()
    assert job.task_path == "afterdesk.intake.tasks.intake_process_mailbox"
    assert job.args_kwargs == {"args": [support_mailbox.pk], "kwargs": {}}

    assert inbound_process_pending(mailbox_id=support_mailbox.pk) == 2
    assert set(InboundMessage.objects.values_list("state", flat=True)) == {"processed"}
    support_mailbox.refresh_from_db()
    assert not support_mailbox.processing_requested
    with django_capture_on_commit_callbacks(execute=True):
        inbound_store(mailbox=support_mailbox, raw=email(mid="k3@x"), source="smtp")
    assert DBTaskResult.objects.count() == 2  # the job ran, so a new message queues another


def test_while_a_job_is_queued_storing_writes_the_message_only(
    support_mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with django_capture_on_commit_callbacks(execute=True):
        inbound_store(mailbox=support_mailbox, raw=email(mid="q1@x"), source="smtp")
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        inbound_store(mailbox=support_mailbox, raw=email(mid="q2@x"), source="smtp")
    writes = [
        q["sql"] for q in queries if q["sql"].lstrip().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert len(writes) == 1 and "intake_inboundmessage" in writes[0]
    assert DBTaskResult.objects.count() == 1


def test_a_long_backlog_is_processed_in_several_jobs(
    support_mailbox: Mailbox, departments: Any, django_capture_on_commit_callbacks: Any
) -> None:
    for n in range(5):
        inbound_store(
            mailbox=support_mailbox,
            raw=email(sender=f"s{n}@example.com", mid=f"b{n}@x"),
            source="smtp",
        )
    DBTaskResult.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert inbound_process_pending(mailbox_id=support_mailbox.pk, limit=3) == 3
    assert DBTaskResult.objects.count() == 1
    assert inbound_process_pending(mailbox_id=support_mailbox.pk, limit=3) == 2
    assert Case.objects.count() == 5


def test_intake_jobs_go_before_waiting_tasks_until_a_backlog_runs_long(
    support_mailbox: Mailbox, departments: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from afterdesk.intake.tasks import INTAKE_PRIORITY, intake_send_outbox

    intake_send_outbox.enqueue()
    with django_capture_on_commit_callbacks(execute=True):
        _store_many(support_mailbox, 5)
    [job] = DBTaskResult.objects.filter(task_path__endswith="intake_process_mailbox")
    assert job.priority == INTAKE_PRIORITY
    assert DBTaskResult.objects.ready().first() == job  # the outbox waits

    job.delete()  # as if it ran
    with django_capture_on_commit_callbacks(execute=True):
        assert inbound_process_pending(mailbox_id=support_mailbox.pk, limit=3) == 3
    [follow_up] = DBTaskResult.objects.filter(task_path__endswith="intake_process_mailbox")
    assert follow_up.priority == 0
    # The backlog took long: the outbox, waiting since before it, goes first.
    assert DBTaskResult.objects.ready().first().task_path.endswith("intake_send_outbox")  # type: ignore[union-attr]


def test_store_deduplicates_by_message_id_then_by_bytes(support_mailbox: Mailbox) -> None:
    first = inbound_store(mailbox=support_mailbox, raw=email(), source="smtp")
    resent = inbound_store(
        mailbox=support_mailbox, raw=b"Received: by relay\r\n" + email(), source="smtp"
    )
    assert first.created and not resent.created and resent.message.pk == first.message.pk

    no_id = b"From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n"
    assert inbound_store(mailbox=support_mailbox, raw=no_id, source="smtp").created
    assert not inbound_store(mailbox=support_mailbox, raw=no_id, source="smtp").created
    assert inbound_store(mailbox=support_mailbox, raw=no_id + b"!", source="smtp").created

    other = Mailbox.objects.create(address="sales@example.com", kind="smtp")
    assert inbound_store(mailbox=other, raw=email(), source="smtp").created
    assert InboundMessage.objects.count() == 4


@override_settings(INTAKE_MAX_MESSAGE_BYTES=1024)
def test_store_refuses_a_message_over_the_limit(support_mailbox: Mailbox) -> None:
    with pytest.raises(MessageTooLarge):
        inbound_store(mailbox=support_mailbox, raw=b"x" * 1025, source="smtp")
    assert not InboundMessage.objects.exists()


# --- processing -----------------------------------------------------------------------------


def test_processing_makes_one_case_and_an_acknowledgement(
    support_mailbox: Mailbox, departments: Any
) -> None:
    row = inbound_store(mailbox=support_mailbox, raw=email(), source="smtp").message
    processed = inbound_process(inbound_id=row.pk)
    assert processed is not None and processed.state == InboundState.PROCESSED
    case = Case.objects.get()
    assert (case.channel, case.kind, case.subject) == ("email", "complaint", "Kettle")
    assert case.customer.email == "dora@example.com"
    [ack] = OutboundMessage.objects.all()
    assert (ack.kind, ack.to_email, ack.sequence) == ("ack", "dora@example.com", 1)

    assert inbound_process(inbound_id=row.pk).state == "processed"  # type: ignore[union-attr]
    assert Case.objects.count() == 1 and OutboundMessage.objects.count() == 1


def test_the_acknowledgement_threads_and_the_answer_to_it_joins_the_case(
    support_mailbox: Mailbox, departments: Any, ingest: Any
) -> None:
    first = ingest(email(mid="start@example.com"))
    outbox_send_due()
    [ack] = mail.outbox
    assert ack.extra_headers["In-Reply-To"] == "<start@example.com>"
    assert ack.extra_headers["Auto-Submitted"] == "auto-replied"
    ours = ack.extra_headers["Message-ID"]

    answer = ingest(
        email(
            subject="Re: " + ack.subject,
            mid="answer@example.com",
            In_Reply_To=ours,
            References=f"<start@example.com> {ours}",
        )
    )
    assert answer.state == "processed" and answer.case_id == first.case_id
    assert answer.case_message.body == "The kettle leaks."
    assert Case.objects.count() == 1


def test_a_staff_reply_is_mailed_in_the_thread(
    support_mailbox: Mailbox, departments: Any, ingest: Any, agent: Any
) -> None:
    first = ingest(email(mid="start@example.com"))
    case_add_message(actor=agent, case=first.case, body="Please send a photo.")
    case_add_message(actor=agent, case=first.case, body="Internal: check stock.", internal=True)
    outbox_send_due()
    [reply] = [m for m in mail.outbox if "Please send a photo." in m.body]
    assert len(mail.outbox) == 2
    assert reply.subject == f"Re: [{first.case.number}] Kettle"
    assert "Auto-Submitted" not in reply.extra_headers
    assert reply.extra_headers["In-Reply-To"] == OutboundMessage.objects.get(
        kind="ack"
    ).message_id.join("<>")
    assert "<start@example.com>" in reply.extra_headers["References"]
    assert "check stock" not in reply.body


def test_imported_history_is_neither_acknowledged_nor_mailed(departments: Any, agent: Any) -> None:
    past = timezone.now() - timedelta(days=40)
    case = case_create(
        actor=None,
        data=CaseInput(
            kind="inquiry",
            channel="phone",
            subject="Old",
            customer=CustomerInput(name="Old", email="old@example.com"),
        ),
        at=past,
    )
    case_add_message(actor=agent, case=case, body="Old answer", at=past)
    assert not OutboundMessage.objects.exists() and not PolicyCheck.objects.exists()


def test_phone_cases_are_acknowledged_by_email_when_there_is_an_address(departments: Any) -> None:
    with_email = case_create(
        actor=None,
        data=CaseInput(
            kind="inquiry",
            channel="phone",
            subject="Call",
            customer=CustomerInput(name="P", email="p@example.com", phone="13800000001"),
        ),
    )
    phone_only = case_create(
        actor=None,
        data=CaseInput(
            kind="inquiry",
            channel="phone",
            subject="Call",
            customer=CustomerInput(name="Q", phone="13800000002"),
        ),
    )
    assert OutboundMessage.objects.filter(case=with_email, kind="ack").count() == 1
    assert not OutboundMessage.objects.filter(case=phone_only).exists()


@pytest.mark.parametrize(
    "address", ["noreply@shop.example", "MAILER-DAEMON@x.example", "support@example.com"]
)
def test_no_acknowledgement_to_daemons_or_ourselves(departments: Any, address: str) -> None:
    case_create(
        actor=None,
        data=CaseInput(
            kind="inquiry",
            channel="web",
            subject="x",
            customer=CustomerInput(name="x", email=address),
        ),
    )
    assert not OutboundMessage.objects.exists()


@override_settings(INTAKE_ACK_MAX_PER_HOUR=2)
def test_acknowledgements_per_address_are_capped_when_sent(departments: Any) -> None:
    for _ in range(4):
        case_create(
            actor=None,
            data=CaseInput(
                kind="inquiry",
                channel="web",
                subject="x",
                customer=CustomerInput(name="x", email="loop@example.com"),
            ),
        )
    assert Case.objects.count() == 4
    assert OutboundMessage.objects.filter(kind="ack").count() == 4
    report = outbox_send_due()
    assert (report.sent, report.suppressed) == (2, 2)
    assert len(mail.outbox) == 2
    assert OutboundMessage.objects.filter(state="suppressed").count() == 2


@override_settings(INTAKE_ACK_MAX_PER_HOUR=1)
def test_the_acknowledgement_cap_ignores_case_and_reads_its_index(departments: Any) -> None:
    from django.db import connection
    from django.utils import timezone

    from afterdesk.intake.outbox import acks_sent_within_the_hour

    for address in ("loop@example.com", "other@example.com"):
        case_create(
            actor=None,
            data=CaseInput(
                kind="inquiry",
                channel="web",
                subject="x",
                customer=CustomerInput(name="x", email=address),
            ),
        )
    first, second = OutboundMessage.objects.order_by("id")
    OutboundMessage.objects.filter(pk=first.pk).update(
        state="sent", sent_at=timezone.now(), to_email="Loop@Example.COM"
    )
    OutboundMessage.objects.filter(pk=second.pk).update(to_email="LOOP@example.com")

    report = outbox_send_due()

    assert (report.sent, report.suppressed) == (0, 1)
    assert not mail.outbox
    if connection.vendor == "sqlite":
        plan = acks_sent_within_the_hour("loop@example.com", timezone.now()).explain()
        assert "USING INDEX outbound_ack_cap" in plan, plan


@override_settings(INTAKE_SENDER_MAX_PER_HOUR=2)
def test_a_flooding_sender_is_held_in_quarantine_until_an_admin_retries(
    support_mailbox: Mailbox, departments: Any, ingest: Any, django_capture_on_commit_callbacks: Any
) -> None:
    rows = [ingest(email(mid=f"flood{i}@x")) for i in range(3)]
    assert [r.state for r in rows] == ["processed", "processed", "quarantined"]
    assert rows[2].reason == QuarantineReason.SENDER_RATE
    assert Case.objects.count() == 2

    with django_capture_on_commit_callbacks(execute=True):
        retried = inbound_retry(inbound=rows[2])
    assert retried.state == "received"
    assert inbound_process(inbound_id=rows[2].pk).state == "processed"  # type: ignore[union-attr]
    assert Case.objects.count() == 3


def test_a_forged_reply_is_accepted_after_the_sender_becomes_a_contact(
    seeded: dict[str, Case], ingest: Any, customer_a: Any
) -> None:
    raw = email(
        sender="assistant@example.org",
        subject="Re: damage",
        mid="f1@x",
        In_Reply_To="<AS-20261123-00001.ack@example.com>",
    )
    row = ingest(raw)
    assert (row.state, row.reason) == ("quarantined", "suspected_forgery")
    with pytest.raises(RetryNotAllowed):
        inbound_retry(
            inbound=InboundMessage.objects.exclude(pk=row.pk).filter(state="processed").first()
        )

    from afterdesk.customers.models import ContactPoint

    ContactPoint.objects.create(
        customer=customer_a,
        kind="email",
        value="assistant@example.org",
        normalized="assistant@example.org",
    )
    inbound_retry(inbound=row)
    row = inbound_process(inbound_id=row.pk)
    assert row is not None and row.state == "processed" and row.case.number == "AS-20261123-00001"  # type: ignore[union-attr]


def test_an_unexpected_error_quarantines_with_the_error(
    support_mailbox: Mailbox, departments: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = inbound_store(mailbox=support_mailbox, raw=email(), source="smtp").message

    def explode(**kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "case_create", explode)
    processed = inbound_process(inbound_id=row.pk)
    assert processed is not None
    assert (processed.state, processed.reason) == ("quarantined", "processing_error")
    assert "RuntimeError: boom" in processed.error
    assert not Case.objects.exists() and not Message.objects.exists()


def test_a_failing_message_in_a_batch_is_rolled_back_and_quarantined_alone(
    support_mailbox: Mailbox, departments: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(4):
        inbound_store(
            mailbox=support_mailbox,
            raw=email(sender=f"b{n}@example.com", mid=f"batch{n}@x"),
            source="smtp",
        )
    original = services._attach

    def attach(case: Any, message: Any, parsed: Any) -> Any:
        if parsed.message_id == "batch2@x":  # after its case was created
            raise RuntimeError("bad one")
        return original(case, message, parsed)

    monkeypatch.setattr(services, "_attach", attach)
    assert inbound_process_pending(mailbox_id=support_mailbox.pk) == 4
    states = dict(InboundMessage.objects.values_list("message_id", "state"))
    assert states == {
        "batch0@x": "processed",
        "batch1@x": "processed",
        "batch2@x": "quarantined",
        "batch3@x": "processed",
    }
    assert "RuntimeError: bad one" in InboundMessage.objects.get(message_id="batch2@x").error
    assert sorted(Case.objects.values_list("customer__email", flat=True)) == [
        "b0@example.com",
        "b1@example.com",
        "b3@example.com",
    ]


def _store_many(mailbox: Mailbox, count: int, sender: str = "") -> list[InboundMessage]:
    return [
        inbound_store(
            mailbox=mailbox,
            raw=email(sender=sender or f"m{n}@example.com", mid=f"many{n}@x"),
            source="smtp",
        ).message
        for n in range(count)
    ]


def test_a_claim_keeps_other_workers_off_the_messages_until_it_runs_out(
    support_mailbox: Mailbox,
) -> None:
    rows = _store_many(support_mailbox, 3)
    now = timezone.now()
    first = services._claim(support_mailbox, 2, now)
    assert first == [rows[0].pk, rows[1].pk]
    assert services._claim(support_mailbox, 5, now) == [rows[2].pk]
    assert services._claim(support_mailbox, 5, now) == []
    later = now + services.claim_duration() + timedelta(seconds=1)
    assert services._claim(support_mailbox, 5, later) == [row.pk for row in rows]


def test_a_message_another_worker_applied_meanwhile_is_not_applied_again(
    support_mailbox: Mailbox, departments: Any
) -> None:
    [row] = _store_many(support_mailbox, 1)
    stale = services._prepare([InboundMessage.objects.get(pk=row.pk)])
    assert inbound_process(inbound_id=row.pk).state == "processed"  # type: ignore[union-attr]
    assert services._apply_all(stale) == 0
    assert Case.objects.count() == 1
    assert InboundMessage.objects.get(pk=row.pk).attempts == 1


def test_messages_are_parsed_outside_any_transaction(
    support_mailbox: Mailbox, departments: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import transaction

    _store_many(support_mailbox, 3)
    # The test itself runs in a transaction: measure from its depth.
    outer = len(transaction.get_connection().savepoint_ids)
    depths: list[int] = []
    original = services.parse_message

    def parse(raw: bytes) -> Any:
        depths.append(len(transaction.get_connection().savepoint_ids) - outer)
        return original(raw)

    monkeypatch.setattr(services, "parse_message", parse)
    assert inbound_process_pending(mailbox_id=support_mailbox.pk) == 3
    assert depths == [0, 0, 0]
    assert Case.objects.count() == 3


@pytest.mark.parametrize(("seconds", "transactions"), [(0.0, 4), (60.0, 1)])
def test_applying_commits_whenever_a_transaction_has_been_open_long_enough(
    support_mailbox: Mailbox,
    departments: Any,
    monkeypatch: pytest.MonkeyPatch,
    seconds: float,
    transactions: int,
) -> None:
    _store_many(support_mailbox, 4)
    monkeypatch.setattr(services, "APPLY_TRANSACTION_SECONDS", seconds)
    calls: list[int] = []
    original = services._apply_some

    def apply_some(work: Any, **kwargs: Any) -> Any:
        calls.append(len(work))
        return original(work, **kwargs)

    monkeypatch.setattr(services, "_apply_some", apply_some)
    assert inbound_process_pending(mailbox_id=support_mailbox.pk) == 4
    assert len(calls) == transactions
    assert Case.objects.count() == 4


@pytest.mark.parametrize("seconds", [0.0, 60.0])
@override_settings(INTAKE_SENDER_MAX_PER_HOUR=2)
def test_the_sender_rate_counts_the_messages_of_the_same_batch(
    support_mailbox: Mailbox, departments: Any, monkeypatch: pytest.MonkeyPatch, seconds: float
) -> None:
    monkeypatch.setattr(services, "APPLY_TRANSACTION_SECONDS", seconds)
    rows = _store_many(support_mailbox, 4, sender="flood@example.com")
    assert inbound_process_pending(mailbox_id=support_mailbox.pk) == 4
    states = [
        (r.state, r.reason) for r in InboundMessage.objects.filter(pk__in=[r.pk for r in rows])
    ]
    assert sorted(states) == [
        ("processed", ""),
        ("processed", ""),
        ("quarantined", "sender_rate"),
        ("quarantined", "sender_rate"),
    ]
    assert Case.objects.count() == 2


def test_a_message_that_breaks_the_parser_is_quarantined_alone_in_its_batch(
    support_mailbox: Mailbox, departments: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _store_many(support_mailbox, 3)
    empty = inbound_store(mailbox=support_mailbox, raw=b"\r\n\r\n", source="smtp").message
    original = services.parse_message

    def parse(raw: bytes) -> Any:
        if b"many1@x" in raw:
            raise RuntimeError("parser bug")
        return original(raw)

    monkeypatch.setattr(services, "parse_message", parse)
    assert inbound_process_pending(mailbox_id=support_mailbox.pk) == 4
    outcome = {
        r.pk: (r.state, r.reason, r.attempts)
        for r in InboundMessage.objects.filter(pk__in=[*(r.pk for r in rows), empty.pk])
    }
    assert outcome == {
        rows[0].pk: ("processed", "", 1),
        rows[1].pk: ("quarantined", "processing_error", 1),
        rows[2].pk: ("processed", "", 1),
        empty.pk: ("quarantined", "parse_error", 1),
    }
    assert "RuntimeError: parser bug" in InboundMessage.objects.get(pk=rows[1].pk).error
    assert Case.objects.count() == 2


def test_a_database_error_while_applying_gives_the_claimed_messages_back(
    support_mailbox: Mailbox, departments: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _store_many(support_mailbox, 3)

    def unavailable(**kwargs: Any) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(services, "case_create", unavailable)
    with pytest.raises(OperationalError):
        inbound_process_pending(mailbox_id=support_mailbox.pk)
    after = list(
        InboundMessage.objects.filter(pk__in=[r.pk for r in rows])
        .order_by("id")
        .values_list("state", "claimed_until", "attempts")
    )
    assert after == [("received", None, 1), ("received", None, 0), ("received", None, 0)]
    monkeypatch.undo()
    assert inbound_process_pending(mailbox_id=support_mailbox.pk) == 3
    assert Case.objects.count() == 3


def test_a_database_outage_leaves_the_message_for_a_later_attempt(
    support_mailbox: Mailbox, departments: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = inbound_store(mailbox=support_mailbox, raw=email(), source="smtp").message

    def unavailable(**kwargs: Any) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(services, "case_create", unavailable)
    for attempt in range(1, services.MAX_TRANSIENT_ATTEMPTS + 1):
        with pytest.raises(OperationalError):
            inbound_process(inbound_id=row.pk)
        row.refresh_from_db()
        assert row.attempts == attempt
        assert row.state == (
            "quarantined" if attempt == services.MAX_TRANSIENT_ATTEMPTS else "received"
        )
    assert not Case.objects.exists()


def test_stuck_messages_are_queued_again(
    support_mailbox: Mailbox, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    other = Mailbox.objects.create(address="sales@example.com", kind="smtp")
    inbound_store(mailbox=support_mailbox, raw=email(mid="old@x"), source="smtp")
    clock.advance(seconds=400)
    inbound_store(mailbox=other, raw=email(mid="young@x"), source="smtp")
    # The worker that took the jobs died: jobs gone, the mailboxes still flagged as queued.
    DBTaskResult.objects.all().delete()

    def jobs() -> list[int]:
        return sorted(t.args_kwargs["args"][0] for t in DBTaskResult.objects.all())

    with django_capture_on_commit_callbacks(execute=True):
        assert inbound_requeue_stuck() == 1
    assert jobs() == [support_mailbox.pk]
    with django_capture_on_commit_callbacks(execute=True):
        assert inbound_requeue_stuck() == 0  # not again until it is stuck again
    clock.advance(seconds=400)
    with django_capture_on_commit_callbacks(execute=True):
        assert inbound_requeue_stuck() == 2
    assert jobs() == sorted([support_mailbox.pk, support_mailbox.pk, other.pk])


def test_only_quarantined_messages_can_be_retried(support_mailbox: Mailbox) -> None:
    row = inbound_store(mailbox=support_mailbox, raw=email(), source="smtp").message
    with pytest.raises(RetryNotAllowed):
        inbound_retry(inbound=row)


# --- policy windows at intake ---------------------------------------------------------------


def _order(customer: Any, *, delivered_days_ago: int, sku: str = "TV-55") -> Any:
    Product.objects.get_or_create(
        sku=sku, defaults={"name": "TV", "warranty_months": 12, "product_line": "tv"}
    )
    now = timezone.now()
    order, _ = order_import(
        customer=customer,
        reference=f"ORD-{delivered_days_ago}",
        placed_at=now - timedelta(days=delivered_days_ago + 2),
        delivered_at=now - timedelta(days=delivered_days_ago),
        lines=[OrderLineInput(sku=sku, serial="SN1")],
    )
    return order


def _case(customer: Any, kind: str, order: Any) -> Case:
    return case_create(
        actor=None,
        data=CaseInput(
            kind=kind,
            channel="web",
            subject="Return",
            customer=CustomerInput(name=customer.name, email=customer.email),
            order_ref=order.reference,
        ),
    )


def test_a_return_inside_the_window_is_not_flagged(customer_a: Any, departments: Any) -> None:
    case = _case(customer_a, "return", _order(customer_a, delivered_days_ago=3))
    check = PolicyCheck.objects.get(case=case)
    assert (check.within, check.flags, check.windows["window"], check.windows["days"]) == (
        True,
        [],
        "return",
        7,
    )
    assert not Message.objects.filter(case=case, internal=True).exists()


def test_a_late_return_is_recorded_flagged_and_the_customer_told(
    customer_a: Any, departments: Any
) -> None:
    case = _case(customer_a, "return", _order(customer_a, delivered_days_ago=10))
    check = PolicyCheck.objects.get(case=case)
    assert (check.within, check.flags) == (False, ["return_window_passed"])
    note = Message.objects.get(case=case, internal=True)
    assert "7" in note.body
    outbox_send_due()
    [ack] = mail.outbox
    assert check.windows["starts"] in ack.body and check.windows["ends"] in ack.body


def test_repairs_are_judged_against_the_warranty(customer_a: Any, departments: Any) -> None:
    inside = _case(customer_a, "repair", _order(customer_a, delivered_days_ago=100))
    outside = _case(customer_a, "repair", _order(customer_a, delivered_days_ago=400))
    assert PolicyCheck.objects.get(case=inside).within
    late = PolicyCheck.objects.get(case=outside)
    assert (late.within, late.flags, late.windows["months"]) == (False, ["warranty_expired"], 12)


def test_a_product_line_policy_overrides_the_default(customer_a: Any, departments: Any) -> None:
    from afterdesk.intake.models import IntakePolicy

    IntakePolicy.objects.create(product_line="tv", return_days=30, exchange_days=30)
    case = _case(customer_a, "return", _order(customer_a, delivered_days_ago=10))
    assert PolicyCheck.objects.get(case=case).within


def test_no_check_without_an_order_or_product(customer_a: Any, departments: Any) -> None:
    case = case_create(
        actor=None,
        data=CaseInput(
            kind="return",
            channel="web",
            subject="x",
            customer=CustomerInput(name="a", email=customer_a.email),
        ),
    )
    assert not PolicyCheck.objects.filter(case=case).exists()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_jobs_on_one_mailbox_make_each_case_once() -> None:
    import threading

    from django.db import connection

    mailbox, _ = Mailbox.objects.get_or_create(
        address="support@example.com", defaults={"kind": "smtp"}
    )
    for n in range(30):
        inbound_store(
            mailbox=mailbox, raw=email(sender=f"c{n}@example.com", mid=f"c{n}@x"), source="smtp"
        )
    barrier = threading.Barrier(3)
    done: list[int] = []
    errors: list[BaseException] = []

    def job() -> None:
        try:
            barrier.wait()
            done.append(inbound_process_pending(mailbox_id=mailbox.pk))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=job) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and sum(done) == 30
    assert Case.objects.count() == 30
    assert InboundMessage.objects.filter(state="processed").values("case").distinct().count() == 30
