"""Mail intake: keep every raw message durably first, then turn each into exactly one case or
one customer reply — or leave it, with the reason, in quarantine or among the ignored.

Storing (`inbound_store`) is one INSERT deduplicated by unique constraints; the SMTP listener
and the IMAP poller do nothing else. Processing runs in the worker, in jobs per mailbox that
take its `received` messages oldest first (`inbound_process_pending`; a burst of mail is a
job or two, not thousands). A job claims a few messages, parses them outside any transaction
(so that the listener and other workers write meanwhile), then applies each under a row lock,
only while still `received`, with all its writes in one transaction, so processing it twice —
a retry, a second worker, a restart after a crash — never makes a second case.
`inbound_requeue_stuck` hands the messages a dead worker left behind to the worker again.

Threading rule (what a message joins):

1. In-Reply-To / References naming one of *our* outbound Message-IDs: the reply joins that
   case when its sender (the From address; Reply-To is never trusted) is a contact of the
   case's customer; from anyone else it is quarantined as a suspected forgery.
2. Naming a message the customer sent us earlier that became a case: joins it when the
   sender is a contact of that case's customer.
3. Otherwise the case number in the subject, `[AS-YYYYMMDD-NNNNN]`, only when the sender is a
   contact of that case's customer.
4. Otherwise a new case. A reply to a cancelled case, or to a closed one past its reopen
   window, also opens a new case that names the old one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from afterdesk.cases.choices import Channel, Status
from afterdesk.cases.errors import CaseInvalid
from afterdesk.cases.models import Case, Message
from afterdesk.cases.services import (
    BODY_MAX,
    CaseInput,
    allowed_transitions,
    case_add_attachment,
    case_add_message,
    case_create,
    case_transition,
)
from afterdesk.core.errors import ValidationFailed
from afterdesk.customers.choices import ContactKind
from afterdesk.customers.models import ContactPoint, Order
from afterdesk.customers.services import (
    CustomerInput,
    normalize_email,
    validate_email,
)
from afterdesk.intake.choices import (
    IgnoreReason,
    InboundSource,
    InboundState,
    QuarantineReason,
)
from afterdesk.intake.errors import MessageTooLarge, RetryNotAllowed
from afterdesk.intake.models import InboundMessage, Mailbox, OutboundMessage
from afterdesk.intake.outbox import our_addresses_cached
from afterdesk.intake.parsing import (
    ParsedMail,
    ParseError,
    message_id_of,
    parse_message,
    strip_quoted,
)

logger = logging.getLogger(__name__)

# A transient database failure (locked, connection lost) leaves a message `received` for a
# later attempt; after this many it goes to quarantine.
MAX_TRANSIENT_ATTEMPTS = 5
# Messages a mailbox job claims and parses at a time; together at most CLAIM_MAX_BYTES (one
# message always).
PROCESS_BATCH = 20
CLAIM_MAX_BYTES = 32 * 1024 * 1024
# A transaction applying messages is committed once it has been open this long (after one
# message at least; each message in its own savepoint), so that other writers — the SMTP
# listener, which answers senders only once their message is stored — never wait long for
# the SQLite write lock.
APPLY_TRANSACTION_SECONDS = 0.02
# How long a claim keeps other workers off the messages (at most INTAKE_STUCK_AFTER_SECONDS).
CLAIM_SECONDS = 60
SENDER_RATE_WINDOW = timedelta(hours=1)
HTML_MAX = 500_000
_ORDER_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{4,63}")


def case_number_pattern() -> re.Pattern[str]:
    """`[AS-20261123-00042]` in a subject (the prefix is CASE_NUMBER_PREFIX)."""
    prefix = re.escape(settings.CASE_NUMBER_PREFIX)
    return re.compile(rf"\[\s*({prefix}-\d{{8}}-\d{{5,}})\s*\]", re.IGNORECASE)


@dataclass(frozen=True)
class StoreResult:
    message: InboundMessage
    created: bool


def request_processing(*, mailbox_id: int, force: bool = False, yield_turn: bool = False) -> bool:
    """Queue a job processing the mailbox's received messages, unless one is queued already
    (`force`: queue one all the same). Returns whether a job was queued.

    Intake jobs go before other waiting tasks; `yield_turn`: this one goes behind those
    queued before it (a job that ran out of time on a long backlog queues the next so, lest
    mail arriving faster than the worker keeps acknowledgements and sweeps waiting for ever).
    """
    # Imported here: the tasks module imports these services.
    from afterdesk.intake.tasks import intake_process_mailbox

    if not force and Mailbox.objects.filter(pk=mailbox_id, processing_requested=True).exists():
        # A job is queued and has not started: it clears the flag before it looks for
        # messages, so it finds those stored until now. No write, so storing a message stays
        # one write transaction while a burst of mail waits for the job.
        return False
    with transaction.atomic():
        won = Mailbox.objects.filter(pk=mailbox_id, processing_requested=False).update(
            processing_requested=True
        )
        if won or force:
            job = intake_process_mailbox.using(priority=0) if yield_turn else intake_process_mailbox
            job.enqueue(mailbox_id)
    return bool(won or force)


def inbound_store(
    *,
    mailbox: Mailbox,
    raw: bytes,
    source: str,
    envelope_from: str = "",
    recipients: Sequence[str] = (),
    imap_uid: int | None = None,
    request: bool = True,
) -> StoreResult:
    """Keep a raw message (one INSERT) and hand it to the worker once committed (`request`
    False: the caller calls `request_processing` after its transaction, once for many).

    The same message again — same Message-ID, or the same bytes when it has none — in the
    same mailbox returns the stored row with created=False. Raises MessageTooLarge above
    INTAKE_MAX_MESSAGE_BYTES.
    """
    if len(raw) > settings.INTAKE_MAX_MESSAGE_BYTES:
        raise MessageTooLarge(
            _("The message is %(size)d bytes; the limit is %(limit)d bytes.")
            % {"size": len(raw), "limit": settings.INTAKE_MAX_MESSAGE_BYTES}
        )
    digest = hashlib.sha256(raw).hexdigest()
    try:
        message_id = message_id_of(raw)
    except Exception:  # a header block the parser chokes on: dedupe by the bytes alone
        message_id = ""
    now = timezone.now()
    try:
        with transaction.atomic():
            inbound = InboundMessage.objects.create(
                mailbox=mailbox,
                source=source,
                message_id=message_id,
                raw_sha256=digest,
                raw=raw,
                size=len(raw),
                envelope_from=envelope_from[:254],
                envelope_to=", ".join(recipients)[:1000],
                imap_uid=imap_uid,
                received_at=now,
                enqueued_at=now,
                updated_at=now,
            )
            if request:
                # robust: the message is stored; a job that failed to queue is queued by the
                # sweep.
                transaction.on_commit(
                    lambda: request_processing(mailbox_id=mailbox.pk), robust=True
                )
    except IntegrityError:
        same = (
            Q(raw_sha256=digest) | Q(message_id=message_id) if message_id else Q(raw_sha256=digest)
        )
        existing = InboundMessage.objects.defer("raw").filter(mailbox=mailbox).filter(same).first()
        if existing is None:
            raise
        return StoreResult(message=existing, created=False)
    return StoreResult(message=inbound, created=True)


def inbound_record_oversize(
    *, mailbox: Mailbox, size: int, imap_uid: int, message_id: str = ""
) -> StoreResult:
    """Record, in quarantine, a message of an IMAP mailbox too large to download (it stays
    on the server). Idempotent per mailbox and UID."""
    marker = f"oversize:{mailbox.pk}:{mailbox.imap_uidvalidity}:{imap_uid}"
    digest = hashlib.sha256(marker.encode()).hexdigest()
    now = timezone.now()
    try:
        with transaction.atomic():
            inbound = InboundMessage.objects.create(
                mailbox=mailbox,
                source=InboundSource.IMAP,
                message_id=message_id[:255],
                raw_sha256=digest,
                raw=b"",
                size=size,
                imap_uid=imap_uid,
                state=InboundState.QUARANTINED,
                reason=QuarantineReason.TOO_LARGE,
                error=_("%(size)d bytes; the limit is %(limit)d. It is still in the mailbox.")
                % {"size": size, "limit": settings.INTAKE_MAX_MESSAGE_BYTES},
                received_at=now,
                enqueued_at=now,
                updated_at=now,
            )
    except IntegrityError:
        existing = InboundMessage.objects.defer("raw").get(mailbox=mailbox, raw_sha256=digest)
        return StoreResult(message=existing, created=False)
    return StoreResult(message=inbound, created=True)


# --- processing -----------------------------------------------------------------------------
#
# A mailbox job works in batches: it claims up to PROCESS_BATCH received messages (a short
# transaction), parses them outside any transaction — during which the listener and other
# workers go on writing — and then applies them in transactions of at most
# APPLY_TRANSACTION_SECONDS, each message in its own savepoint. Only applying decides: it
# re-reads which of the messages are still `received` under the lock and skips the others, so
# a claim that ran out, a second job or a crashed worker never makes a second case.


@dataclass
class _Work:
    """A message taken for processing, with what parsing it gave (or the exception)."""

    row: InboundMessage
    parsed: ParsedMail | None = None
    error: Exception | None = None


def _quarantine(inbound_id: int, reason: str, error: str) -> InboundMessage | None:
    now = timezone.now()
    InboundMessage.objects.filter(pk=inbound_id, state=InboundState.RECEIVED).update(
        state=InboundState.QUARANTINED,
        reason=reason,
        error=error[:5000],
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    return InboundMessage.objects.defer("raw").filter(pk=inbound_id).first()


def _note_transient_failure(inbound_id: int, exc: Exception) -> None:
    """Count a failed attempt the database caused; quarantine after too many."""
    try:
        InboundMessage.objects.filter(pk=inbound_id, state=InboundState.RECEIVED).update(
            attempts=F("attempts") + 1, error=f"{type(exc).__name__}: {exc}"[:5000]
        )
        InboundMessage.objects.filter(
            pk=inbound_id, state=InboundState.RECEIVED, attempts__gte=MAX_TRANSIENT_ATTEMPTS
        ).update(state=InboundState.QUARANTINED, reason=QuarantineReason.PROCESSING_ERROR)
    except (OperationalError, InterfaceError):
        logger.warning("Could not record the failed attempt on message %s", inbound_id)


def _failed(inbound_id: int, exc: Exception) -> InboundMessage | None:
    # A bug (in the parser or anywhere else) must not lose the message either.
    logger.error("Processing message %s failed", inbound_id, exc_info=exc)
    return _quarantine(
        inbound_id, QuarantineReason.PROCESSING_ERROR, f"{type(exc).__name__}: {exc}"
    )


def claim_duration() -> timedelta:
    """How long a claim keeps other workers off a message: CLAIM_SECONDS, or less when
    messages count as stuck sooner (a claim older than that is a dead worker's)."""
    return timedelta(seconds=min(CLAIM_SECONDS, settings.INTAKE_STUCK_AFTER_SECONDS))


def _claimable(mailbox: Mailbox, now: datetime) -> QuerySet[InboundMessage]:
    """The mailbox's received messages no worker holds, oldest first."""
    return (
        InboundMessage.objects.filter(mailbox=mailbox, state=InboundState.RECEIVED)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("id")
    )


def _claim(mailbox: Mailbox, size: int, now: datetime) -> list[int]:
    """Take up to `size` received messages of the mailbox that no other worker holds, oldest
    first and together at most CLAIM_MAX_BYTES (one at least); returns their ids."""
    free = _claimable(mailbox, now).select_for_update(skip_locked=True, of=("self",))
    with transaction.atomic():
        ids: list[int] = []
        total = 0
        for pk, size_bytes in free.values_list("pk", "size")[:size]:
            if ids and total + size_bytes > CLAIM_MAX_BYTES:
                break
            ids.append(pk)
            total += size_bytes
        if ids:
            InboundMessage.objects.filter(pk__in=ids).update(claimed_until=now + claim_duration())
    return ids


def _release(ids: list[int]) -> None:
    """Give claimed messages that were not processed back at once (after a failure)."""
    try:
        InboundMessage.objects.filter(pk__in=ids, state=InboundState.RECEIVED).update(
            claimed_until=None
        )
    except (OperationalError, InterfaceError):
        logger.warning("Could not release claimed messages %s; their claim runs out", ids)


def _prepare(rows: Sequence[InboundMessage]) -> list[_Work]:
    """Parse each message (outside any transaction)."""
    work = []
    for row in rows:
        try:
            work.append(_Work(row=row, parsed=parse_message(bytes(row.raw))))
        except Exception as exc:  # ParseError, or a bug in the parser: both quarantine
            work.append(_Work(row=row, error=exc))
    return work


def _sender_address(parsed: ParsedMail) -> str:
    return parsed.from_address.lower()[:254]


# The two reads every applying transaction starts with are written out in SQL: compiling them
# through the ORM took longer than running them (0.3 and 0.7 ms against well under 0.1 ms), all
# of it while holding the SQLite write lock.


def _still_received(ids: list[int], *, skip_locked: bool) -> dict[int, tuple[int, dict]]:
    """Which of the messages are still `received` — locked on PostgreSQL, skipping those
    another transaction holds when `skip_locked` — with their attempts and notes."""
    table = InboundMessage._meta.db_table
    lock = ""
    if connection.features.has_select_for_update:
        lock = " FOR UPDATE SKIP LOCKED" if skip_locked else " FOR UPDATE"
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, attempts, notes FROM {table} "  # noqa: S608
            f"WHERE id IN ({placeholders}) AND state = %s{lock}",
            [*ids, InboundState.RECEIVED],
        )
        rows = cursor.fetchall()
    return {
        pk: (attempts, notes if isinstance(notes, dict) else json.loads(notes or "{}"))
        for pk, attempts, notes in rows
    }


def _recent_per_sender(senders: set[str], now: datetime) -> dict[str, int]:
    """Messages of each sender processed within the hour before `now` (the rate limit)."""
    if not senders:
        return {}
    table = InboundMessage._meta.db_table
    placeholders = ", ".join(["%s"] * len(senders))
    since = connection.ops.adapt_datetimefield_value(now - SENDER_RATE_WINDOW)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT sender, COUNT(*) FROM {table} "  # noqa: S608
            f"WHERE sender IN ({placeholders}) AND state = %s AND received_at >= %s "
            "GROUP BY sender",
            [*sorted(senders), InboundState.PROCESSED, since],
        )
        return {sender: int(count) for sender, count in cursor.fetchall()}


def _apply_all(work: Sequence[_Work], *, skip_locked: bool = True) -> int:
    """Apply parsed messages, oldest first, in transactions of APPLY_TRANSACTION_SECONDS;
    returns how many were applied. See `_apply_some`."""
    done = 0
    rest = list(work)
    while rest:
        applied, rest = _apply_some(rest, skip_locked=skip_locked)
        done += applied
    return done


def _apply_some(work: list[_Work], *, skip_locked: bool) -> tuple[int, list[_Work]]:
    """Apply parsed messages, oldest first, in one transaction, each in its own savepoint (a
    message that fails is rolled back alone and quarantined), until the transaction has been
    open APPLY_TRANSACTION_SECONDS; returns how many were applied, and those left.

    Messages no longer `received` when the transaction has them locked are skipped (another
    worker was first; on PostgreSQL also those another worker holds locked, unless
    `skip_locked` is False). A transient database error rolls the transaction back, leaving
    its messages for a later attempt, and is raised.
    """
    done = 0
    current: int | None = None
    started = time.monotonic()
    try:
        with transaction.atomic():
            now = timezone.now()
            still_received = _still_received(
                [item.row.pk for item in work], skip_locked=skip_locked
            )
            senders = {_sender_address(i.parsed) for i in work if i.parsed is not None}
            recent = _recent_per_sender(senders, now)
            for index, item in enumerate(work):
                if done and time.monotonic() - started >= APPLY_TRANSACTION_SECONDS:
                    return done, work[index:]  # commits: other writers' turn
                row = item.row
                if row.pk not in still_received:
                    continue
                # What may have changed since the row was read (a failed attempt meanwhile).
                row.attempts, row.notes = still_received[row.pk]
                current = row.pk
                done += 1
                if item.parsed is None and not isinstance(item.error, ParseError):
                    _failed(row.pk, item.error or RuntimeError("not parsed"))
                    continue
                try:
                    with transaction.atomic():
                        if item.parsed is None:
                            _finish(
                                row,
                                InboundState.QUARANTINED,
                                QuarantineReason.PARSE_ERROR,
                                str(item.error),
                            )
                        else:
                            _apply(row, item.parsed, recent)
                except (OperationalError, InterfaceError):
                    raise
                except Exception as exc:
                    _failed(row.pk, exc)
                    continue
                if (
                    row.state == InboundState.PROCESSED
                    and row.received_at >= now - SENDER_RATE_WINDOW
                ):
                    recent[row.sender] = recent.get(row.sender, 0) + 1
    except (OperationalError, InterfaceError) as exc:
        if current is not None:
            _note_transient_failure(current, exc)
        raise
    return done, []


def inbound_process(*, inbound_id: int) -> InboundMessage | None:
    """Turn one stored message into a case or a reply (or ignore or quarantine it), once.

    A message that is no longer `received` is left alone, so a second run is a no-op; the
    message is returned as it is now (None if there is no such message). A message that
    cannot be parsed or processed goes to quarantine with the error; a transient database
    error leaves it `received` and is raised.
    """
    row = (
        InboundMessage.objects.select_related("mailbox")
        .filter(pk=inbound_id, state=InboundState.RECEIVED)
        .first()
    )
    if row is not None:
        _apply_all(_prepare([row]), skip_locked=False)
    return InboundMessage.objects.defer("raw").filter(pk=inbound_id).first()


def _process_batch(mailbox: Mailbox, *, size: int) -> tuple[int, int]:
    """Claim, parse and apply up to `size` received messages of the mailbox; returns (how
    many were claimed, how many applied)."""
    ids = _claim(mailbox, size, timezone.now())
    if not ids:
        return 0, 0
    try:
        rows = list(
            InboundMessage.objects.filter(pk__in=ids, state=InboundState.RECEIVED).order_by("id")
        )
        for row in rows:
            row.mailbox = mailbox
        applied = _apply_all(_prepare(rows))
    except BaseException:
        _release(ids)
        raise
    return len(ids), applied


def inbound_process_pending(
    *, mailbox_id: int, limit: int = 2000, time_budget: float = 30.0
) -> int:
    """Process the received messages of one mailbox, oldest first, in batches of
    PROCESS_BATCH, until none is left; returns how many. Any number of these may run at once,
    in any number of processes: each works on the messages it claimed. When `limit` or
    `time_budget` is reached first, another job is queued for the rest."""
    Mailbox.objects.filter(pk=mailbox_id).update(processing_requested=False)
    mailbox = Mailbox.objects.filter(pk=mailbox_id).first()
    if mailbox is None:
        return 0
    started = time.monotonic()
    processed = 0
    while processed < limit and time.monotonic() - started < time_budget:
        claimed, applied = _process_batch(mailbox, size=min(PROCESS_BATCH, limit - processed))
        if not claimed:
            return processed
        processed += applied
    request_processing(mailbox_id=mailbox_id, yield_turn=True)
    return processed


def _finish(row: InboundMessage, state: str, reason: str = "", error: str = "") -> None:
    now = timezone.now()
    row.state, row.reason, row.error = state, reason, error[:5000]
    row.attempts += 1
    row.updated_at = now
    if state == InboundState.PROCESSED:
        row.processed_at = now
    row.save(
        update_fields=[
            "state",
            "reason",
            "error",
            "attempts",
            "updated_at",
            "processed_at",
            "sender",
            "subject",
            "html",
            "notes",
            "case",
            "case_message",
        ]
    )


def _is_participant(sender: str, case: Case) -> bool:
    """Is `sender` an e-mail address of the case's customer?"""
    return ContactPoint.objects.filter(
        kind=ContactKind.EMAIL, normalized=normalize_email(sender), customer_id=case.customer_id
    ).exists()


def _over_sender_rate(row: InboundMessage, recent: dict[str, int]) -> bool:
    if row.notes.get("admin_retry"):
        return False
    return recent.get(row.sender, 0) >= settings.INTAKE_SENDER_MAX_PER_HOUR


@dataclass(frozen=True)
class _Thread:
    case: Case | None = None
    forged: bool = False


def _thread_of(parsed: ParsedMail, sender: str) -> _Thread:
    """The case this message answers (see the module docstring for the rule)."""
    ids = parsed.thread_ids
    if ids:
        ours = dict(
            OutboundMessage.objects.filter(message_id__in=ids).values_list("message_id", "case_id")
        )
        case_id = next((ours[i] for i in ids if i in ours), None)
        if case_id is not None:
            case = Case.objects.select_related("customer").get(pk=case_id)
            if not _is_participant(sender, case):
                return _Thread(case=case, forged=True)
            return _Thread(case=case)
        theirs = dict(
            InboundMessage.objects.filter(
                message_id__in=ids, state=InboundState.PROCESSED, case__isnull=False
            ).values_list("message_id", "case_id")
        )
        case_id = next((theirs[i] for i in ids if i in theirs), None)
        if case_id is not None:
            case = Case.objects.select_related("customer").get(pk=case_id)
            if _is_participant(sender, case):
                return _Thread(case=case)
    match = case_number_pattern().search(parsed.subject)
    if match:
        numbered = (
            Case.objects.select_related("customer").filter(number=match.group(1).upper()).first()
        )
        if numbered is not None and _is_participant(sender, numbered):
            return _Thread(case=numbered)
    return _Thread()


def _looks_like_order_reference(token: str) -> bool:
    """Letters with digits (JD-2026-118822, TB1234567), or a long number (marketplace order
    numbers run to 12-19 digits); short numbers are quantities, prices, dates."""
    digits = sum(c.isdigit() for c in token)
    if not digits:
        return False
    return any(c.isalpha() for c in token) or digits >= 10


def _order_ref(sender: str, parsed: ParsedMail) -> str:
    """An order reference the message mentions that belongs to the sender (one of whose
    addresses the sender is), if any."""
    tokens = {
        t
        for t in _ORDER_TOKEN.findall(parsed.subject + "\n" + parsed.text[:4000])
        if _looks_like_order_reference(t)
    }
    if not tokens:
        return ""
    return (
        Order.objects.filter(
            reference__in=sorted(tokens)[:100],
            customer__contacts__kind=ContactKind.EMAIL,
            customer__contacts__normalized=normalize_email(sender),
        )
        .order_by("-placed_at")
        .values_list("reference", flat=True)
        .first()
        or ""
    )


def _attach(case: Case, message: Message | None, parsed: ParsedMail) -> list[dict[str, str]]:
    """Store the attachments; the refused ones (type, size, content) are listed, not fatal."""
    skipped: list[dict[str, str]] = []
    for attachment in parsed.attachments:
        upload = SimpleUploadedFile(
            attachment.filename, attachment.data, content_type=attachment.content_type
        )
        try:
            case_add_attachment(
                actor=None, case=case, upload=upload, by_customer=True, message=message
            )
        except CaseInvalid as exc:
            skipped.append({"filename": attachment.filename, "reason": exc.code})
    return skipped


def _new_case(row: InboundMessage, parsed: ParsedMail, *, follow_up_of: Case | None) -> Case:
    contact = CustomerInput(name=parsed.from_name, email=row.sender, language=parsed.language)
    description = parsed.text
    if follow_up_of is not None:
        description = (
            _("Follow-up to %(number)s.") % {"number": follow_up_of.number} + "\n\n" + description
        )
    case = case_create(
        actor=None,
        data=CaseInput(
            kind=row.mailbox.default_kind,
            channel=Channel.EMAIL,
            subject=parsed.subject or _("(no subject)"),
            customer=contact,
            description=description[:BODY_MAX],
            order_ref=_order_ref(row.sender, parsed),
        ),
        by_customer=True,
        acknowledge=parsed.auto != "bulk",
    )
    return case


def _reply(case: Case, parsed: ParsedMail) -> Message:
    body = strip_quoted(parsed.text) or parsed.subject or _("(The e-mail has no text.)")
    message = case_add_message(
        actor=None, case=case, body=body[:BODY_MAX], channel=Channel.EMAIL, by_customer=True
    )
    if case.status in (Status.RESOLVED, Status.CLOSED):
        case_transition(actor=None, case=case, to=Status.OPEN, note="customer replied by e-mail")
    return message


def _apply(row: InboundMessage, parsed: ParsedMail, recent: dict[str, int]) -> None:
    """Process a message under its lock. `recent`: messages per sender processed within the
    hour (`_recent_per_sender`), for the rate limit."""
    row.sender = _sender_address(parsed)
    row.subject = parsed.subject[:200]
    row.html = parsed.html[:HTML_MAX]
    row.notes = {**row.notes, **parsed.notes}

    # Our Message-IDs all end with @INTAKE_MESSAGE_ID_DOMAIN: only such an id can be ours.
    own_domain = "@" + settings.INTAKE_MESSAGE_ID_DOMAIN
    is_own = row.sender in our_addresses_cached() or (
        row.message_id.endswith(own_domain)
        and OutboundMessage.objects.filter(message_id=row.message_id).exists()
    )
    if is_own:
        _finish(row, InboundState.IGNORED, IgnoreReason.OWN_MESSAGE)
        return
    if parsed.auto == "bounce":
        _finish(row, InboundState.IGNORED, IgnoreReason.BOUNCE)
        return
    if parsed.auto == "auto_reply":
        _finish(row, InboundState.IGNORED, IgnoreReason.AUTO_REPLY)
        return
    if parsed.sender_error:
        _finish(row, InboundState.QUARANTINED, QuarantineReason.INVALID_SENDER, parsed.sender_error)
        return
    try:
        validate_email(row.sender)
    except ValidationFailed as exc:
        _finish(row, InboundState.QUARANTINED, QuarantineReason.INVALID_SENDER, exc.message)
        return
    if _over_sender_rate(row, recent):
        _finish(
            row,
            InboundState.QUARANTINED,
            QuarantineReason.SENDER_RATE,
            _("More than %(limit)d messages from %(sender)s within an hour.")
            % {"limit": settings.INTAKE_SENDER_MAX_PER_HOUR, "sender": row.sender},
        )
        return

    thread = _thread_of(parsed, row.sender)
    if thread.forged and thread.case is not None:
        _finish(
            row,
            InboundState.QUARANTINED,
            QuarantineReason.SUSPECTED_FORGERY,
            _("%(sender)s answered our message on %(number)s but is not a contact of its customer.")
            % {"sender": row.sender, "number": thread.case.number},
        )
        return
    case = thread.case
    message: Message | None = None
    reopenable = case is not None and not (
        case.status == Status.CANCELLED
        or (case.status == Status.CLOSED and Status.OPEN not in allowed_transitions(case))
    )
    if case is not None and reopenable:
        message = _reply(case, parsed)
    else:
        case = _new_case(row, parsed, follow_up_of=case)
    skipped = _attach(case, message, parsed)
    row.notes["attachments"] = len(parsed.attachments) - len(skipped)
    if skipped:
        row.notes["attachments_refused"] = skipped
    row.case, row.case_message = case, message
    _finish(row, InboundState.PROCESSED)


# --- quarantine and recovery ----------------------------------------------------------------


def inbound_retry(*, inbound: InboundMessage) -> InboundMessage:
    """Process a quarantined message again (admin): it goes back to `received` and to the
    worker. An admin's retry is not held back by the per-sender rate limit."""
    if inbound.state != InboundState.QUARANTINED or inbound.reason == QuarantineReason.TOO_LARGE:
        raise RetryNotAllowed(
            _("Only quarantined messages that were downloaded can be retried."),
            fields={"state": inbound.state},
        )
    now = timezone.now()
    with transaction.atomic():
        notes = {**inbound.notes, "admin_retry": True}
        updated = InboundMessage.objects.filter(
            pk=inbound.pk, state=InboundState.QUARANTINED
        ).update(
            state=InboundState.RECEIVED,
            reason="",
            error="",
            notes=notes,
            enqueued_at=now,
            updated_at=now,
        )
        if not updated:
            raise RetryNotAllowed(_("The message is no longer in quarantine."))
        transaction.on_commit(lambda: request_processing(mailbox_id=inbound.mailbox_id))
    return InboundMessage.objects.defer("raw").select_related("mailbox").get(pk=inbound.pk)


def inbound_requeue_stuck(*, now: datetime | None = None) -> int:
    """Queue processing again for mailboxes whose messages are still `received` long after
    they were stored or last queued (the job was lost with a worker that died). Processing
    is idempotent, so a job next to one still waiting in the queue does no harm. Returns the
    number of messages concerned."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.INTAKE_STUCK_AFTER_SECONDS)
    stuck = InboundMessage.objects.filter(state=InboundState.RECEIVED, enqueued_at__lt=cutoff)
    with transaction.atomic():
        mailboxes = sorted(set(stuck.values_list("mailbox_id", flat=True)))
        if not mailboxes:
            return 0
        count = stuck.update(enqueued_at=now)
        for mailbox_id in mailboxes:
            transaction.on_commit(
                lambda mailbox_id=mailbox_id: request_processing(  # type: ignore[misc]
                    mailbox_id=mailbox_id, force=True
                )
            )
    logger.info("Re-queued %d stuck inbound messages of %d mailboxes", count, len(mailboxes))
    return count


# --- IMAP bookkeeping -----------------------------------------------------------------------

FETCH_LEASE = timedelta(minutes=15)


def mailbox_fetch_begin(*, mailbox: Mailbox, now: datetime | None = None) -> bool:
    """Take the mailbox for one fetch; False when another fetch of it is under way."""
    now = now or timezone.now()
    won = (
        Mailbox.objects.filter(pk=mailbox.pk, is_active=True)
        .filter(Q(fetch_lease_until__isnull=True) | Q(fetch_lease_until__lt=now))
        .update(fetch_lease_until=now + FETCH_LEASE)
    )
    return bool(won)


def mailbox_fetch_progress(*, mailbox: Mailbox, uidvalidity: int, last_uid: int) -> None:
    """Remember the highest UID stored so far (messages above it are fetched next time)."""
    Mailbox.objects.filter(pk=mailbox.pk).update(
        imap_uidvalidity=uidvalidity, imap_last_uid=last_uid
    )
    mailbox.imap_uidvalidity, mailbox.imap_last_uid = uidvalidity, last_uid


def mailbox_fetch_end(*, mailbox: Mailbox, error: str = "") -> None:
    """Release the mailbox and record how the fetch went."""
    now = timezone.now()
    Mailbox.objects.filter(pk=mailbox.pk).update(
        fetch_lease_until=None, last_fetch_at=now, last_fetch_error=error[:5000]
    )
