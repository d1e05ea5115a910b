"""The outbox: retries with backoff, order per case, exactly once, headers, languages."""

from __future__ import annotations

import gettext as gettext_module
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail import BadHeaderError, EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone, translation

from afterdesk.cases.models import Case
from afterdesk.cases.services import CaseInput, case_add_message, case_create
from afterdesk.customers.services import CustomerInput
from afterdesk.intake import outbox
from afterdesk.intake.models import OutboundMessage
from afterdesk.intake.outbox import (
    MAX_ATTEMPTS,
    backoff,
    outbox_notification,
    outbox_retry,
    outbox_send_due,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


class FlakyBackend(BaseEmailBackend):
    """Fails the first `failures` sends, then records what it sends (in order)."""

    failures: ClassVar[int] = 0
    sent: ClassVar[list[EmailMessage]] = []
    lock = threading.Lock()

    def send_messages(self, email_messages: Any) -> int:
        with self.lock:
            if FlakyBackend.failures > 0:
                FlakyBackend.failures -= 1
                raise ConnectionRefusedError("smtp down")
            FlakyBackend.sent.extend(email_messages)
        return len(email_messages)


@pytest.fixture
def flaky() -> Iterator[type[FlakyBackend]]:
    FlakyBackend.failures = 0
    FlakyBackend.sent = []
    with override_settings(EMAIL_BACKEND=f"{__name__}.FlakyBackend"):
        yield FlakyBackend


def _case(email: str = "erin@example.com", language: str = "en", subject: str = "Fridge") -> Case:
    return case_create(
        actor=None,
        data=CaseInput(
            kind="complaint",
            channel="web",
            subject=subject,
            customer=CustomerInput(name="Erin", email=email, language=language),
        ),
    )


@pytest.mark.django_db
def test_backoff_doubles_up_to_six_hours() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert backoff(30) == timedelta(hours=6)


@pytest.mark.django_db
def test_a_failing_send_is_retried_with_backoff_then_sent_once(
    flaky: type[FlakyBackend], clock: Any, departments: Any
) -> None:
    case = _case()
    flaky.failures = 2
    assert outbox_send_due().retried == 1
    ack = OutboundMessage.objects.get(case=case)
    assert (ack.state, ack.attempts, ack.next_attempt_at) == (
        "queued",
        1,
        clock.now + timedelta(minutes=1),
    )
    assert "ConnectionRefusedError: smtp down" in ack.last_error
    assert outbox_send_due().sent == 0  # not due yet

    clock.advance(minutes=1)
    assert outbox_send_due().retried == 1
    ack.refresh_from_db()
    assert (ack.attempts, ack.next_attempt_at) == (2, clock.now + timedelta(minutes=2))

    clock.advance(minutes=2)
    assert outbox_send_due().sent == 1
    ack.refresh_from_db()
    assert (ack.state, ack.attempts, ack.sent_at, ack.last_error) == ("sent", 3, clock.now, "")
    assert len(flaky.sent) == 1
    clock.advance(hours=1)
    assert outbox_send_due() == outbox.SendReport()
    assert len(flaky.sent) == 1


@pytest.mark.django_db
def test_a_message_that_keeps_failing_is_given_up_and_can_be_retried(
    flaky: type[FlakyBackend], clock: Any, departments: Any
) -> None:
    case = _case()
    flaky.failures = MAX_ATTEMPTS
    for _ in range(MAX_ATTEMPTS):
        outbox_send_due()
        clock.advance(hours=6)
    ack = OutboundMessage.objects.get(case=case)
    assert (ack.state, ack.attempts) == ("failed", MAX_ATTEMPTS)
    outbox_retry(outbound=ack)
    assert outbox_send_due().sent == 1
    ack.refresh_from_db()
    assert ack.state == "sent"


@pytest.mark.django_db
def test_messages_of_a_case_go_out_in_order(
    flaky: type[FlakyBackend], clock: Any, departments: Any, agent: Any
) -> None:
    first = _case(email="one@example.com")
    _case(email="two@example.com")
    case_add_message(actor=agent, case=first, body="Reply one")
    case_add_message(actor=agent, case=first, body="Reply two")
    assert list(
        OutboundMessage.objects.filter(case=first)
        .order_by("sequence")
        .values_list("sequence", "kind")
    ) == [(1, "ack"), (2, "reply"), (3, "reply")]

    flaky.failures = 1  # the acknowledgement of `first` fails
    outbox_send_due()
    # The other case is not held up; the replies of `first` wait behind its acknowledgement.
    assert [m.to for m in flaky.sent] == [["Erin <two@example.com>"]]
    assert OutboundMessage.objects.filter(case=first, state="queued").count() == 3

    clock.advance(minutes=1)
    outbox_send_due()
    bodies = [m.body for m in flaky.sent if m.to == ["Erin <one@example.com>"]]
    assert len(bodies) == 3
    assert "Reply one" in bodies[1] and "Reply two" in bodies[2]
    assert not OutboundMessage.objects.exclude(state="sent").exists()


@pytest.mark.django_db
def test_headers_thread_and_mark_automatic_mail(departments: Any, agent: Any) -> None:
    case = _case()
    case_add_message(actor=agent, case=case, body="Answer")
    outbox_notification(case=case, subject="Your parcel\r\nBcc: x@evil.example", body="Shipped.")
    outbox_send_due()
    by_kind = {m.extra_headers.get("Auto-Submitted", "no"): m for m in mail.outbox}
    assert len(mail.outbox) == len(by_kind) == 3
    ack, reply, note = by_kind["auto-replied"], by_kind["no"], by_kind["auto-generated"]
    domain = settings.INTAKE_MESSAGE_ID_DOMAIN
    for message in (ack, reply, note):
        assert re.fullmatch(
            rf"<{case.number}\.[0-9a-f]{{32}}@{re.escape(domain)}>",
            message.extra_headers["Message-ID"],
        )
        assert message.extra_headers["X-Afterdesk-Case"] == case.number
    assert ack.extra_headers["X-Auto-Response-Suppress"] == "All"
    assert "In-Reply-To" not in ack.extra_headers  # nothing to answer yet
    assert reply.extra_headers["In-Reply-To"] == ack.extra_headers["Message-ID"]
    assert note.extra_headers["References"] == " ".join(
        [ack.extra_headers["Message-ID"], reply.extra_headers["Message-ID"]]
    )
    assert note.subject == f"[{case.number}] Your parcel Bcc: x@evil.example"
    rendered = note.message().as_bytes()
    assert b"\nBcc:" not in rendered and b"\r\nBcc:" not in rendered
    assert ack.from_email == "support@example.com"


@pytest.mark.django_db
def test_nothing_a_customer_typed_becomes_a_header(departments: Any) -> None:
    case_create(
        actor=None,
        data=CaseInput(
            kind="complaint",
            channel="web",
            subject="Broken\r\nBcc: victim@evil.example",
            customer=CustomerInput(
                name="Evil\r\nBcc: victim@evil.example", email="erin@example.com"
            ),
        ),
    )
    outbox_send_due()
    [ack] = mail.outbox
    raw = ack.message().as_bytes()
    assert re.search(rb"^Bcc:", raw, re.MULTILINE) is None
    assert not ack.bcc and len(ack.recipients()) == 1
    assert ack.recipients()[0].endswith("<erin@example.com>")


def test_django_refuses_a_header_with_a_line_break() -> None:
    message = EmailMessage(subject="Hi\nBcc: x@evil.example", body="b", to=["a@example.com"])
    with pytest.raises(BadHeaderError):
        message.message()


@pytest.mark.django_db
def test_the_reply_carries_its_public_files(departments: Any, agent: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from afterdesk.cases.services import case_reply

    case = _case()
    case_reply(
        actor=agent,
        case=case,
        body="See the manual.",
        uploads=[
            SimpleUploadedFile("manual.pdf", b"%PDF-1.4 manual", content_type="application/pdf")
        ],
    )
    outbox_send_due()
    [reply] = [m for m in mail.outbox if "See the manual." in m.body]
    assert [(name, content_type) for name, _data, content_type in reply.attachments] == [
        ("manual.pdf", "application/pdf")
    ]


@pytest.fixture
def compiled_catalogues() -> Iterator[None]:
    call_command("compiletranslations")
    for key in [k for k in gettext_module._translations if "locale" in str(k[1])]:
        del gettext_module._translations[key]
    with override_settings(LOCALE_PATHS=list(settings.LOCALE_PATHS)):
        yield


@pytest.mark.django_db
@pytest.mark.usefixtures("compiled_catalogues")
def test_templates_follow_the_customer_language(departments: Any) -> None:
    zh = _case(email="zh@example.cn", language="zh-hans", subject="冰箱")
    en = _case(email="en@example.com", language="en", subject="Fridge")
    outbox_send_due()
    by_to = {m.to[0].rsplit("<", 1)[-1].rstrip(">"): m for m in mail.outbox}
    with translation.override("zh-hans"):
        team_zh = translation.gettext("Your after-sales service team")
    assert CJK.search(team_zh)
    assert (
        team_zh in by_to["zh@example.cn"].body
        and team_zh in by_to["zh@example.cn"].alternatives[0][0]
    )
    assert CJK.search(by_to["zh@example.cn"].subject)
    assert "Your after-sales service team" in by_to["en@example.com"].body
    assert by_to["en@example.com"].subject == f"[{en.number}] We have received your request: Fridge"
    for case, message in ((zh, by_to["zh@example.cn"]), (en, by_to["en@example.com"])):
        assert case.number in message.body and settings.SITE_URL + "/track" in message.body


@pytest.mark.django_db
def test_the_acknowledgement_makes_the_portals_promise(departments: Any) -> None:
    from afterdesk.portal.selectors import expected_first_response

    case = _case(language="en")
    due = expected_first_response(case=case).due_at
    assert outbox.first_response_due(case) == due
    outbox_send_due()
    [ack] = mail.outbox
    assert timezone.localtime(due).strftime("%Y-%m-%d %H:%M") in ack.body


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_senders_send_each_message_exactly_once(
    flaky: type[FlakyBackend],
) -> None:
    # A transactional test starts from empty tables: no seeded departments to lean on.
    from afterdesk.accounts.models import User

    agent = User.objects.create_user(username="sender-agent", role="agent")
    cases = [_case(email=f"c{i}@example.com") for i in range(12)]
    for case in cases:
        for n in range(3):
            case_add_message(actor=agent, case=case, body=f"reply {n}")
    expected = OutboundMessage.objects.count()
    assert expected == 48

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            barrier.wait()
            for _ in range(10):
                outbox_send_due(limit=5)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    sent_ids = [m.extra_headers["Message-ID"] for m in flaky.sent]
    assert len(sent_ids) == len(set(sent_ids)) == expected
    assert OutboundMessage.objects.filter(state="sent").count() == expected
    for case in cases:
        bodies = [m.body for m in flaky.sent if m.to == [f"Erin <{case.customer.email}>"]]
        order = [next(n for n in range(3) if f"reply {n}" in b) for b in bodies[1:]]
        assert order == [0, 1, 2]
