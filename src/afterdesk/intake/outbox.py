"""The outbox: e-mail to customers, written in the same transaction as the change that causes
it and sent by the worker — with retries and backoff, once each, in order per case.

Enqueueing (`outbox_ack`, `outbox_reply`, `outbox_notification`) only writes a row. The
periodic sender claims due rows (SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL, a conditional
UPDATE of a lease elsewhere), renders a row on its first attempt, sends it through Django's
mail backend outside any transaction, and records the outcome. Sequence n+1 of a case waits
until n is sent or given up.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Lower
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from afterdesk.cases.choices import Priority
from afterdesk.cases.models import Case, Message
from afterdesk.core import fastsql
from afterdesk.core.text import single_line
from afterdesk.intake.choices import InboundState, OutboundKind, OutboundState
from afterdesk.intake.models import InboundMessage, Mailbox, OutboundMessage, PolicyCheck

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)
BATCH = 100
REFERENCES_KEPT = 10
ATTACHMENTS_MAX_BYTES = 10 * 1024 * 1024
# RFC 3834: no automatic answer to daemons and to addresses that say they take no replies.
NO_AUTO_REPLY_LOCAL_PARTS = frozenset(
    {
        "mailer-daemon",
        "postmaster",
        "noreply",
        "no-reply",
        "no_reply",
        "donotreply",
        "do-not-reply",
        "bounce",
        "bounces",
    }
)
# The first response promised without the portal app (the portal's own defaults).
DEFAULT_FIRST_RESPONSE: dict[str, timedelta] = {
    Priority.URGENT: timedelta(hours=1),
    Priority.HIGH: timedelta(hours=4),
    Priority.NORMAL: timedelta(hours=24),
    Priority.LOW: timedelta(hours=48),
}


def new_message_id(number: str) -> str:
    """One of our own Message-IDs (without the angle brackets)."""
    return f"{number}.{uuid.uuid4().hex}@{settings.INTAKE_MESSAGE_ID_DOMAIN}"


def our_addresses() -> set[str]:
    """Addresses that are us: the sender address and every mailbox."""
    addresses = {a.lower() for a in Mailbox.objects.values_list("address", flat=True)}
    addresses.add(settings.DEFAULT_FROM_EMAIL.lower())
    return addresses


_OUR_ADDRESSES_TTL = 30.0
_our_addresses_cache: tuple[float, set[str]] = (0.0, set())


def our_addresses_cached() -> set[str]:
    """our_addresses() read at most every 30 s per process: case creation stays cheap, and a
    mailbox added in the admin is known to every process within half a minute."""
    global _our_addresses_cache
    loaded_at, addresses = _our_addresses_cache
    if time.monotonic() - loaded_at > _OUR_ADDRESSES_TTL:
        addresses = our_addresses()
        _our_addresses_cache = (time.monotonic(), addresses)
    return addresses


def _sender_of(case: Case) -> tuple[str, str]:
    """(address, display name) we write from: the mailbox the case came in through, else
    DEFAULT_FROM_EMAIL."""
    first = (
        InboundMessage.objects.filter(case=case)
        .order_by("received_at", "id")
        .values_list("mailbox__address", "mailbox__display_name")
        .first()
    )
    if first:
        return first[0], first[1]
    return settings.DEFAULT_FROM_EMAIL, ""


def _enqueue(
    *,
    case: Case,
    kind: str,
    now: datetime,
    message: Message | None = None,
    context: dict[str, Any] | None = None,
    first: bool = False,
) -> OutboundMessage | None:
    customer = case.customer
    if not customer.email:
        return None
    # The caller holds the case (its transaction created or locked it), so no one else
    # numbers messages of it meanwhile; the unique constraint on (case, sequence) is the last
    # line of defence. `first`: the case was created in this transaction, so this is 1.
    # Otherwise the INSERT computes max + 1 itself, and `sequence` of the returned object is
    # that expression: refresh to read the number.
    sequence: Any = 1
    if not first:
        latest = (
            OutboundMessage.objects.filter(case_id=case.pk)
            .values("case_id")
            .annotate(last=Max("sequence"))
            .values("last")[:1]
        )
        sequence = Coalesce(Subquery(latest), Value(0)) + 1
    outbound = OutboundMessage(
        case=case,
        case_message=message,
        kind=kind,
        sequence=sequence,
        to_email=customer.email,
        to_name=single_line(customer.name)[:200],
        language=customer.language or settings.LANGUAGE_CODE,
        context=context or {},
        message_id=new_message_id(case.number),
        next_attempt_at=now,
        created_at=now,
    )
    if first:
        # The acknowledgement of every new case: a prepared INSERT (core.fastsql).
        fastsql.insert([outbound])
    else:
        outbound.save(force_insert=True)
    return outbound


def ack_suppressed(*, address: str) -> str:
    """Why no acknowledgement may be queued for `address` ("" if it may): a daemon or
    no-reply address, or one of our own. (The hourly cap per address is applied when sending,
    off the path of case creation: see `_over_ack_cap`.)"""
    normalized = address.strip().lower()
    if not normalized:
        return "no_address"
    if normalized.partition("@")[0] in NO_AUTO_REPLY_LOCAL_PARTS:
        return "daemon"
    if normalized in our_addresses_cached():
        return "own_address"
    return ""


def acks_sent_within_the_hour(address: str, now: datetime) -> QuerySet[OutboundMessage]:
    """The acknowledgements sent to `address` (in any case) in the hour before `now`."""
    # lower(to_email) = …, as the index outbound_ack_cap has it (to_email__iexact is a LIKE on
    # SQLite, which no index serves: every message ever sent was read for each one sent).
    # Both sides lower-cased by the database, which may lower fewer letters than Python.
    return OutboundMessage.objects.alias(to_lower=Lower("to_email")).filter(
        to_lower=Lower(Value(address)),
        kind=OutboundKind.ACK,
        state=OutboundState.SENT,
        sent_at__gte=now - timedelta(hours=1),
    )


def _over_ack_cap(outbound: OutboundMessage, now: datetime) -> bool:
    """Has this address already been sent INTAKE_ACK_MAX_PER_HOUR acknowledgements within
    the hour? (Two auto-responders answering each other stop here.)"""
    sent = acks_sent_within_the_hour(outbound.to_email, now).count()
    return sent >= settings.INTAKE_ACK_MAX_PER_HOUR


def outbox_ack(*, case: Case, now: datetime | None = None) -> OutboundMessage | None:
    """Queue the acknowledgement of a new case (number, expected first response, tracking
    link, and the policy that applies when the request is outside a window).

    Nothing is queued for a customer without an e-mail address or when `ack_suppressed`.
    Call inside the transaction that created the case.
    """
    now = now or timezone.now()
    if not case.customer.email:
        return None
    reason = ack_suppressed(address=case.customer.email)
    if reason:
        logger.info("No acknowledgement for case %s: %s", case.number, reason)
        return None
    return _enqueue(case=case, kind=OutboundKind.ACK, now=now, first=True)


def outbox_reply(*, message: Message, now: datetime | None = None) -> OutboundMessage | None:
    """Queue a public staff reply to the customer (with its public attachments, read when it
    is sent). Internal notes and the customer's own messages are never mailed."""
    if message.internal or message.from_customer:
        return None
    return _enqueue(
        case=message.case, kind=OutboundKind.REPLY, message=message, now=now or timezone.now()
    )


def outbox_notification(
    *, case: Case, subject: str, body: str, now: datetime | None = None
) -> OutboundMessage | None:
    """Queue a notification to the customer of `case` (subject and text are given, already
    in the customer's language)."""
    context = {"subject": single_line(subject)[:200], "body": body}
    return _enqueue(
        case=case, kind=OutboundKind.NOTIFICATION, context=context, now=now or timezone.now()
    )


# --- rendering ------------------------------------------------------------------------------


def first_response_due(case: Case) -> datetime:
    """When the customer may expect a first answer: the promise the customer portal makes
    (the SLA first-response due time, else its per-priority hours), so that the e-mail and the
    portal never disagree; without the portal, a default per priority."""
    if apps.is_installed("afterdesk.portal"):
        from afterdesk.portal.selectors import expected_first_response

        return expected_first_response(case=case).due_at
    return case.created_at + DEFAULT_FIRST_RESPONSE.get(case.priority, timedelta(hours=24))


def _local(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def policy_rule(check: PolicyCheck | None) -> str:
    """The period a request missed and when it ended, in the active language ("" if none)."""
    if check is None or check.within:
        return ""
    window = check.windows
    values = {
        "days": window.get("days") or 0,
        "months": window.get("months") or 0,
        "starts": window.get("starts", ""),
        "ends": window.get("ends", ""),
    }
    texts = {
        "return": _(
            "Returns are accepted within %(days)d days of delivery. Your order was delivered "
            "on %(starts)s, so the return period ended on %(ends)s."
        ),
        "exchange": _(
            "Exchanges are accepted within %(days)d days of delivery. Your order was "
            "delivered on %(starts)s, so the exchange period ended on %(ends)s."
        ),
        "warranty": _(
            "The warranty of this product lasts %(months)d months from purchase. Your purchase "
            "of %(starts)s was covered until %(ends)s; a repair now may be charged."
        ),
        "complaint": _(
            "Complaints are accepted within %(days)d days of delivery. Your order was "
            "delivered on %(starts)s, so that period ended on %(ends)s."
        ),
    }
    text = texts.get(str(window.get("window", "")), "")
    return text % values if text else ""


def policy_notice(check: PolicyCheck | None) -> str:
    """What the customer is told when the request is outside a policy window."""
    rule = policy_rule(check)
    if not rule:
        return ""
    return (
        rule
        + " "
        + _("We have recorded your request all the same; an agent will tell you what we can do.")
    )


def _thread_of(outbound: OutboundMessage) -> tuple[str, list[str]]:
    """(In-Reply-To, References) for `outbound`: the messages of its case so far, in order."""
    inbound = InboundMessage.objects.filter(
        case_id=outbound.case_id, state=InboundState.PROCESSED
    ).exclude(message_id="")
    earlier = OutboundMessage.objects.filter(
        case_id=outbound.case_id, sequence__lt=outbound.sequence
    )
    dated = [*inbound.values_list("received_at", "message_id")]
    dated += [*earlier.values_list("created_at", "message_id")]
    ids = list(dict.fromkeys(mid for _at, mid in sorted(dated)))
    if not ids:
        return "", []
    references = list(dict.fromkeys(ids[:1] + ids[-(REFERENCES_KEPT - 1) :]))
    return ids[-1], references


def render(outbound: OutboundMessage) -> tuple[str, str, str]:
    """(subject, text, HTML) of `outbound` in the customer's language."""
    case = outbound.case
    tracking_url = settings.SITE_URL + "/track"
    with translation.override(outbound.language or settings.LANGUAGE_CODE):
        common = {
            "number": case.number,
            "case_subject": case.subject,
            "customer_name": outbound.to_name,
            "tracking_url": tracking_url,
        }
        if outbound.kind == OutboundKind.ACK:
            check = PolicyCheck.objects.filter(case=case).first()
            context = {
                **common,
                "kind": case.get_kind_display(),
                "first_response_due": _local(first_response_due(case)),
                "time_zone": settings.TIME_ZONE,
                "policy_notice": policy_notice(check),
            }
            subject = _("[%(number)s] We have received your request: %(subject)s") % {
                "number": case.number,
                "subject": case.subject,
            }
            template = "ack"
        elif outbound.kind == OutboundKind.REPLY:
            message = outbound.case_message
            author = message.author if message is not None else None
            context = {
                **common,
                "body": message.body if message is not None else "",
                "agent": author.display_name if author is not None else "",
            }
            subject = _("Re: [%(number)s] %(subject)s") % {
                "number": case.number,
                "subject": case.subject,
            }
            template = "reply"
        else:
            context = {**common, "body": outbound.context.get("body", "")}
            subject = f"[{case.number}] {outbound.context.get('subject', '')}"
            template = "notification"
        text = render_to_string(f"intake/email/{template}.txt", context)
        markup = render_to_string(f"intake/email/{template}.html", context)
    return single_line(subject)[:255], text, markup


def build_email(outbound: OutboundMessage, *, display: str | None = None) -> EmailMultiAlternatives:
    """The e-mail of a rendered `outbound`, with our Message-ID and the threading headers;
    `display`: the sender's display name when the caller has it already.

    Every header value is one line (names and subjects are collapsed when stored); Django's
    mail refuses a header with a line break in any case (BadHeaderError).
    """
    if display is None:
        _address, display = _sender_of(outbound.case)
    headers = {
        "Message-ID": f"<{outbound.message_id}>",
        "X-Afterdesk-Case": outbound.case.number,
    }
    if outbound.in_reply_to:
        headers["In-Reply-To"] = f"<{outbound.in_reply_to}>"
    if outbound.references:
        headers["References"] = " ".join(f"<{r}>" for r in outbound.references.split())
    if outbound.kind == OutboundKind.ACK:
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    elif outbound.kind == OutboundKind.NOTIFICATION:
        headers["Auto-Submitted"] = "auto-generated"
    email = EmailMultiAlternatives(
        subject=outbound.subject,
        body=outbound.body_text,
        from_email=formataddr((single_line(display), outbound.from_email)),
        to=[formataddr((single_line(outbound.to_name), outbound.to_email))],
        headers=headers,
    )
    email.attach_alternative(outbound.body_html, "text/html")
    if outbound.kind == OutboundKind.REPLY:
        _attach_files(email, outbound)
    return email


def _attach_files(email: EmailMultiAlternatives, outbound: OutboundMessage) -> None:
    if outbound.case_message is None:
        return
    total = 0
    for attachment in outbound.case_message.attachments.filter(internal=False).order_by("id"):
        total += attachment.size
        if total > ATTACHMENTS_MAX_BYTES:
            break
        with attachment.file.open("rb") as handle:
            email.attach(attachment.filename, handle.read(), attachment.content_type)


# --- sending --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    suppressed: int = 0


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts` + 1: 1, 2, 4, … minutes, at most 6 hours."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def _claimable(now: datetime) -> Any:
    earlier_queued = OutboundMessage.objects.filter(
        case=OuterRef("case"), sequence__lt=OuterRef("sequence"), state=OutboundState.QUEUED
    )
    return (
        OutboundMessage.objects.filter(state=OutboundState.QUEUED, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .exclude(Exists(earlier_queued))
        .order_by("next_attempt_at", "id")
    )


def _claim(now: datetime, limit: int) -> list[int]:
    """Take up to `limit` due messages for this sender by setting their lease."""
    lease = now + LEASE
    with transaction.atomic():
        candidates = _claimable(now)
        if connection.vendor == "postgresql":
            ids = list(
                candidates.select_for_update(skip_locked=True, of=("self",)).values_list(
                    "pk", flat=True
                )[:limit]
            )
            OutboundMessage.objects.filter(pk__in=ids).update(claimed_until=lease)
            return ids
        claimed = []
        for pk in candidates.values_list("pk", flat=True)[:limit]:
            won = (
                OutboundMessage.objects.filter(pk=pk, state=OutboundState.QUEUED)
                .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
                .update(claimed_until=lease)
            )
            if won:
                claimed.append(pk)
        return claimed


def _send_one(pk: int, mail_connection: Any) -> str:
    """Send one claimed message; returns "sent", "retried", "failed" or "suppressed"."""
    outbound = (
        OutboundMessage.objects.select_related("case", "case__customer", "case_message__author")
        .filter(pk=pk, state=OutboundState.QUEUED)
        .first()
    )
    if outbound is None:
        return "gone"
    now = timezone.now()
    if outbound.kind == OutboundKind.ACK and _over_ack_cap(outbound, now):
        OutboundMessage.objects.filter(pk=pk, state=OutboundState.QUEUED).update(
            state=OutboundState.SUPPRESSED,
            claimed_until=None,
            last_error=f"hourly cap of {settings.INTAKE_ACK_MAX_PER_HOUR} acknowledgements",
        )
        logger.info("Acknowledgement %s suppressed: hourly cap for %s", pk, outbound.to_email)
        return "suppressed"
    # The rendering is kept with the outcome (one UPDATE), so a retry sends the same text.
    rendered: dict[str, Any] = {}
    try:
        from_email, display = _sender_of(outbound.case)
        if outbound.rendered_at is None:
            subject, text, markup = render(outbound)
            in_reply_to, references = _thread_of(outbound)
            rendered = {
                "from_email": from_email,
                "subject": subject,
                "body_text": text,
                "body_html": markup,
                "in_reply_to": in_reply_to,
                "references": " ".join(references),
                "rendered_at": now,
            }
            for name, value in rendered.items():
                setattr(outbound, name, value)
        mail_connection.send_messages([build_email(outbound, display=display)])
    except Exception as exc:
        attempts = outbound.attempts + 1
        error = f"{type(exc).__name__}: {exc}"[:2000]
        given_up = attempts >= MAX_ATTEMPTS
        OutboundMessage.objects.filter(pk=pk, state=OutboundState.QUEUED).update(
            **rendered,
            attempts=attempts,
            last_error=error,
            claimed_until=None,
            state=OutboundState.FAILED if given_up else OutboundState.QUEUED,
            next_attempt_at=now + backoff(attempts),
        )
        logger.warning("Sending %s failed (attempt %d): %s", outbound, attempts, error)
        return "failed" if given_up else "retried"
    OutboundMessage.objects.filter(pk=pk, state=OutboundState.QUEUED).update(
        **rendered,
        state=OutboundState.SENT,
        sent_at=now,
        attempts=F("attempts") + 1,
        claimed_until=None,
        last_error="",
    )
    return "sent"


def outbox_send_due(
    *, limit: int = BATCH, time_budget: float = 50.0, now: datetime | None = None
) -> SendReport:
    """Send what is due, batch after batch, until nothing is due or `time_budget` seconds
    have passed. Safe to run in any number of workers at once."""
    started = time.monotonic()
    counts = {"sent": 0, "retried": 0, "failed": 0, "suppressed": 0}
    while time.monotonic() - started < time_budget:
        claimed = _claim(now or timezone.now(), limit)
        if not claimed:
            break
        mail_connection = get_connection()
        try:
            mail_connection.open()
        except Exception as exc:
            # An operational condition, not a bug: each send below tries again and records
            # its own failed attempt.
            logger.warning("Cannot connect to the mail server: %s: %s", type(exc).__name__, exc)
        try:
            for pk in claimed:
                outcome = _send_one(pk, mail_connection)
                if outcome in counts:
                    counts[outcome] += 1
        finally:
            mail_connection.close()
    return SendReport(**counts)


def outbox_retry(*, outbound: OutboundMessage) -> OutboundMessage:
    """Queue a failed message again now (admin), with a fresh count of attempts."""
    now = timezone.now()
    OutboundMessage.objects.filter(pk=outbound.pk, state=OutboundState.FAILED).update(
        state=OutboundState.QUEUED, attempts=0, next_attempt_at=now, claimed_until=None
    )
    outbound.refresh_from_db()
    return outbound
