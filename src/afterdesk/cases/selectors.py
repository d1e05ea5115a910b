"""Reads of cases, always scoped to what the user may see."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from afterdesk.accounts.models import User
from afterdesk.accounts.selectors import user_department_ids
from afterdesk.cases import sla_bridge
from afterdesk.cases.choices import (
    DONE_STATUSES,
    OPEN_STATUSES,
    PUBLIC_EVENT_TYPES,
    Channel,
    EventType,
    Kind,
    Priority,
    Status,
)
from afterdesk.cases.models import (
    Case,
    CaseEvent,
    CaseLink,
    Category,
    Message,
    QueueCounter,
    SavedView,
)
from afterdesk.cases.permissions import can_view_case, is_customer, restrict_cases
from afterdesk.cases.search import search_filter
from afterdesk.core.errors import ValidationFailed
from afterdesk.core.text import check_datetime_range
from afterdesk.customers.models import ContactPoint, Customer
from afterdesk.customers.services import normalize_email, normalize_phone
from afterdesk.sla.choices import QueueFilter
from afterdesk.sla.selectors import case_queue_filter, timers_prefetch

# ordering name -> (field, descending)
ORDERINGS: dict[str, tuple[str, bool]] = {
    "-created_at": ("created_at", True),
    "created_at": ("created_at", False),
    "-updated_at": ("updated_at", True),
    "updated_at": ("updated_at", False),
}
DEFAULT_ORDERING = "-created_at"
MAX_LIMIT = 200
MAX_CURSOR_LENGTH = 200
CASE_NUMBER_RE = re.compile(r"^[A-Z]{1,8}-\d{8}-\d{5,}$")


@dataclass(frozen=True)
class CaseFilters:
    status: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    category: str = ""
    owner: str = ""
    department: str = ""
    customer: int | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    q: str = ""
    sla: str = ""


@dataclass(frozen=True)
class CasePage:
    items: list[Case]
    next_cursor: str | None


def _check_values(name: str, values: tuple[str, ...], allowed: list[str]) -> None:
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ValidationFailed(
            _("Unknown %(field)s: %(values)s. Allowed: %(allowed)s")
            % {"field": name, "values": ", ".join(bad), "allowed": ", ".join(allowed)},
            fields={name: _("unknown value")},
        )


def _apply_filters(qs: QuerySet[Case], f: CaseFilters, user: User) -> QuerySet[Case]:
    for name, values, allowed in (
        ("status", f.status, Status.values),
        ("kind", f.kind, Kind.values),
        ("channel", f.channel, Channel.values),
        ("priority", f.priority, Priority.values),
    ):
        if values:
            _check_values(name, values, allowed)
            qs = qs.filter(**{name: values[0]} if len(values) == 1 else {f"{name}__in": values})
    if f.category:
        qs = qs.filter(Q(category__code=f.category) | Q(category__parent__code=f.category))
    if f.owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif f.owner == "me":
        qs = qs.filter(owner=user)
    elif f.owner:
        qs = qs.filter(owner__username=f.owner)
    if f.department:
        qs = qs.filter(department__code=f.department)
    if f.customer is not None:
        qs = qs.filter(customer_id=f.customer)
    if f.created_after:
        qs = qs.filter(created_at__gte=f.created_after)
    if f.created_before:
        qs = qs.filter(created_at__lt=f.created_before)
    if f.q:
        qs = qs.filter(_quick_search(f.q.strip()))
    if f.sla:
        _check_values("sla", (f.sla,), QueueFilter.values)
        qs = qs.filter(case_queue_filter(f.sla))
    return qs


def _quick_search(q: str) -> Q:
    """A case number, a customer's e-mail or phone, an order reference, or subject text."""
    if CASE_NUMBER_RE.match(q.upper()):
        return Q(number=q.upper())
    # Contacts are matched through a subquery, not a join: a join would repeat the case once
    # per contact of its customer.
    if "@" in q:
        return Q(customer_id__in=_customers_with_contact("email", normalize_email(q)))
    digits = re.sub(r"\D", "", q)
    if len(digits) >= 7 and re.fullmatch(r"[\d\s+()\-]+", q):
        return Q(customer_id__in=_customers_with_contact("phone", normalize_phone(q))) | Q(
            order_ref=q
        )
    text = search_filter(q)
    return Q(order_ref=q) | text if text is not None else Q(order_ref=q)


def _customers_with_contact(kind: str, normalized: str) -> QuerySet[ContactPoint, int]:
    return ContactPoint.objects.filter(kind=kind, normalized=normalized).values_list(
        "customer_id", flat=True
    )


def encode_cursor(value: datetime, pk: int) -> str:
    raw = json.dumps([value.isoformat(), pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("cursor too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        when = parse_datetime(value)
        if when is None or not isinstance(pk, int) or not 0 < pk < 2**63:
            raise ValueError(cursor)
        check_datetime_range(when)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise ValidationFailed(
            _("The cursor is not valid; start again from the first page."),
            code="invalid_cursor",
            fields={"cursor": _("invalid")},
        ) from exc
    return when, pk


def _list_prefetches(user: User) -> list[Any]:
    """Tags, and for staff the SLA clocks (one query for the page; customers never see them)."""
    return ["tags"] if is_customer(user) else ["tags", timers_prefetch()]


def cases_visible_to(*, user: User) -> QuerySet[Case]:
    return restrict_cases(Case.objects.all(), user)


def cases_list(
    *,
    user: User,
    filters: CaseFilters,
    ordering: str = DEFAULT_ORDERING,
    cursor: str | None = None,
    limit: int = 50,
    extra: Q | None = None,
) -> CasePage:
    """One page of the cases `user` may see, by keyset pagination (no COUNT, no OFFSET).

    `extra` narrows it further (a queue tab).
    """
    if ordering not in ORDERINGS:
        raise ValidationFailed(
            _("Unknown ordering %(value)s. Allowed: %(allowed)s")
            % {"value": ordering, "allowed": ", ".join(ORDERINGS)},
            code="invalid_ordering",
            fields={"ordering": _("not allowed")},
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(
            _("limit must be between 1 and %d.") % MAX_LIMIT, fields={"limit": _("range")}
        )
    field, descending = ORDERINGS[ordering]
    qs = _apply_filters(cases_visible_to(user=user), filters, user)
    if extra is not None:
        qs = qs.filter(extra)
    if cursor:
        value, pk = decode_cursor(cursor)
        if descending:
            qs = qs.filter(Q(**{f"{field}__lt": value}) | Q(**{field: value, "pk__lt": pk}))
        else:
            qs = qs.filter(Q(**{f"{field}__gt": value}) | Q(**{field: value, "pk__gt": pk}))
    order = [f"-{field}", "-id"] if descending else [field, "id"]
    rows = list(
        qs.select_related("customer", "owner", "department", "category")
        .prefetch_related(*_list_prefetches(user))
        .order_by(*order)[: limit + 1]
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(getattr(last, field), last.pk)
    return CasePage(items=rows, next_cursor=next_cursor)


def case_events(*, user: User, case: Case) -> list[CaseEvent]:
    """The audit trail, oldest first; customers see only the public part."""
    qs = CaseEvent.objects.filter(case=case).select_related("actor").order_by("at", "id")
    if is_customer(user):
        qs = qs.filter(type__in=PUBLIC_EVENT_TYPES)
    return list(qs)


def case_messages(*, user: User, case: Case) -> list[Message]:
    qs = (
        Message.objects.filter(case=case)
        .select_related("author")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )
    if is_customer(user):
        qs = qs.filter(internal=False)
    return list(qs)


def case_public_timeline(*, case: Case) -> list[dict[str, object]]:
    """What a customer tracking without login may see: status changes and public replies."""
    events = CaseEvent.objects.filter(case=case, type__in=PUBLIC_EVENT_TYPES).order_by("at", "id")
    messages = {
        m.pk: m for m in Message.objects.filter(case=case, internal=False).order_by("created_at")
    }
    timeline: list[dict[str, object]] = []
    for event in events:
        entry: dict[str, object] = {"type": event.type, "at": event.at}
        if event.type == "case.status_changed":
            entry["status"] = event.new
        elif event.type == "case.message_added":
            message = messages.get(event.payload.get("message"))
            if message is None:
                continue
            entry["from_customer"] = message.from_customer
            entry["body"] = message.body
        timeline.append(entry)
    return timeline


def case_links(*, user: User, case: Case) -> list[CaseLink]:
    """Links from and to the case, to cases the user may see too.

    The few links of one case are read with both ends and filtered here: an IN over every
    case the user may see would make the database collect them all.
    """
    links = (
        CaseLink.objects.filter(Q(source=case) | Q(target=case))
        .select_related("source__customer", "target__customer")
        .order_by("created_at", "id")
    )
    return [
        link
        for link in links
        if can_view_case(user, link.target if link.source_id == case.pk else link.source)
    ]


def case_with_details(case: Case) -> Case:
    """Attach tags in one query, for serialisation."""
    return (
        Case.objects.select_related("customer", "owner", "department", "category")
        .prefetch_related(Prefetch("tags"))
        .get(pk=case.pk)
    )


# --- The agent workspace: queues, their counts, the case page --------------------------------

QUEUE_MINE = "mine"
QUEUE_UNASSIGNED = "unassigned"
QUEUE_DUE = "due"
QUEUE_ALL = "all"
QUEUES = (QUEUE_MINE, QUEUE_UNASSIGNED, QUEUE_ALL)
# Rows per queue page: more than a 1280×800 screen shows, few enough to render quickly.
QUEUE_PAGE_SIZE = 30


def queues_available() -> tuple[str, ...]:
    """The queue tabs: Due soon / Overdue only when the SLA app keeps clocks."""
    if sla_bridge.sla_installed():
        return (QUEUE_MINE, QUEUE_UNASSIGNED, QUEUE_DUE, QUEUE_ALL)
    return QUEUES


def queue_filter(*, user: User, queue: str) -> Q:
    """What a queue tab holds, before the visibility filter and the user's own filters.

    My cases: owned by the user. Unassigned: nobody's, in the user's departments (every
    department for a supervisor or admin who belongs to none). Due soon / Overdue: a clock
    past due or due within the hour. All: whatever the user may see.
    """
    if queue == QUEUE_MINE:
        return Q(owner=user)
    if queue == QUEUE_UNASSIGNED:
        departments = user_department_ids(user)
        if not departments and user.sees_all_cases:
            return Q(owner__isnull=True)
        return Q(owner__isnull=True, department_id__in=departments)
    if queue == QUEUE_DUE and sla_bridge.sla_installed():
        return sla_bridge.due_filter()
    return Q()


def queue_default_statuses(queue: str) -> tuple[str, ...]:
    """All lists every case; the other tabs the cases still being worked on."""
    return () if queue == QUEUE_ALL else tuple(s for s in Status.values if s in OPEN_STATUSES)


def queue_list(
    *,
    user: User,
    queue: str,
    filters: CaseFilters,
    ordering: str = DEFAULT_ORDERING,
    cursor: str | None = None,
    limit: int = QUEUE_PAGE_SIZE,
) -> CasePage:
    """One page of a queue tab with the user's filters (keyset pages, no COUNT)."""
    return cases_list(
        user=user,
        filters=filters,
        ordering=ordering,
        cursor=cursor,
        limit=limit,
        extra=queue_filter(user=user, queue=queue),
    )


def queue_counts(*, user: User) -> dict[str, int]:
    """The numbers on the queue tabs, from the maintained counters (cases.counters).

    One query over at most (departments × owners × statuses) counter rows: the work does not
    grow with the number of cases. My cases and Unassigned count open cases; All counts every
    case the user may see, whatever its status.
    """
    working = list(OPEN_STATUSES)
    departments = user_department_ids(user)
    if user.sees_all_cases:
        rows = QueueCounter.objects.all()
        visible = Q()
        unassigned = Q(owner_id=0) & (Q(department_id__in=departments) if departments else Q())
    else:
        visible = Q(owner_id=user.pk) | Q(department_id__in=departments)
        rows = QueueCounter.objects.filter(visible)
        unassigned = Q(owner_id=0, department_id__in=departments)
    totals = rows.aggregate(
        mine=Sum("count", filter=Q(owner_id=user.pk, status__in=working)),
        unassigned=Sum("count", filter=unassigned & Q(status__in=working)),
        all=Sum("count", filter=visible) if visible else Sum("count"),
    )
    return {name: max(int(totals[name] or 0), 0) for name in QUEUES}


def queue_due_count(*, user: User) -> int | None:
    """The Due soon / Overdue tab's number (capped, see sla_bridge), or None without SLA."""
    if not sla_bridge.sla_installed():
        return None
    return sla_bridge.due_count(user=user)


def saved_views_of(*, user: User) -> list[SavedView]:
    return list(SavedView.objects.filter(user=user).order_by("position", "id"))


def case_latest_event_id(*, case: Case) -> int:
    """The id of the newest event: what an edit form has seen."""
    latest = (
        CaseEvent.objects.filter(case=case).order_by("-id").values_list("id", flat=True).first()
    )
    return latest or 0


# Events that change what the edit form shows.
CHANGE_EVENT_TYPES = (EventType.FIELD_CHANGED, EventType.ASSIGNED, EventType.STATUS_CHANGED)


def case_changes_since(*, case: Case, after_event_id: int) -> list[CaseEvent]:
    """Field, owner and status changes recorded after event `after_event_id`, oldest first."""
    return list(
        CaseEvent.objects.filter(case=case, id__gt=after_event_id, type__in=CHANGE_EVENT_TYPES)
        .select_related("actor")
        .order_by("id")
    )


def case_timeline_items(*, user: User, case: Case) -> tuple[list[CaseEvent], dict[int, Message]]:
    """The case's events, oldest first, and its messages by id (with their attachments)."""
    events = case_events(user=user, case=case)
    messages = {m.pk: m for m in case_messages(user=user, case=case)}
    return events, messages


def customer_recent_cases(
    *, user: User, customer: Customer, exclude: Case | None = None, limit: int = 5
) -> list[Case]:
    """The customer's latest cases the user may see (number, status, subject only)."""
    qs = cases_visible_to(user=user).filter(customer=customer)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return list(
        qs.only("number", "status", "subject", "created_at").order_by("-created_at", "-id")[:limit]
    )


def customer_case_history(
    *, user: User, customer: Customer, limit: int = 100, count_hidden: bool = False
) -> tuple[list[Case], int]:
    """The customer's cases the user may see, newest first, and (with count_hidden) how many
    more the customer has in departments the user does not see.

    Each case carries `result_note`: the note given when it was last resolved, closed or
    cancelled (empty if none).
    """
    visible = cases_visible_to(user=user).filter(customer=customer)
    cases = list(
        visible.select_related("owner", "department", "category").order_by("-created_at", "-id")[
            :limit
        ]
    )
    notes: dict[int, str] = {}
    done = [c.pk for c in cases if c.status in DONE_STATUSES]
    if done:
        for case_id, payload in (
            CaseEvent.objects.filter(
                case_id__in=done, type=EventType.STATUS_CHANGED, new__in=list(DONE_STATUSES)
            )
            .order_by("at", "id")
            .values_list("case_id", "payload")
        ):
            notes[case_id] = (payload or {}).get("note", "")
    for case in cases:
        case.result_note = notes.get(case.pk, "")  # type: ignore[attr-defined]
    hidden = 0
    if count_hidden and not user.sees_all_cases:
        total = Case.objects.filter(customer=customer).count()
        hidden = max(total - visible.count(), 0)
    return cases, hidden


def categories_active() -> list[Category]:
    """Active categories, each top-level one followed by its children."""
    rows = list(Category.objects.filter(is_active=True).select_related("parent"))
    parents = sorted((c for c in rows if c.parent_id is None), key=lambda c: (c.position, c.code))
    ordered: list[Category] = []
    for parent in parents:
        ordered.append(parent)
        ordered.extend(
            sorted(
                (c for c in rows if c.parent_id == parent.pk), key=lambda c: (c.position, c.code)
            )
        )
    return ordered
