from __future__ import annotations

import re
from html import unescape

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from afterdesk.cases.models import Attachment, Case, Message
from afterdesk.cases.services import case_add_attachment, case_add_message, case_transition
from afterdesk.customers.models import Customer
from afterdesk.portal.models import LoginLink, PortalSettings
from afterdesk.portal.tests.conftest import png_bytes
from afterdesk.sla.models import SlaPolicy, SlaTimer

LINK = re.compile(r"/portal/login/([A-Za-z0-9_\-]+)")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def _html(response) -> str:
    return response.content.decode()


def _form(**fields) -> dict:
    values = {
        "kind": "repair",
        "category": "product.quality",
        "subject": "Screen flickers",
        "description": "Since yesterday the screen flickers.",
        "order_ref": "JD-1001",
        "product_sku": "TV-55",
        "serial": "SN-42",
        "name": "Carol",
        "email": "carol@example.com",
        "phone": "",
    }
    values.update(fields)
    return values


def _png(name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


# --- Landing and home --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_home_page_links_the_portal():
    assert 'href="/portal/"' in _html(Client().get("/"))


@pytest.mark.django_db
def test_the_landing_page_links_submit_sign_in_and_tracking():
    html = _html(Client().get("/portal/"))
    for href in ("/portal/new", "/portal/login", "/track"):
        assert f'href="{href}"' in html


@pytest.mark.django_db
def test_the_landing_page_of_a_signed_in_customer(customer_a, client_of):
    html = _html(client_of(customer_a).get("/portal/"))
    assert 'href="/portal/cases"' in html and "王小明" in html
    assert 'action="/portal/logout"' in html


# --- Submitting ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_form_asks_anonymous_visitors_who_they_are(departments):
    html = _html(Client().get("/portal/new"))
    assert 'enctype="multipart/form-data"' in html
    for name in (
        "kind",
        "category",
        "subject",
        "description",
        "order_ref",
        "product_sku",
        "serial",
        "photos",
        "name",
        "email",
        "phone",
    ):
        assert f'name="{name}"' in html, name
    assert "csrfmiddlewaretoken" in html
    assert '<option value="product.quality">' in html


@pytest.mark.django_db
def test_a_signed_in_customer_is_not_asked_again(customer_a, client_of):
    html = _html(client_of(customer_a).get("/portal/new"))
    assert 'name="subject"' in html
    assert 'name="email"' not in html and 'name="name"' not in html


@pytest.fixture
def without_sla_clocks(db):
    """No SLA policy applies: the portal promises its own hours per priority."""
    SlaPolicy.objects.update(active=False)


@pytest.mark.django_db
def test_the_expected_response_is_the_sla_first_response_due_time(departments):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/portal/new", _form())
    case = Case.objects.get()
    due = SlaTimer.objects.get(case=case, metric="first_response").due_at
    local = due.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    html = _html(client.get(response["Location"]))
    assert f"by {local:%Y-%m-%d %H:%M}" in html
    assert "within 24 hours" not in html


@pytest.mark.django_db
@pytest.mark.usefixtures("without_sla_clocks")
def test_an_anonymous_submission_shows_the_number_and_the_expected_response(departments):
    client = Client()
    response = client.post("/portal/new", {**_form(), "photos": [_png(), _png("b.png")]})

    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/portal/submitted/{case.number}"
    assert (case.kind, case.channel, case.category.code) == ("repair", "web", "product.quality")
    assert (case.order_ref, case.product_sku, case.serial) == ("JD-1001", "TV-55", "SN-42")
    assert case.customer.email == "carol@example.com"
    assert sorted(case.attachments.values_list("filename", flat=True)) == ["b.png", "photo.png"]

    page = client.get(response["Location"])
    html = _html(page)
    assert page.status_code == 200
    assert case.number in html
    # Normal priority: 24 hours by default.
    assert "24" in html
    due = case.created_at + __import__("datetime").timedelta(hours=24)
    assert (
        due.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
        in html
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("without_sla_clocks")
def test_the_expected_response_follows_the_portal_settings(departments):
    PortalSettings.objects.update_or_create(pk=1, defaults={"response_hours_normal": 8})
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/portal/new", _form())
    assert "within 8 hours" in _html(client.get(response["Location"]))


@pytest.mark.django_db
def test_the_language_of_a_new_customer_is_the_pages(departments):
    Client(HTTP_ACCEPT_LANGUAGE="en").post("/portal/new", _form())
    assert Customer.objects.get().language == "en"


@pytest.mark.django_db
def test_the_confirmation_is_only_for_the_submitter(departments, customer_b, client_of):
    response = Client().post("/portal/new", _form())
    url = response["Location"]

    assert Client().get(url).status_code == 404
    assert client_of(customer_b).get(url).status_code == 404


@pytest.mark.django_db
def test_the_owner_sees_the_confirmation_when_signed_in(customer_a, client_of):
    client = client_of(customer_a)
    response = client.post("/portal/new", _form(subject="Mine"))
    case = Case.objects.get()
    assert case.customer == customer_a
    html = _html(client.get(response["Location"]))
    assert case.number in html and f'href="/portal/cases/{case.number}"' in html
    # Also later, from another session of the same customer.
    assert client_of(customer_a).get(response["Location"]).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("big.png", png_bytes() + b"\0" * 4096, "image/png"),
            "the limit is 1024 bytes",
        ),
        (SimpleUploadedFile("page.html", b"<html></html>", "text/html"), "are not accepted"),
        (SimpleUploadedFile("fake.png", b"MZ\x90\x00 not an image", "image/png"), "does not match"),
    ],
)
def test_a_refused_photo_creates_nothing_and_keeps_the_input(
    departments, settings, upload, message, db_state
):
    settings.ATTACHMENT_MAX_BYTES = 1024
    before = db_state()

    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        "/portal/new",
        {
            **_form(subject="Keep <this> subject", description="Keep this text"),
            "photos": [_png(), upload],
        },
    )

    assert response.status_code == 422
    html = _html(response)
    assert message in unescape(html)
    assert 'value="Keep &lt;this&gt; subject"' in html
    assert "Keep this text</textarea>" in html
    assert 'value="carol@example.com"' in html
    assert "choose them again" in html
    assert db_state() == before


@pytest.mark.django_db
def test_a_contact_is_required(departments, db_state):
    before = db_state()
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post("/portal/new", _form(email="", phone=""))
    assert response.status_code == 422
    assert "Give an e-mail address or a phone number." in _html(response)
    assert db_state() == before


@pytest.mark.django_db
def test_a_phone_alone_is_enough(departments):
    response = Client().post("/portal/new", _form(email="", phone="138 0013 8000"))
    assert response.status_code == 302
    assert Case.objects.get().customer.phone == "138 0013 8000"


@pytest.mark.django_db
def test_submissions_are_rate_limited(departments, settings):
    settings.PORTAL_SUBMIT_RATE_LIMIT_PER_MINUTE = 2
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    codes = [client.post("/portal/new", _form()).status_code for _ in range(3)]
    assert codes == [302, 302, 429]
    assert Case.objects.count() == 2


@pytest.mark.django_db
def test_an_oversized_body_is_refused_before_it_is_read(departments, settings, db_state):
    settings.ATTACHMENT_MAX_BYTES = 1024
    before = db_state()
    big = SimpleUploadedFile("big.png", png_bytes() + b"\0" * (6 * 1024 * 1024 + 10), "image/png")
    response = Client().post("/portal/new", {**_form(), "photos": [big]})
    assert response.status_code == 413
    assert db_state() == before


# --- Signing in ----------------------------------------------------------------------------------


@pytest.fixture
def ask_link(django_capture_on_commit_callbacks):
    """ask_link(client, email, **data) -> the answer; the mail is sent as after a commit."""

    def ask(client: Client, email: str, **data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/portal/login", {"email": email, **data})

    return ask


@pytest.mark.django_db
def test_known_and_unknown_addresses_get_the_same_answer(ask_link, customer_a):
    known = ask_link(Client(), "a@example.com")
    unknown = ask_link(Client(), "stranger@example.com")

    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert known["Location"] == "/portal/login/sent"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["a@example.com"]
    sent = Client(HTTP_ACCEPT_LANGUAGE="en").get("/portal/login/sent")
    assert "If we know this address, we have sent a sign-in link to it." in _html(sent)


@pytest.mark.django_db
def test_answers_take_at_least_the_minimum_time(ask_link, customer_a, settings):
    import time

    settings.PORTAL_LOGIN_MIN_RESPONSE_MS = 200
    for email in ("a@example.com", "stranger@example.com"):
        started = time.monotonic()
        ask_link(Client(), email)
        assert time.monotonic() - started >= 0.2


@pytest.mark.django_db
def test_sign_in_requests_are_rate_limited_per_address(ask_link, customer_a, settings):
    settings.PORTAL_LOGIN_ADDRESS_RATE_LIMIT_PER_MINUTE = 2
    codes = [
        ask_link(Client(REMOTE_ADDR=f"198.51.100.{i}"), "A@example.com").status_code
        for i in range(3)
    ]
    assert codes == [302, 302, 429]
    assert len(mail.outbox) == 2 and LoginLink.objects.count() == 2


@pytest.mark.django_db
def test_sign_in_requests_are_rate_limited_per_address_known_or_not(ask_link, customer_a, settings):
    settings.PORTAL_LOGIN_ADDRESS_RATE_LIMIT_PER_MINUTE = 1
    codes = [ask_link(Client(), "stranger@example.com").status_code for _ in range(2)]
    assert codes == [302, 429]


@pytest.mark.django_db
def test_sign_in_requests_are_rate_limited_per_client(ask_link, customer_a, settings):
    settings.PORTAL_LOGIN_RATE_LIMIT_PER_MINUTE = 2
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    responses = [ask_link(client, f"user{i}@example.com") for i in range(2)]
    limited = ask_link(client, "a@example.com")
    assert [r.status_code for r in responses] == [302, 302]
    assert limited.status_code == 429
    assert "Too many sign-in requests" in _html(limited)
    assert mail.outbox == []


@pytest.mark.django_db
def test_an_invalid_address_is_shown_on_the_form():
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post("/portal/login", {"email": "nope"})
    assert response.status_code == 422
    assert 'value="nope"' in _html(response)


def _link_path() -> str:
    match = LINK.search(mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(0)


@pytest.mark.django_db
def test_the_link_signs_in_once(ask_link, customer_a):
    ask_link(Client(), "a@example.com")
    path = _link_path()
    client = Client()

    # Opening the link (or a mail scanner fetching it) changes nothing.
    opened = client.get(path)
    assert opened.status_code == 200 and opened["Referrer-Policy"] == "same-origin"
    assert LoginLink.objects.get().used_at is None

    signed_in = client.post(path)
    assert signed_in.status_code == 302 and signed_in["Location"] == "/portal/cases"
    assert client.get("/portal/cases").status_code == 200

    again = Client(HTTP_ACCEPT_LANGUAGE="en").post(path)
    assert again.status_code == 400
    assert "This sign-in link no longer works" in _html(again)


@pytest.mark.django_db
def test_an_expired_link_does_not_sign_in(ask_link, customer_a, clock):
    ask_link(Client(), "a@example.com")
    clock.advance(minutes=16)
    client = Client()
    assert client.post(_link_path()).status_code == 400
    assert client.get("/portal/cases").status_code == 302


@pytest.mark.django_db
def test_sign_in_returns_to_the_page_that_asked(customer_a, make_case, ask_link):
    case = make_case(customer=customer_a)
    client = Client()
    first = client.get(f"/portal/cases/{case.number}")
    assert first.status_code == 302
    assert first["Location"] == f"/portal/login?next=%2Fportal%2Fcases%2F{case.number}"
    login_page = client.get(first["Location"])
    assert f'value="/portal/cases/{case.number}"' in _html(login_page)
    ask_link(client, "a@example.com", next=f"/portal/cases/{case.number}")
    response = client.post(_link_path())
    assert response["Location"] == f"/portal/cases/{case.number}"


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/admin/"])
def test_sign_in_never_returns_elsewhere(customer_a, target, ask_link):
    client = Client()
    ask_link(client, "a@example.com", next=target)
    assert client.post(_link_path())["Location"] == "/portal/cases"


@pytest.mark.django_db
def test_sign_out(customer_a, client_of):
    client = client_of(customer_a)
    assert client.get("/portal/logout").status_code == 405
    assert client.post("/portal/logout")["Location"] == "/portal/"
    assert client.get("/portal/cases").status_code == 302


# --- My cases ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_my_cases_lists_only_my_own(customer_a, customer_b, make_case, client_of):
    mine = make_case(customer=customer_a, subject="My broken kettle")
    theirs = make_case(customer=customer_b, subject="Their lost parcel")

    html = _html(client_of(customer_a).get("/portal/cases"))
    assert mine.number in html and "My broken kettle" in html
    assert theirs.number not in html and "Their lost parcel" not in html


@pytest.mark.django_db
def test_my_cases_pages_by_keyset(customer_a, make_case, client_of, clock):
    numbers = []
    for i in range(23):
        clock.advance(minutes=1)
        numbers.append(make_case(customer=customer_a, subject=f"Case {i}").number)
    client = client_of(customer_a)

    first = _html(client.get("/portal/cases"))
    assert all(n in first for n in numbers[3:]) and not any(n in first for n in numbers[:3])
    cursor = unescape(re.search(r'hx-get="\?cursor=([^"]+)"', first).group(1))

    more = client.get("/portal/cases", {"cursor": cursor}, HTTP_HX_REQUEST="true")
    rows = _html(more)
    assert "<html" not in rows  # htmx gets the rows only
    assert all(n in rows for n in numbers[:3]) and not any(n in rows for n in numbers[3:])
    assert "cursor=" not in rows

    full = client.get("/portal/cases", {"cursor": cursor})
    assert "<html" in _html(full)


@pytest.mark.django_db
def test_a_broken_cursor_starts_over(customer_a, client_of):
    response = client_of(customer_a).get("/portal/cases", {"cursor": "!!!"})
    assert response.status_code == 302 and response["Location"] == "/portal/cases"


@pytest.mark.django_db
def test_my_cases_needs_a_customer(agent):
    assert Client().get("/portal/cases")["Location"] == "/portal/login?next=%2Fportal%2Fcases"
    staff = Client()
    staff.force_login(agent)
    assert staff.get("/portal/cases").status_code == 302


@pytest.mark.django_db
def test_my_cases_query_budget(customer_a, make_case, client_of, django_assert_num_queries):
    for _ in range(5):
        make_case(customer=customer_a, category="product.doa")
    client = client_of(customer_a)
    client.get("/portal/cases")
    # session, user, customer profile (header), the page of cases.
    with django_assert_num_queries(4):
        response = client.get("/portal/cases")
    assert response.status_code == 200


# --- The case page -------------------------------------------------------------------------------


@pytest.fixture
def busy_case(customer_a, make_case, agent, png):
    """A case with public and internal messages and files, resolved."""
    case = make_case(customer=customer_a, subject="Kettle leaks")
    case_add_message(actor=agent, case=case, body="Please send a photo of the base.")
    case_add_message(actor=agent, case=case, body="SECRET internal remark", internal=True)
    case_add_attachment(actor=agent, case=case, upload=png("manual.png"))
    case_add_attachment(actor=agent, case=case, upload=png("secret-note.png"), internal=True)
    case_transition(actor=agent, case=case, to="resolved", note="SECRET resolution note")
    return Case.objects.get(pk=case.pk)


@pytest.mark.django_db
def test_the_case_page_shows_the_public_timeline(busy_case, customer_a, client_of):
    html = _html(
        client_of(customer_a, HTTP_ACCEPT_LANGUAGE="en").get(f"/portal/cases/{busy_case.number}")
    )

    assert "Kettle leaks" in html and busy_case.number in html
    assert "Please send a photo of the base." in html
    assert "manual.png" in html
    assert "Request received" in html and "Resolved" in html
    assert "SECRET" not in html and "secret-note.png" not in html
    # Resolved: the customer may confirm or reopen.
    assert f'action="/portal/cases/{busy_case.number}/confirm"' in html
    assert f'action="/portal/cases/{busy_case.number}/reopen"' in html


@pytest.mark.django_db
def test_the_case_page_query_budget(busy_case, customer_a, client_of, django_assert_num_queries):
    client = client_of(customer_a)
    client.get(f"/portal/cases/{busy_case.number}")
    # session, user, case (+customer, category), events, files, messages, profile (header).
    with django_assert_num_queries(7):
        response = client.get(f"/portal/cases/{busy_case.number}")
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_new_case_shows_the_expected_response_and_no_decision(customer_a, make_case, client_of):
    case = make_case(customer=customer_a)
    html = _html(
        client_of(customer_a, HTTP_ACCEPT_LANGUAGE="en").get(f"/portal/cases/{case.number}")
    )
    assert "Expected response time" in html
    assert "/confirm" not in html and "/reopen" not in html
    assert f'action="/portal/cases/{case.number}/reply#reply"' in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "confirm", "reopen", "reply"),
    [
        ("new", False, False, True),
        ("open", False, False, True),
        ("pending_customer", False, False, True),
        ("pending_internal", False, False, True),
        ("resolved", True, True, True),
        ("closed", False, True, False),
        ("cancelled", False, False, False),
    ],
)
def test_the_buttons_follow_the_state_machine(
    customer_a, make_case, drive_case, client_of, status, confirm, reopen, reply
):
    case = drive_case(make_case(customer=customer_a), status)
    html = _html(client_of(customer_a).get(f"/portal/cases/{case.number}"))
    assert ("/confirm" in html) is confirm
    assert ("/reopen" in html) is reopen
    assert ("/reply" in html) is reply


@pytest.mark.django_db
def test_a_closed_case_cannot_be_reopened_after_the_window(
    customer_a, make_case, drive_case, client_of, clock, db_state
):
    case = drive_case(make_case(customer=customer_a), "closed")
    clock.advance(days=15)
    client = client_of(customer_a)
    assert "/reopen" not in _html(client.get(f"/portal/cases/{case.number}"))
    before = db_state(case)
    response = client.post(f"/portal/cases/{case.number}/reopen", {"reason": "again"})
    assert response.status_code == 302
    assert db_state(case) == before


@pytest.mark.django_db
def test_confirming_a_resolution(busy_case, customer_a, client_of):
    client = client_of(customer_a, HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(f"/portal/cases/{busy_case.number}/confirm")
    assert response.status_code == 302
    assert response["Location"] == f"/portal/cases/{busy_case.number}"
    assert Case.objects.get(pk=busy_case.pk).status == "closed"
    assert "The case is closed" in _html(client.get(response["Location"]))


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["new", "open", "pending_customer", "cancelled"])
def test_confirming_is_refused_unless_resolved(
    customer_a, make_case, drive_case, client_of, status, db_state
):
    case = drive_case(make_case(customer=customer_a), status)
    before = db_state(case)
    client = client_of(customer_a, HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(f"/portal/cases/{case.number}/confirm")
    assert response.status_code == 302
    assert "cannot be confirmed" in _html(client.get(response["Location"]))
    assert db_state(case) == before


@pytest.mark.django_db
def test_reopening_with_a_reason(busy_case, customer_a, client_of):
    client = client_of(customer_a)
    response = client.post(f"/portal/cases/{busy_case.number}/reopen", {"reason": "Still leaks"})
    assert response.status_code == 302
    assert Case.objects.get(pk=busy_case.pk).status == "open"
    assert Message.objects.filter(case=busy_case, body="Still leaks", from_customer=True).exists()


@pytest.mark.django_db
def test_replying_with_a_photo(customer_a, make_case, client_of):
    case = make_case(customer=customer_a)
    client = client_of(customer_a)
    response = client.post(
        f"/portal/cases/{case.number}/reply",
        {"body": "Here it is", "attachments": [_png("base.png")]},
    )
    assert response.status_code == 302
    message = Message.objects.get(case=case)
    assert (
        message.body == "Here it is" and message.from_customer and message.author == customer_a.user
    )
    assert list(message.attachments.values_list("filename", flat=True)) == ["base.png"]
    html = _html(client.get(f"/portal/cases/{case.number}"))
    assert "Here it is" in html and "base.png" in html


@pytest.mark.django_db
def test_an_empty_reply_shows_an_error(customer_a, make_case, client_of, db_state):
    case = make_case(customer=customer_a)
    before = db_state(case)
    response = client_of(customer_a, HTTP_ACCEPT_LANGUAGE="en").post(
        f"/portal/cases/{case.number}/reply", {"body": "   "}
    )
    assert response.status_code == 422
    assert "Write a message or choose a file." in _html(response)
    assert db_state(case) == before


@pytest.mark.django_db
def test_a_refused_file_in_a_reply_keeps_the_text(customer_a, make_case, client_of, db_state):
    case = make_case(customer=customer_a)
    before = db_state(case)
    response = client_of(customer_a, HTTP_ACCEPT_LANGUAGE="en").post(
        f"/portal/cases/{case.number}/reply",
        {
            "body": "My text",
            "attachments": [SimpleUploadedFile("x.exe", b"MZ", "application/x-msdownload")],
        },
    )
    assert response.status_code == 422
    assert "are not accepted" in _html(response) and "My text</textarea>" in _html(response)
    assert db_state(case) == before


@pytest.mark.django_db
def test_no_replies_to_a_closed_case(customer_a, make_case, drive_case, client_of, db_state):
    case = drive_case(make_case(customer=customer_a), "closed")
    before = db_state(case)
    response = client_of(customer_a).post(f"/portal/cases/{case.number}/reply", {"body": "Hi"})
    assert response.status_code == 302
    assert db_state(case) == before


@pytest.mark.django_db
def test_downloading_a_file(busy_case, customer_a, client_of):
    attachment = Attachment.objects.get(case=busy_case, filename="manual.png")
    response = client_of(customer_a).get(f"/portal/cases/{busy_case.number}/files/{attachment.pk}")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="manual.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == png_bytes()


@pytest.mark.django_db
def test_internal_files_cannot_be_downloaded(busy_case, customer_a, client_of):
    secret = Attachment.objects.get(case=busy_case, filename="secret-note.png")
    response = client_of(customer_a).get(f"/portal/cases/{busy_case.number}/files/{secret.pk}")
    assert response.status_code == 404


@pytest.mark.django_db
def test_files_are_only_reachable_through_their_own_case(
    busy_case, customer_a, make_case, client_of
):
    other = make_case(customer=customer_a)
    attachment = Attachment.objects.get(case=busy_case, filename="manual.png")
    response = client_of(customer_a).get(f"/portal/cases/{other.number}/files/{attachment.pk}")
    assert response.status_code == 404


# --- Another customer's case ---------------------------------------------------------------------


@pytest.mark.django_db
def test_another_customers_case_is_not_found_anywhere(
    busy_case, customer_b, client_of, db_state, png
):
    attachment = Attachment.objects.get(case=busy_case, filename="manual.png")
    client = client_of(customer_b)
    number = busy_case.number
    before = db_state(busy_case)

    responses = {
        "page": client.get(f"/portal/cases/{number}"),
        "reply": client.post(f"/portal/cases/{number}/reply", {"body": "hijack"}),
        "upload": client.post(f"/portal/cases/{number}/reply", {"attachments": [png()]}),
        "confirm": client.post(f"/portal/cases/{number}/confirm"),
        "reopen": client.post(f"/portal/cases/{number}/reopen", {"reason": "x"}),
        "download": client.get(f"/portal/cases/{number}/files/{attachment.pk}"),
        "confirmation": client.get(f"/portal/submitted/{number}"),
    }

    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(responses, 404)
    assert db_state(busy_case) == before


@pytest.mark.django_db
def test_an_unknown_number_is_not_found_alike(customer_b, client_of):
    assert client_of(customer_b).get("/portal/cases/AS-20260101-99999").status_code == 404


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(busy_case, db_state):
    before = db_state(busy_case)
    client = Client()
    for path in ("", "/reply", "/confirm", "/reopen"):
        response = client.post(f"/portal/cases/{busy_case.number}{path}", {"body": "x"})
        assert response.status_code in (302, 405)
        if response.status_code == 302:
            assert response["Location"].startswith("/portal/login")
    assert db_state(busy_case) == before


# --- Escaping, CSRF, CSP -----------------------------------------------------------------------


@pytest.mark.django_db
def test_user_text_is_escaped_everywhere(departments, agent):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    client = Client()
    response = client.post(
        "/portal/new", _form(subject=evil, description=evil, name=evil, order_ref="<b>o</b>")
    )
    case = Case.objects.get()
    case_add_message(actor=agent, case=case, body=evil)
    customer = case.customer
    customer.user = None
    from afterdesk.portal.services import customer_user_ensure

    customer_user_ensure(customer=customer)
    signed_in = Client()
    signed_in.force_login(Customer.objects.get(pk=customer.pk).user)

    pages = [
        client.get(response["Location"]),
        signed_in.get("/portal/cases"),
        signed_in.get(f"/portal/cases/{case.number}"),
    ]
    for page in pages:
        html = _html(page)
        assert page.status_code == 200
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


@pytest.mark.django_db
def test_every_form_needs_the_csrf_token(customer_a, make_case, drive_case, db_state):
    case = drive_case(make_case(customer=customer_a), "resolved")
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer_a.user)
    before = db_state(case)
    for path, data in [
        ("/portal/new", _form()),
        ("/portal/login", {"email": "a@example.com"}),
        ("/portal/login/sometoken", {}),
        ("/portal/logout", {}),
        (f"/portal/cases/{case.number}/reply", {"body": "x"}),
        (f"/portal/cases/{case.number}/confirm", {}),
        (f"/portal/cases/{case.number}/reopen", {}),
    ]:
        assert client.post(path, data).status_code == 403, path
    assert db_state(case) == before
    assert mail.outbox == []
    # The forms carry the token, and with it the same request works.
    page = client.get(f"/portal/cases/{case.number}")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', _html(page)).group(1)
    response = client.post(f"/portal/cases/{case.number}/confirm", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).status == "closed"


@pytest.mark.django_db
def test_pages_have_no_inline_script(busy_case, customer_a, client_of):
    signed_in, anonymous = client_of(customer_a), Client()
    for client, path in (
        (anonymous, "/portal/"),
        (anonymous, "/portal/new"),
        (anonymous, "/portal/login"),
        (anonymous, "/portal/login/sent"),
        (anonymous, "/portal/login/sometoken"),
        (signed_in, "/portal/"),
        (signed_in, "/portal/new"),
        (signed_in, "/portal/cases"),
        (signed_in, f"/portal/cases/{busy_case.number}"),
    ):
        response = client.get(path)
        html = _html(response)
        assert response.status_code == 200, path
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert not INLINE_SCRIPT.search(html), path
        assert not EVENT_HANDLER.search(html), path
        assert '<script src="/static/portal/portal.js" defer></script>' in html
