"""The e-mail corpus: every message of corpus/ with its expected outcome (manifest.json).

Each message is stored and processed as the SMTP listener and the worker would, on top of four
seeded cases (see conftest.seeded); a second processing run must change nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.utils.translation import gettext

from afterdesk.cases.models import Attachment, Case, Message
from afterdesk.intake.choices import InboundState, OutboundKind
from afterdesk.intake.models import OutboundMessage
from afterdesk.intake.services import inbound_process

CORPUS = Path(__file__).resolve().parent / "corpus"
MANIFEST: list[dict[str, Any]] = json.loads((CORPUS / "manifest.json").read_text())


def test_the_corpus_is_large_and_varied() -> None:
    files = sorted(p.name for p in CORPUS.glob("*.eml"))
    assert files == sorted(e["file"] for e in MANIFEST)
    assert len(files) >= 40
    outcomes = {e["outcome"] for e in MANIFEST}
    assert outcomes == {"new_case", "reply", "quarantined", "ignored"}


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"][:-4] for e in MANIFEST])
def test_corpus_message(entry: dict[str, Any], seeded: dict[str, Case], ingest: Any) -> None:
    raw = (CORPUS / entry["file"]).read_bytes()
    cases_before = Case.objects.count()
    messages_before = Message.objects.count()

    row = ingest(raw)

    outcome = entry["outcome"]
    expected_state = {
        "new_case": InboundState.PROCESSED,
        "reply": InboundState.PROCESSED,
        "quarantined": InboundState.QUARANTINED,
        "ignored": InboundState.IGNORED,
    }[outcome]
    assert (row.state, row.reason) == (expected_state, entry.get("reason", "")), row.error
    case = row.case
    if outcome == "new_case":
        assert Case.objects.count() == cases_before + 1
        assert case is not None and case.number not in seeded
        assert case.channel == "email" and row.case_message is None
        text = case.description
    elif outcome == "reply":
        assert Case.objects.count() == cases_before
        assert case is not None and case.number == entry["case"]
        message = row.case_message
        assert message is not None and message.from_customer and message.channel == "email"
        assert not message.internal
        text = message.body
    else:
        assert case is None and row.case_message is None
        assert Case.objects.count() == cases_before
        assert Message.objects.count() == messages_before
        assert row.error or outcome == "ignored"
        text = ""

    if "subject" in entry:
        assert case is not None
        assert case.subject == entry["subject"]
    if "subject_msgid" in entry:  # a subject we supply, in the installation's language
        assert case is not None
        assert case.subject == gettext(entry["subject_msgid"])
    if "follow_up_of" in entry:
        assert gettext("Follow-up to %(number)s.") % {"number": entry["follow_up_of"]} in text
    for needle in entry.get("body_contains", []):
        assert needle in text, text[:500]
    for needle in entry.get("body_excludes", []):
        assert needle not in text, text[:500]
    if "description" in entry:
        assert case is not None and case.description == entry["description"]
    if entry.get("truncated"):
        assert "text_truncated" in row.notes and text.endswith("…")
    for needle in entry.get("html_contains", []):
        assert needle in row.html
    for needle in entry.get("html_excludes", []):
        assert needle not in row.html.lower()
    if "sender" in entry:
        assert row.sender == entry["sender"]
    if "customer_name" in entry:
        assert case is not None and case.customer.name == entry["customer_name"]
    if "language" in entry:
        assert case is not None and case.customer.language == entry["language"]
    if "case_status" in entry:
        assert case is not None
        case.refresh_from_db()
        assert case.status == entry["case_status"]
    if "attachments" in entry:
        stored = (
            Attachment.objects.filter(case=case) if case is not None else Attachment.objects.none()
        )
        if outcome == "reply":
            stored = stored.filter(message=row.case_message)
        assert stored.count() == entry["attachments"]
        if "attachment_names" in entry:
            assert sorted(a.filename for a in stored) == sorted(entry["attachment_names"])
    if "refused_attachments" in entry:
        refused = [a["filename"] for a in row.notes.get("attachments_refused", [])]
        assert refused == entry["refused_attachments"]
    if "ack" in entry:
        acks = OutboundMessage.objects.filter(case=case, kind=OutboundKind.ACK)
        assert acks.exists() is entry["ack"]

    # Processing it again (a retried task, a second worker) changes nothing.
    counts = (Case.objects.count(), Message.objects.count(), Attachment.objects.count())
    again = inbound_process(inbound_id=row.pk)
    assert again is not None and again.state == row.state
    assert (Case.objects.count(), Message.objects.count(), Attachment.objects.count()) == counts
