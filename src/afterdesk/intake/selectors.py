"""Reads of intake data (mailboxes, quarantine)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from afterdesk.cases.selectors import decode_cursor, encode_cursor
from afterdesk.core.errors import ValidationFailed
from afterdesk.intake.choices import InboundState, MailboxKind
from afterdesk.intake.models import InboundMessage, Mailbox

MAX_LIMIT = 200


def imap_mailboxes(*, address: str = "") -> QuerySet[Mailbox]:
    """The active IMAP mailboxes (or the one with `address`)."""
    qs = Mailbox.objects.filter(kind=MailboxKind.IMAP, is_active=True).order_by("address")
    return qs.filter(address__iexact=address) if address else qs


@dataclass(frozen=True)
class QuarantinePage:
    items: list[InboundMessage]
    next_cursor: str | None


def quarantine_list(*, cursor: str | None = None, limit: int = 50) -> QuarantinePage:
    """Quarantined messages, newest first, by keyset pages (no COUNT, no OFFSET); the raw
    bytes are not loaded."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(
            _("limit must be between 1 and %d.") % MAX_LIMIT, fields={"limit": _("range")}
        )
    qs = (
        InboundMessage.objects.filter(state=InboundState.QUARANTINED)
        .select_related("mailbox")
        .defer("raw", "html")
    )
    if cursor:
        received_at, pk = decode_cursor(cursor)
        qs = qs.filter(Q(received_at__lt=received_at) | Q(received_at=received_at, pk__lt=pk))
    rows = list(qs.order_by("-received_at", "-id")[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].received_at, rows[-1].pk)
    return QuarantinePage(items=rows, next_cursor=next_cursor)
