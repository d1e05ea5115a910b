from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.utils import translation

from afterdesk.accounts.models import User
from afterdesk.cases.choices import EventType, Status
from afterdesk.cases.errors import CaseInvalid, CaseTransitionNotAllowed
from afterdesk.cases.models import Attachment, Case, CaseEvent, Message
from afterdesk.cases.services import CaseInput
from afterdesk.core.errors import ValidationFailed
from afterdesk.customers.models import Customer
from afterdesk.customers.services import CustomerInput, customer_resolve
from afterdesk.portal.models import LoginLink
from afterdesk.portal.services import (
    login_link_consume,
    login_link_request,
    login_links_prune,
    login_token_digest,
    portal_case_confirm,
    portal_case_reopen,
    portal_case_reply,
    portal_case_submit,
)
from afterdesk.portal.tests.conftest import png_bytes

ON_POSTGRES = connection.vendor == "postgresql"
LINK = re.compile(r"http://testserver/portal/login/([A-Za-z0-9_\-]+)")


def _request_link(email: str, django_capture_on_commit_callbacks) -> LoginLink | None:
    with django_capture_on_commit_callbacks(execute=True):
        return login_link_request(email=email, requested_ip="203.0.113.9")


def _token_from_outbox() -> str:
    match = LINK.search(mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def _stored_files() -> set[Path]:
    root = Path(settings.MEDIA_ROOT) / "attachments"
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "http://testserver"


# --- Sign-in links ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_known_address_gets_a_one_time_link(customer_a, django_capture_on_commit_callbacks):
    link = _request_link("A@Example.com ", django_capture_on_commit_callbacks)

    assert link is not None and link.customer == customer_a
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["a@example.com"]
    token = _token_from_outbox()
    # Only the digest is stored; the token itself is only in the e-mail.
    assert link.digest == login_token_digest(token) and token not in link.digest
    assert not LoginLink.objects.filter(digest=token).exists()
    assert (link.expires_at - link.created_at).total_seconds() == 15 * 60
    assert link.requested_ip == "203.0.113.9" and link.used_at is None


@pytest.mark.django_db
def test_the_mail_is_sent_only_after_commit(customer_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        login_link_request(email="a@example.com")
    assert mail.outbox == [] and len(callbacks) == 1
    callbacks[0]()
    assert len(mail.outbox) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_mail_speaks_the_customers_language(
    customer_a, language, django_capture_on_commit_callbacks
):
    Customer.objects.filter(pk=customer_a.pk).update(language=language)
    _request_link("a@example.com", django_capture_on_commit_callbacks)

    with translation.override(language):
        subject = translation.gettext("Your sign-in link for customer service")
        intro = translation.gettext("Open this link to sign in and follow your service cases:")
    assert mail.outbox[0].subject == subject
    assert intro in mail.outbox[0].body
    assert "王小明" in mail.outbox[0].body


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["nobody@example.com", "not an address", ""])
def test_an_unknown_address_gets_nothing(customer_a, email, django_capture_on_commit_callbacks):
    assert _request_link(email, django_capture_on_commit_callbacks) is None
    assert mail.outbox == []
    assert LoginLink.objects.count() == 0


@pytest.mark.django_db
def test_a_mail_server_error_is_not_raised(
    customer_a, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    assert _request_link("a@example.com", django_capture_on_commit_callbacks) is not None


@pytest.mark.django_db
def test_a_link_signs_in_once(customer_a, django_capture_on_commit_callbacks):
    _request_link("a@example.com", django_capture_on_commit_callbacks)
    token = _token_from_outbox()

    assert login_link_consume(token=token) == customer_a.user
    assert login_link_consume(token=token) is None
    assert LoginLink.objects.get().used_at is not None


@pytest.mark.django_db
def test_a_link_expires(customer_a, clock, django_capture_on_commit_callbacks):
    _request_link("a@example.com", django_capture_on_commit_callbacks)
    token = _token_from_outbox()
    clock.advance(minutes=15)

    assert login_link_consume(token=token) is None
    assert LoginLink.objects.get().used_at is None


@pytest.mark.django_db
def test_the_lifetime_is_configurable(customer_a, settings, django_capture_on_commit_callbacks):
    settings.PORTAL_LINK_TTL_MINUTES = 5
    Customer.objects.filter(pk=customer_a.pk).update(language="en")
    link = _request_link("a@example.com", django_capture_on_commit_callbacks)
    assert link is not None
    assert (link.expires_at - link.created_at).total_seconds() == 5 * 60
    assert "within 5 minutes" in mail.outbox[0].body


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["", "x", "a" * 43, "a" * 500])
def test_unknown_tokens_sign_in_nobody(customer_a, token):
    assert login_link_consume(token=token) is None


@pytest.mark.django_db
def test_using_a_link_retires_the_customers_other_links(
    customer_a, customer_b, django_capture_on_commit_callbacks
):
    _request_link("a@example.com", django_capture_on_commit_callbacks)
    older = _token_from_outbox()
    _request_link("a@example.com", django_capture_on_commit_callbacks)
    newer = _token_from_outbox()
    _request_link("b@example.com", django_capture_on_commit_callbacks)
    other_customer = _token_from_outbox()

    assert login_link_consume(token=newer) == customer_a.user
    assert login_link_consume(token=older) is None
    assert login_link_consume(token=other_customer) == customer_b.user


@pytest.mark.django_db
def test_first_sign_in_creates_the_portal_user(departments, django_capture_on_commit_callbacks):
    customer = customer_resolve(
        data=CustomerInput(name="Li Lei", email="li@example.com", language="en")
    )
    _request_link("li@example.com", django_capture_on_commit_callbacks)

    user = login_link_consume(token=_token_from_outbox())

    assert user is not None
    customer.refresh_from_db()
    assert customer.user == user
    assert user.username == f"customer-{customer.pk}"
    assert user.role == "customer" and user.language == "en" and user.email == "li@example.com"
    assert not user.has_usable_password() and not user.is_staff
    # The next sign-in reuses it.
    _request_link("li@example.com", django_capture_on_commit_callbacks)
    assert login_link_consume(token=_token_from_outbox()) == user
    assert User.objects.filter(role="customer").count() == 1


@pytest.mark.django_db
def test_a_disabled_user_cannot_sign_in(customer_a, django_capture_on_commit_callbacks):
    User.objects.filter(pk=customer_a.user_id).update(is_active=False)
    _request_link("a@example.com", django_capture_on_commit_callbacks)
    assert login_link_consume(token=_token_from_outbox()) is None


@pytest.mark.django_db
def test_old_links_are_pruned(customer_a, clock, django_capture_on_commit_callbacks):
    _request_link("a@example.com", django_capture_on_commit_callbacks)
    clock.advance(days=7, minutes=14)
    assert login_links_prune() == 0
    clock.advance(minutes=2)
    assert login_links_prune() == 1
    assert LoginLink.objects.count() == 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_clicks_sign_in_exactly_once(customer_a):
    login_link_request(email="a@example.com")
    token = _token_from_outbox()
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    results: list[object] = []
    lock = threading.Lock()

    def click() -> None:
        try:
            barrier.wait()
            user = login_link_consume(token=token)
            with lock:
                results.append(user)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == threads_count
    assert [r for r in results if r is not None] == [customer_a.user]
    assert LoginLink.objects.get().used_at is not None


# --- Submitting --------------------------------------------------------------------------------


def _input(**fields) -> CaseInput:
    values = {
        "kind": "repair",
        "channel": "web",
        "subject": "Screen flickers",
        "description": "Since yesterday the screen flickers.",
        "customer": CustomerInput(name="Carol", email="carol@example.com", language="en"),
    }
    values.update(fields)
    return CaseInput(**values)


@pytest.mark.django_db
def test_an_anonymous_submission_with_a_photo(departments, png):
    case = portal_case_submit(user=None, data=_input(channel="api"), photos=[png()])

    assert case.channel == "web" and case.status == "new" and case.kind == "repair"
    assert case.customer.email == "carol@example.com" and case.customer.language == "en"
    attachment = Attachment.objects.get(case=case)
    assert attachment.filename == "photo.png" and attachment.content_type == "image/png"
    assert not attachment.internal and attachment.uploaded_by is None
    assert attachment.file.read() == png_bytes()
    events = list(
        CaseEvent.objects.filter(case=case, type__startswith="case.").values_list(
            "type", "by_customer"
        )
    )
    assert events == [(EventType.CREATED, True), (EventType.ATTACHMENT_ADDED, True)]


@pytest.mark.django_db
def test_a_signed_in_submission_is_filed_under_the_customer(customer_a, customer_b, png):
    # Whatever contact the form carried, the signed-in customer's own record is used.
    data = _input(customer=CustomerInput(name="X", email="b@example.com"))
    case = portal_case_submit(user=customer_a.user, data=data, photos=[png(), png("two.png")])

    assert case.customer == customer_a
    assert case.attachments.count() == 2
    created = CaseEvent.objects.get(case=case, type=EventType.CREATED)
    assert created.actor == customer_a.user and created.by_customer
    assert case.created_by is None  # created_by names staff only


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (SimpleUploadedFile("big.png", png_bytes() + b"\0" * 2048, "image/png"), "file_too_large"),
        (SimpleUploadedFile("x.html", b"<script>1</script>", "text/html"), "file_type_not_allowed"),
        (SimpleUploadedFile("fake.png", b"GIF89a....", "image/png"), "file_type_mismatch"),
    ],
)
def test_a_refused_photo_leaves_nothing_behind(
    departments, customer_a, png, upload, code, settings, db_state
):
    settings.ATTACHMENT_MAX_BYTES = 1024
    before = db_state()
    files_before = _stored_files()

    with pytest.raises(CaseInvalid) as refused:
        # The first photo is fine and stored before the second is refused.
        portal_case_submit(user=None, data=_input(), photos=[png(), upload])

    assert refused.value.code == code
    assert db_state() == before
    assert _stored_files() == files_before


@pytest.mark.django_db
def test_too_many_photos(departments, png, db_state):
    before = db_state()
    with pytest.raises(ValidationFailed):
        portal_case_submit(user=None, data=_input(), photos=[png() for _ in range(6)])
    assert db_state() == before


# --- Replies and decisions ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_reply_with_files(customer_a, make_case, png):
    case = make_case(customer=customer_a)
    message = portal_case_reply(
        user=customer_a.user, case=case, body="Photo attached", files=[png()]
    )

    assert message is not None and message.from_customer and not message.internal
    assert list(message.attachments.values_list("filename", flat=True)) == ["photo.png"]


@pytest.mark.django_db
def test_files_alone(customer_a, make_case, png):
    case = make_case(customer=customer_a)
    assert portal_case_reply(user=customer_a.user, case=case, body="  ", files=[png()]) is None
    assert Message.objects.filter(case=case).count() == 0
    assert Attachment.objects.get(case=case).message is None


@pytest.mark.django_db
def test_an_empty_reply_is_refused(customer_a, make_case, db_state):
    case = make_case(customer=customer_a)
    before = db_state(case)
    with pytest.raises(ValidationFailed):
        portal_case_reply(user=customer_a.user, case=case, body=" \n ", files=[])
    assert db_state(case) == before


@pytest.mark.django_db
def test_a_reply_puts_a_waiting_case_back_to_work(customer_a, make_case, drive_case):
    case = drive_case(make_case(customer=customer_a), "pending_customer")
    portal_case_reply(user=customer_a.user, case=case, body="Here is the receipt")
    assert Case.objects.get(pk=case.pk).status == "open"


@pytest.mark.django_db
@pytest.mark.parametrize("status", [s for s in Status.values if s != "resolved"])
def test_confirming_needs_a_resolved_case(customer_a, make_case, drive_case, status, db_state):
    case = drive_case(make_case(customer=customer_a), status)
    before = db_state(case)
    if status == "closed":
        # Already closed: a no-op, nothing written.
        assert portal_case_confirm(user=customer_a.user, case=case).status == "closed"
    else:
        with pytest.raises(CaseTransitionNotAllowed):
            portal_case_confirm(user=customer_a.user, case=case)
    assert db_state(case) == before


@pytest.mark.django_db
def test_confirming_closes_a_resolved_case(customer_a, make_case, drive_case):
    case = drive_case(make_case(customer=customer_a), "resolved")
    closed = portal_case_confirm(user=customer_a.user, case=case)

    assert closed.status == "closed" and closed.closed_at is not None
    event = CaseEvent.objects.filter(case=case).latest("id")
    assert (event.type, event.old, event.new, event.by_customer) == (
        EventType.STATUS_CHANGED,
        "resolved",
        "closed",
        True,
    )
    assert event.actor == customer_a.user


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_reopening_with_a_reason(customer_a, make_case, drive_case, status):
    case = drive_case(make_case(customer=customer_a), status)
    reopened = portal_case_reopen(user=customer_a.user, case=case, reason="Still broken")

    assert reopened.status == "open"
    event = CaseEvent.objects.filter(case=case, type=EventType.STATUS_CHANGED).latest("id")
    assert (event.old, event.new, event.by_customer, event.payload) == (
        status,
        "open",
        True,
        {"note": "Still broken"},
    )
    message = Message.objects.get(case=case)
    assert message.body == "Still broken" and message.from_customer


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status", ["new", "open", "pending_customer", "pending_internal", "cancelled"]
)
def test_reopening_needs_a_resolved_or_closed_case(
    customer_a, make_case, drive_case, status, db_state
):
    case = drive_case(make_case(customer=customer_a), status)
    before = db_state(case)
    with pytest.raises(CaseTransitionNotAllowed):
        portal_case_reopen(user=customer_a.user, case=case, reason="Why")
    assert db_state(case) == before


@pytest.mark.django_db
def test_reopening_after_the_window_is_refused(customer_a, make_case, drive_case, clock, db_state):
    case = drive_case(make_case(customer=customer_a), "closed")
    clock.advance(days=15)
    before = db_state(case)
    with pytest.raises(CaseTransitionNotAllowed):
        portal_case_reopen(user=customer_a.user, case=case, reason="")
    assert db_state(case) == before


# --- The expected first response -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("priority", "hours"), [("urgent", 1), ("high", 4), ("normal", 24), ("low", 48)]
)
def test_the_default_promise_per_priority(customer_a, make_case, priority, hours, monkeypatch):
    from afterdesk.portal import sla_bridge
    from afterdesk.portal.selectors import expected_first_response

    monkeypatch.setattr(sla_bridge, "first_response_due", lambda case: None)
    case = make_case(customer=customer_a, priority=priority)
    expected = expected_first_response(case=case)
    assert expected.hours == hours
    assert expected.due_at == case.created_at + timedelta(hours=hours)


@pytest.mark.django_db
def test_the_promise_is_editable(customer_a, make_case, monkeypatch):
    from afterdesk.portal import sla_bridge
    from afterdesk.portal.models import PortalSettings
    from afterdesk.portal.selectors import expected_first_response

    monkeypatch.setattr(sla_bridge, "first_response_due", lambda case: None)
    PortalSettings.objects.update_or_create(pk=1, defaults={"response_hours_urgent": 2})
    case = make_case(customer=customer_a, priority="urgent")
    assert expected_first_response(case=case).hours == 2


@pytest.mark.django_db
def test_an_sla_due_time_wins(customer_a, make_case, monkeypatch):
    from afterdesk.portal import sla_bridge
    from afterdesk.portal.selectors import expected_first_response

    case = make_case(customer=customer_a)
    due = case.created_at + timedelta(hours=3, minutes=30)
    monkeypatch.setattr(sla_bridge, "first_response_due", lambda c: due if c == case else None)
    expected = expected_first_response(case=case)
    assert (expected.due_at, expected.hours) == (due, None)


@pytest.mark.django_db
def test_the_sla_bridge_answers_for_any_case(customer_a, make_case):
    from afterdesk.portal.sla_bridge import first_response_due

    due = first_response_due(make_case(customer=customer_a))
    assert due is None or due.tzinfo is not None
