"""Reads of the customer portal, scoped to the signed-in customer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q

from afterdesk.accounts.models import User
from afterdesk.cases.choices import EventType, Status
from afterdesk.cases.models import Attachment, Case, CaseEvent, Category, Message
from afterdesk.cases.selectors import cases_visible_to, decode_cursor, encode_cursor
from afterdesk.portal import sla_bridge
from afterdesk.portal.models import PortalSettings

CASES_PAGE_SIZE = 20


@dataclass(frozen=True)
class ExpectedResponse:
    """When the customer may expect the first answer: a due time, and hours when known."""

    due_at: datetime
    hours: int | None


def expected_first_response(*, case: Case) -> ExpectedResponse:
    """The SLA first-response due time when the SLA app gives one, else the portal default.

    The default is the case's creation time plus the hours PortalSettings sets for its priority.
    """
    due_at = sla_bridge.first_response_due(case)
    if due_at is not None:
        return ExpectedResponse(due_at=due_at, hours=None)
    hours = PortalSettings.current().response_hours(case.priority)
    return ExpectedResponse(due_at=case.created_at + timedelta(hours=hours), hours=hours)


def category_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Active categories for the submit form: the sub-categories, grouped by their parent.

    A top-level category without active sub-categories is offered on its own.
    """
    categories = list(Category.objects.filter(is_active=True).order_by("position", "code"))
    children: dict[int, list[tuple[str, str]]] = {}
    for category in categories:
        if category.parent_id is not None:
            children.setdefault(category.parent_id, []).append((category.code, category.label))
    return [
        (c.label, children.get(c.pk) or [(c.code, c.label)])
        for c in categories
        if c.parent_id is None
    ]


@dataclass(frozen=True)
class PortalCasePage:
    items: list[Case]
    next_cursor: str | None


def portal_cases_page(
    *, user: User, cursor: str = "", limit: int = CASES_PAGE_SIZE
) -> PortalCasePage:
    """One page of the user's own cases, newest first, by keyset (no COUNT, no OFFSET).

    Raises ValidationFailed (code invalid_cursor) for a cursor that does not decode.
    """
    qs = cases_visible_to(user=user).select_related("category")
    if cursor:
        created_at, pk = decode_cursor(cursor)
        qs = qs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))
    rows = list(qs.order_by("-created_at", "-id")[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].created_at, rows[-1].pk)
    return PortalCasePage(items=rows, next_cursor=next_cursor)


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the public timeline a customer sees on their case page."""

    kind: str  # "created", "status", "message" or "files"
    at: datetime
    status: str = ""
    status_label: str = ""
    from_customer: bool = False
    body: str = ""
    attachments: list[Attachment] = field(default_factory=list)


def public_attachments(*, case: Case) -> list[Attachment]:
    """The files of the case a customer may see and download: never internal ones."""
    return list(
        Attachment.objects.filter(case=case, internal=False)
        .filter(Q(message__isnull=True) | Q(message__internal=False))
        .only("id", "case_id", "message_id", "filename", "content_type", "size", "created_at")
        .order_by("created_at", "id")
    )


def portal_case_timeline(*, case: Case) -> list[TimelineEntry]:
    """What the customer sees of their case, oldest first: the request, status changes,
    public replies (with their files) and files added on their own.

    Internal notes and internal files never appear; neither do staff notes on status changes.
    """
    labels = dict(Status.choices)
    entries: list[TimelineEntry] = []
    for event in CaseEvent.objects.filter(
        case=case, type__in=(EventType.CREATED, EventType.STATUS_CHANGED)
    ).only("id", "type", "at", "new"):
        if event.type == EventType.CREATED:
            entries.append(TimelineEntry(kind="created", at=event.at))
        else:
            status = str(event.new)
            entries.append(
                TimelineEntry(
                    kind="status",
                    at=event.at,
                    status=status,
                    status_label=str(labels.get(status, status)),
                )
            )
    by_message: dict[int, list[Attachment]] = {}
    for attachment in public_attachments(case=case):
        if attachment.message_id is None:
            entries.append(
                TimelineEntry(kind="files", at=attachment.created_at, attachments=[attachment])
            )
        else:
            by_message.setdefault(attachment.message_id, []).append(attachment)
    for message in Message.objects.filter(case=case, internal=False).only(
        "id", "from_customer", "body", "created_at"
    ):
        entries.append(
            TimelineEntry(
                kind="message",
                at=message.created_at,
                from_customer=message.from_customer,
                body=message.body,
                attachments=by_message.get(message.pk, []),
            )
        )
    # Stable by kind within one instant: the request, then files, replies, status changes.
    order = {"created": 0, "files": 1, "message": 2, "status": 3}
    entries.sort(key=lambda e: (e.at, order[e.kind]))
    return entries
