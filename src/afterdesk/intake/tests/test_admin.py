"""The intake admin: quarantine with retry, outbox with resend, webhook secrets shown once."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from afterdesk.intake.models import InboundMessage, Mailbox, OutboundMessage, WebhookSource

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(admin_user: Any) -> Client:
    browser = Client()
    browser.force_login(admin_user)
    return browser


def _quarantined(mailbox: Mailbox) -> InboundMessage:
    now = timezone.now()
    return InboundMessage.objects.create(
        mailbox=mailbox,
        source="smtp",
        raw_sha256="1" * 64,
        raw=b"From: a@example.com\r\nSubject: hello\r\n\r\nbody\r\n",
        size=44,
        state="quarantined",
        reason="parse_error",
        error="boom",
        received_at=now,
        enqueued_at=now,
        updated_at=now,
    )


@pytest.mark.parametrize(
    "model",
    [
        "mailbox",
        "inboundmessage",
        "outboundmessage",
        "webhooksource",
        "webhookevent",
        "intakepolicy",
        "policycheck",
    ],
)
def test_every_screen_opens(client: Client, model: str) -> None:
    assert client.get(f"/admin/intake/{model}/").status_code == 200


def test_a_quarantined_message_shows_its_raw_start_and_can_be_retried(
    client: Client, support_mailbox: Mailbox
) -> None:
    row = _quarantined(support_mailbox)
    page = client.get(f"/admin/intake/inboundmessage/{row.pk}/change/")
    assert page.status_code == 200 and b"Subject: hello" in page.content
    response = client.post(
        "/admin/intake/inboundmessage/", {"action": "retry", "_selected_action": [row.pk]}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.state == "received"


def test_a_new_webhook_source_shows_its_secret_once(client: Client) -> None:
    response = client.post(
        "/admin/intake/webhooksource/add/",
        {"slug": "taobao", "name": "Taobao", "channel": "marketplace", "is_active": "on"},
        follow=True,
    )
    source = WebhookSource.objects.get(slug="taobao")
    assert len(source.secret) >= 40
    assert source.secret in response.content.decode()
    assert (
        source.secret
        not in client.get(f"/admin/intake/webhooksource/{source.pk}/change/").content.decode()
    )

    old = source.secret
    rotated = client.post(
        "/admin/intake/webhooksource/",
        {"action": "rotate_secret", "_selected_action": [source.pk]},
        follow=True,
    )
    source.refresh_from_db()
    assert source.secret != old and source.secret in rotated.content.decode()


def test_a_failed_message_can_be_sent_again(client: Client, make_case: Any) -> None:
    case = make_case()
    OutboundMessage.objects.filter(case=case).update(state="failed", attempts=8)
    ack = OutboundMessage.objects.get(case=case)
    client.post("/admin/intake/outboundmessage/", {"action": "retry", "_selected_action": [ack.pk]})
    ack.refresh_from_db()
    assert (ack.state, ack.attempts) == ("queued", 0)
