"""The SMTP listener on a loopback port, spoken to with smtplib."""

from __future__ import annotations

import smtplib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from afterdesk.cases.models import Case
from afterdesk.intake import smtp
from afterdesk.intake.models import InboundMessage, Mailbox
from afterdesk.intake.services import inbound_process

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGE = (
    b"From: =?utf-8?b?5p2O5aic?= <lina@example.cn>\r\n"
    b"To: support@example.com\r\n"
    b"Subject: =?utf-8?b?5rSX6KGj5py65ryP5rC0?=\r\n"
    b"Message-ID: <smtp-1@example.cn>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    + "洗衣机一直漏水。\r\n.leading dot stays\r\n".encode()
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailboxes() -> list[Mailbox]:
    # A transactional test starts from empty tables: make what the data migration makes.
    support, _ = Mailbox.objects.get_or_create(
        address="support@example.com", defaults={"kind": "smtp"}
    )
    sales = Mailbox.objects.create(address="sales@example.com", kind="smtp")
    Mailbox.objects.create(address="inactive@example.com", kind="smtp", is_active=False)
    Mailbox.objects.create(address="imap@example.com", kind="imap")
    return [support, sales]


@pytest.fixture
def listener(mailboxes: list[Mailbox]) -> Iterator[tuple[str, int]]:
    port = free_port()
    controller = smtp.make_controller(host="127.0.0.1", port=port)
    controller.start()
    try:
        yield "127.0.0.1", port
    finally:
        controller.stop()


def send(
    address: tuple[str, int], raw: bytes = MESSAGE, to: list[str] | None = None
) -> dict[str, Any]:
    with smtplib.SMTP(*address, timeout=30) as client:
        return client.sendmail("lina@example.cn", to or ["support@example.com"], raw)


def test_a_message_is_stored_then_becomes_a_case(listener: tuple[str, int]) -> None:
    assert send(listener) == {}
    row = InboundMessage.objects.get()
    assert bytes(row.raw) == MESSAGE
    assert (row.source, row.envelope_from, row.message_id) == (
        "smtp",
        "lina@example.cn",
        "smtp-1@example.cn",
    )
    assert row.mailbox.address == "support@example.com"
    inbound_process(inbound_id=row.pk)
    case = Case.objects.get()
    assert (case.subject, case.channel) == ("洗衣机漏水", "email")
    assert case.description == "洗衣机一直漏水。\n.leading dot stays"


@pytest.mark.parametrize(
    "recipient", ["nobody@example.com", "inactive@example.com", "imap@example.com"]
)
def test_unknown_recipients_are_refused_with_550(listener: tuple[str, int], recipient: str) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(listener, to=[recipient])
    assert refused.value.recipients[recipient][0] == 550
    assert not InboundMessage.objects.exists()


def test_a_message_for_several_of_our_addresses_is_stored_once(listener: tuple[str, int]) -> None:
    refused = send(listener, to=["nobody@example.com", "SALES@example.com", "support@example.com"])
    assert set(refused) == {"nobody@example.com"}
    row = InboundMessage.objects.get()
    assert row.mailbox.address == "sales@example.com"
    assert row.envelope_to == "SALES@example.com, support@example.com"


def test_a_redelivered_message_is_accepted_and_kept_once(listener: tuple[str, int]) -> None:
    assert send(listener) == {}
    assert send(listener, raw=b"Received: from relay\r\n" + MESSAGE) == {}
    assert InboundMessage.objects.count() == 1


def test_a_message_over_the_limit_is_refused_with_552(mailboxes: list[Mailbox]) -> None:
    port = free_port()
    with override_settings(INTAKE_MAX_MESSAGE_BYTES=4096):
        controller = smtp.make_controller(host="127.0.0.1", port=port)
    controller.start()
    try:
        with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as refused:
            send(("127.0.0.1", port), raw=MESSAGE + (b"x" * 70 + b"\r\n") * 120)
        assert refused.value.smtp_code == 552
        # Without the SIZE extension the limit is enforced on DATA as well.
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.helo("old-client")
            client.mail("lina@example.cn")
            client.rcpt("support@example.com")
            code, _text = client.data(MESSAGE + (b"x" * 70 + b"\r\n") * 120)
        assert code == 552
    finally:
        controller.stop()
    assert not InboundMessage.objects.exists()


def test_a_database_failure_is_a_temporary_failure_and_the_retry_succeeds(
    listener: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(**kwargs: Any) -> None:
        raise OperationalError("could not connect to server")

    with monkeypatch.context() as patched:
        patched.setattr(smtp, "inbound_store", unavailable)
        with pytest.raises(smtplib.SMTPDataError) as deferred:
            send(listener)
    assert deferred.value.smtp_code == 451
    assert not InboundMessage.objects.exists()

    assert send(listener) == {}  # the sending server tries again later
    assert InboundMessage.objects.count() == 1


def test_an_unexpected_error_is_a_temporary_failure(
    listener: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(smtp, "inbound_store", broken)
    with pytest.raises(smtplib.SMTPDataError) as deferred:
        send(listener)
    assert deferred.value.smtp_code == 451


def _numbered(n: int) -> bytes:
    return MESSAGE.replace(b"<smtp-1@example.cn>", f"<group-{n}@example.cn>".encode())


@pytest.fixture
def grouping_listener(mailboxes: list[Mailbox]) -> Iterator[tuple[tuple[str, int], list[int]]]:
    """A listener whose second group of messages waits until three more messages are
    waiting behind it; yields its address and the size of each group it stored."""
    handler = smtp.IntakeHandler()
    groups: list[int] = []
    original = handler._store_group

    def store_group(group: list[Any]) -> list[str]:
        groups.append(len(group))
        if len(groups) == 2:
            deadline = time.monotonic() + 20
            while len(handler._pending) < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
        return original(group)

    handler._store_group = store_group  # type: ignore[method-assign]
    port = free_port()
    controller = smtp.make_controller(host="127.0.0.1", port=port, handler=handler)
    controller.start()
    try:
        yield ("127.0.0.1", port), groups
    finally:
        controller.stop()


def _send_together(address: tuple[str, int], raws: list[bytes]) -> list[int]:
    """Send the messages over one connection each, at once; the reply code of each."""
    codes = [0] * len(raws)

    def one(index: int) -> None:
        with smtplib.SMTP(*address, timeout=30) as client:
            client.ehlo()
            client.mail("lina@example.cn")
            client.rcpt("support@example.com")
            codes[index] = client.data(raws[index])[0]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(raws))]
    for thread in threads:
        thread.start()
        time.sleep(0.05)  # the first one first
    for thread in threads:
        thread.join(timeout=60)
    return codes


def test_messages_arriving_together_are_stored_in_one_transaction(
    grouping_listener: tuple[tuple[str, int], list[int]],
) -> None:
    address, groups = grouping_listener
    assert send(address, raw=_numbered(0)) == {}
    assert _send_together(address, [_numbered(n) for n in range(1, 5)]) == [250] * 4
    assert groups == [1, 1, 3]
    assert sorted(InboundMessage.objects.values_list("message_id", flat=True)) == [
        f"group-{n}@example.cn" for n in range(5)
    ]
    # One job for them all, queued by the first.
    assert DBTaskResult.objects.count() == 1


@pytest.mark.parametrize("error", [RuntimeError("bug"), OperationalError("disk I/O error")])
def test_a_message_that_fails_in_a_group_is_deferred_alone(
    grouping_listener: tuple[tuple[str, int], list[int]],
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
) -> None:
    address, groups = grouping_listener
    original = smtp.inbound_store

    def store(**kwargs: Any) -> Any:
        if b"group-3@" in kwargs["raw"]:
            raise error
        return original(**kwargs)

    monkeypatch.setattr(smtp, "inbound_store", store)
    assert send(address, raw=_numbered(0)) == {}
    assert _send_together(address, [_numbered(n) for n in range(1, 5)]) == [250, 250, 451, 250]
    # A database error rolls the group back; the others are then stored without the culprit.
    assert groups == ([1, 1, 3, 2] if isinstance(error, OperationalError) else [1, 1, 3])
    assert sorted(InboundMessage.objects.values_list("message_id", flat=True)) == [
        "group-0@example.cn",
        "group-1@example.cn",
        "group-2@example.cn",
        "group-4@example.cn",
    ]
