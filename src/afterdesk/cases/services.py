"""Every write to a case: validate, write, record the event — one transaction each."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from afterdesk.accounts.choices import STAFF_ROLES, Role
from afterdesk.accounts.models import Department, User
from afterdesk.cases.choices import (
    ALLOWED,
    CUSTOMER_ALLOWED,
    EDITABLE_FIELDS,
    Channel,
    EventType,
    Kind,
    LinkKind,
    Priority,
    Status,
)
from afterdesk.cases.config import taxonomy
from afterdesk.cases.counters import bucket_of, queue_counter_move
from afterdesk.cases.errors import CaseInvalid, CaseTransitionNotAllowed, CaseVersionConflict
from afterdesk.cases.events import event_record, events_record_many
from afterdesk.cases.models import (
    Attachment,
    Case,
    CaseEvent,
    CaseLink,
    CaseSearch,
    CaseSettings,
    Category,
    Message,
    SavedView,
    Tag,
)
from afterdesk.cases.numbering import case_number_next
from afterdesk.cases.search import (
    document_of,
    document_with,
    search_append,
    search_index_case,
)
from afterdesk.core import fastsql
from afterdesk.core.errors import DomainError
from afterdesk.core.text import has_control_characters, single_line
from afterdesk.customers.models import Customer, Order
from afterdesk.customers.services import CustomerInput, customer_lookup, customer_settle
from afterdesk.intake.hooks import intake_case_created, intake_message_added, policy_check_plan
from afterdesk.sla import services as sla
from afterdesk.triage.hooks import triage_case_assign, triage_case_decide, triage_case_record

SUBJECT_MAX = 200
# Changing one of these re-matches the SLA policies (and the department's calendar).
SLA_FIELDS = frozenset({"kind", "priority", "category", "is_complex", "department"})
BODY_MAX = 50_000
TAGS_MAX = 20
# Fields whose change rebuilds the case's search document.
SEARCHED_FIELDS = frozenset({"subject", "description", "order_ref", "product_sku", "serial"})


@dataclass(frozen=True)
class CaseInput:
    kind: str
    channel: str
    subject: str
    customer: CustomerInput
    description: str = ""
    order_ref: str = ""
    product_sku: str = ""
    serial: str = ""
    amount: Decimal | None = None
    currency: str = ""
    priority: str = ""
    category: str = ""
    department: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    is_complex: bool = False


def _check_choice(name: str, value: str, choices: list[str]) -> str:
    if value not in choices:
        raise CaseInvalid(
            _("%(field)s must be one of: %(choices)s")
            % {"field": name, "choices": ", ".join(choices)},
            fields={name: _("unknown value %r") % value},
        )
    return value


def _check_text(name: str, value: str, *, max_length: int, required: bool = False) -> str:
    if has_control_characters(value):
        raise CaseInvalid(
            _("%s contains control characters.") % name, fields={name: _("control characters")}
        )
    if required and not value.strip():
        raise CaseInvalid(_("%s may not be empty.") % name, fields={name: _("required")})
    if len(value) > max_length:
        raise CaseInvalid(
            _("%(field)s is longer than %(max)d characters.") % {"field": name, "max": max_length},
            fields={name: _("at most %d characters") % max_length},
        )
    return value


def _check_currency(currency: str) -> str:
    code = currency.upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise CaseInvalid(
            _("currency must be a three-letter ISO 4217 code."), fields={"currency": _("ISO 4217")}
        )
    return code


def _check_amount(amount: Any, currency: str) -> tuple[Decimal | None, str]:
    """The amount quantized to cents (so 10 and 10.00 are one value) and its currency."""
    if amount is None:
        return None, _check_currency(currency) if currency else ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise CaseInvalid(
            _("amount is not a number."), fields={"amount": _("must be a number")}
        ) from exc
    if not value.is_finite() or value < 0 or value >= Decimal("1e10"):
        raise CaseInvalid(
            _("amount must be between 0 and 9,999,999,999.99."), fields={"amount": _("range")}
        )
    if value != value.quantize(Decimal("0.01")):
        raise CaseInvalid(_("amount has more than two decimals."), fields={"amount": _("2 dp")})
    return value.quantize(Decimal("0.01")), _check_currency(currency or "CNY")


def _category_by_code(code: str) -> Category:
    category = taxonomy().categories.get(code)
    if category is None:
        raise CaseInvalid(_("Unknown category %s.") % code, fields={"category": _("unknown")})
    return category


def _department_by_code(code: str) -> Department:
    department = taxonomy().departments.get(code)
    if department is None:
        raise CaseInvalid(_("Unknown department %s.") % code, fields={"department": _("unknown")})
    return department


def _default_department(kind: str) -> Department | None:
    departments = taxonomy().departments
    for department in departments.values():
        if kind in (department.handles_kinds or []):
            return department
    return departments.get("customer-service")


def _staff_owner(username: str) -> User:
    owner = User.objects.filter(username=username, is_active=True).first()
    if owner is None or owner.role not in STAFF_ROLES or owner.role == Role.INTEGRATION:
        raise CaseInvalid(
            _("%s is not an active staff member.") % username, fields={"owner": _("unknown")}
        )
    return owner


def _tag_names(names: Sequence[str]) -> list[str]:
    """The tag names asked for, cleaned, checked and sorted."""
    cleaned = sorted({single_line(n)[:50] for n in names if n.strip()})
    if len(cleaned) > TAGS_MAX:
        raise CaseInvalid(
            _("At most %d tags.") % TAGS_MAX, fields={"tags": _("at most %d") % TAGS_MAX}
        )
    for name in cleaned:
        _check_text("tags", name, max_length=50)
    return cleaned


def _tags_found(names: Sequence[str]) -> dict[str, Tag]:
    return {t.name: t for t in Tag.objects.filter(name__in=names)} if names else {}


def _tags_settle(names: Sequence[str], found: dict[str, Tag]) -> list[Tag]:
    """The tags of `names`, creating those not in `found` (inside the write transaction; one
    deleted since the look-up is left out)."""
    missing = [Tag(name=n) for n in names if n not in found]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        found = _tags_found(names)
    return [found[n] for n in names if n in found]


def _tags(names: Sequence[str]) -> list[Tag]:
    cleaned = _tag_names(names)
    return _tags_settle(cleaned, _tags_found(cleaned))


def _tags_link_new(case: Case, tags: Sequence[Tag]) -> list[Tag]:
    """Tag a case written in this transaction (it has no tags yet): one INSERT. The tags were
    looked up before the transaction; one deleted since is left out, not linked to a row that
    is gone (which would fail the whole creation at COMMIT). The tags linked."""
    placeholders = ", ".join(["%s"] * len(tags))
    linked = fastsql.execute(
        f"INSERT INTO {fastsql.table(Case.tags.through)} (case_id, tag_id)"  # noqa: S608
        f" SELECT %s, id FROM {fastsql.table(Tag)} WHERE id IN ({placeholders})",
        [case.pk, *(tag.pk for tag in tags)],
    )
    if linked == len(tags):
        return list(tags)
    kept = set(Tag.objects.filter(pk__in=[t.pk for t in tags]).values_list("pk", flat=True))
    return [tag for tag in tags if tag.pk in kept]


def _customer_order(customer: Customer, reference: str) -> Order | None:
    """The customer's order with this reference (only their own orders are linked)."""
    found = fastsql.select(
        Order,
        "o",
        f"FROM {fastsql.table(Order)} o"
        " WHERE o.reference = %s AND o.customer_id = %s ORDER BY o.id LIMIT 1",
        [reference, customer.pk],
    )
    return found[0] if found else None


def case_create(
    *,
    actor: User | None,
    data: CaseInput,
    by_customer: bool = False,
    at: datetime | None = None,
    acknowledge: bool = True,
) -> Case:
    """Open a case with a fresh service number and record `case.created`.

    The customer is found by e-mail or phone, or created. The case goes to the department that
    handles its kind unless one is given; triage refines this. `at` back-dates an imported
    case (its number carries that day, and it is not triaged); it defaults to now. A new (not
    imported) case gets its policy-window check and an e-mail acknowledgement (intake), the
    latter unless `acknowledge` is False (automated mail must not be answered).

    Everything that only reads or computes — validation, the customer look-up, triage, the SLA
    clocks, the search document — happens before the write transaction; inside it are the
    writes and what must be decided under the lock: the number, a new customer, the owner.
    On SQLite the transaction holds the database's single write lock, so its length bounds
    how many cases per second the installation can open.
    """
    _check_choice("kind", data.kind, Kind.values)
    _check_choice("channel", data.channel, Channel.values)
    if data.priority:
        _check_choice("priority", data.priority, Priority.values)
    subject = single_line(
        _check_text("subject", data.subject, max_length=SUBJECT_MAX, required=True)
    )
    description = _check_text("description", data.description, max_length=BODY_MAX)
    for name in ("order_ref", "product_sku", "serial"):
        _check_text(name, getattr(data, name), max_length=100)
    amount, currency = _check_amount(data.amount, data.currency)
    category = _category_by_code(data.category) if data.category else None
    department = (
        _department_by_code(data.department) if data.department else _default_department(data.kind)
    )
    now = at or timezone.now()
    match = customer_lookup(data=data.customer)
    known = match.customer
    newcomer = match.newcomer() if known is None else None
    case = Case(
        kind=data.kind,
        channel=data.channel,
        status=Status.NEW,
        priority=data.priority or Priority.NORMAL,
        category=category,
        subject=subject,
        description=description,
        customer=known or newcomer,
        department=department,
        order_ref=data.order_ref.strip(),
        product_sku=data.product_sku.strip(),
        serial=data.serial.strip(),
        amount=amount,
        currency=currency,
        is_complex=data.is_complex,
        created_by=actor if actor is not None and actor.is_staff_member else None,
        created_at=now,
        updated_at=now,
    )
    if known is not None and case.order_ref:
        case.order = _customer_order(known, case.order_ref)
    created = {
        "kind": case.kind,
        "channel": case.channel,
        "priority": case.priority,
        "status": case.status,
        "category": category.code if category else None,
        "department": department.code if department else None,
    }
    decision = triage_case_decide(case=case, data=data, at=now) if at is None else None
    timers, sla_events = sla.sla_case_plan(case=case, at=now, actor=actor)
    check = policy_check_plan(case=case, at=now) if at is None else None
    checked_order = case.order
    tag_names = sorted({*_tag_names(data.tags), *(decision.tags if decision else ())})
    tags_found = _tags_found(tag_names)
    searchable = _search_rest(case, case.customer)
    created_event = CaseEvent(
        type=EventType.CREATED, at=now, actor=actor, by_customer=by_customer, payload=created
    )

    with transaction.atomic():
        customer = customer_settle(match, newcomer=newcomer)
        if customer is not known and customer is not newcomer and case.order_ref:
            # Registered by a concurrent request since the look-up: their order, if any.
            case.order = _customer_order(customer, case.order_ref)
        if searchable.customer != _search_contact(customer):
            # Another customer (that concurrent request) or one given a new contact.
            searchable = _search_rest(case, customer)
        case.customer = customer  # (sets customer_id, which a newcomer had not yet)
        case.number = case_number_next(at=now)
        if decision is not None:
            triage_case_assign(case=case, decision=decision, at=now)
        fastsql.insert([case])
        tags = _tags_settle(tag_names, tags_found)
        if tags:
            tags = _tags_link_new(case, tags)
        fastsql.insert(
            [
                CaseSearch(
                    case=case, tokens=document_with(document_of(case.number), searchable.document)
                )
            ]
        )
        for timer in timers:
            timer.case_id = case.pk
        fastsql.insert(timers)
        created_event.payload = {"number": case.number, **created, "customer": customer.pk}
        events = [created_event, *(decision.events if decision is not None else []), *sla_events]
        for event in events:
            event.case_id = case.pk
        events_record_many(events)
        if decision is not None:
            triage_case_record(case=case, decision=decision)
        queue_counter_move(old=None, new=bucket_of(case))
        if at is None:
            if case.order != checked_order:
                check = policy_check_plan(case=case, at=now)
            intake_case_created(case=case, acknowledge=acknowledge, check=check)
    # The new case's clocks and tags, for its API response without another query.
    case._sla_timers = timers  # type: ignore[attr-defined]
    case._prefetched_tags = tags  # type: ignore[attr-defined]
    return case


@dataclass(frozen=True)
class _Searchable:
    """The search document of a new case but its number (see `document_with`), and the
    customer's name and contacts it was made with."""

    document: str
    customer: tuple[str, str, str]


def _search_contact(customer: Customer) -> tuple[str, str, str]:
    return (customer.name, customer.email, customer.phone)


def _search_rest(case: Case, customer: Customer) -> _Searchable:
    contact = _search_contact(customer)
    parts = (case.subject, case.description, case.order_ref, case.product_sku, case.serial)
    return _Searchable(document_of(*parts, *contact), contact)


def _lock(case: Case) -> Case:
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("category", "department", "owner", "customer")
        .get(pk=case.pk)
    )


def _code_of(name: str, value: Any) -> Any:
    """The value of a field as an event stores it: codes, usernames, strings."""
    if value is None:
        return None
    if name == "category":
        return value.code
    if name == "department":
        return value.code
    if name == "owner":
        return value.username
    if name == "amount":
        return str(value)
    if name == "tags":
        return sorted(t.name for t in value)
    return value


def case_update(
    *,
    actor: User | None,
    case: Case,
    version: int,
    changes: dict[str, Any],
    at: datetime | None = None,
) -> Case:
    """Change fields of a case if `version` is still current; one event per changed field.

    A stale version raises CaseVersionConflict and writes nothing. `at` back-dates an import.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise CaseInvalid(
            _("These fields cannot be changed: %s") % ", ".join(sorted(unknown)),
            fields={name: _("not editable") for name in unknown},
        )
    resolved: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "subject":
            resolved[name] = single_line(
                _check_text("subject", value or "", max_length=SUBJECT_MAX, required=True)
            )
        elif name == "description":
            resolved[name] = _check_text("description", value or "", max_length=BODY_MAX)
        elif name in ("order_ref", "product_sku", "serial"):
            resolved[name] = _check_text(name, (value or "").strip(), max_length=100)
        elif name == "kind":
            resolved[name] = _check_choice("kind", value, Kind.values)
        elif name == "priority":
            resolved[name] = _check_choice("priority", value, Priority.values)
        elif name == "category":
            resolved[name] = _category_by_code(value) if value else None
        elif name == "department":
            resolved[name] = _department_by_code(value) if value else None
        elif name == "owner":
            resolved[name] = _staff_owner(value) if value else None
        elif name == "is_complex":
            resolved[name] = bool(value)
        elif name == "tags":
            resolved[name] = list(value or [])
    if "amount" in changes or "currency" in changes:
        amount, currency = _check_amount(
            changes.get("amount", case.amount), changes.get("currency", case.currency)
        )
        resolved["amount"], resolved["currency"] = amount, currency

    now = at or timezone.now()
    with transaction.atomic():
        locked = _lock(case)
        if locked.version != version:
            raise CaseVersionConflict(
                _("The case was changed by someone else (version %(current)d, yours %(yours)d).")
                % {"current": locked.version, "yours": version},
                extra={"current_version": locked.version},
            )
        before = bucket_of(locked)
        events: list[CaseEvent] = []
        update_fields: list[str] = []
        for name, value in resolved.items():
            if name == "tags":
                old_tags = sorted(t.name for t in locked.tags.all())
                new_tag_objs = _tags(value)
                new_tags = [t.name for t in new_tag_objs]
                if old_tags != new_tags:
                    locked.tags.set(new_tag_objs)
                    events.append(_field_event(locked, now, actor, "tags", old_tags, new_tags))
                continue
            old = getattr(locked, name)
            if _code_of(name, old) == _code_of(name, value):
                continue
            setattr(locked, name, value)
            update_fields.append(name)
            event_type = EventType.ASSIGNED if name == "owner" else EventType.FIELD_CHANGED
            events.append(
                _field_event(
                    locked,
                    now,
                    actor,
                    name,
                    _code_of(name, old),
                    _code_of(name, value),
                    event_type=event_type,
                )
            )
        if not events:
            return locked
        locked.version = version + 1
        locked.updated_at = now
        locked.save(update_fields=[*update_fields, "version", "updated_at"])
        events_record_many(events)
        if SLA_FIELDS.intersection(update_fields):
            sla.sla_case_changed(case=locked, at=now, actor=actor)
        if SEARCHED_FIELDS.intersection(update_fields):
            search_index_case(case=locked)
        queue_counter_move(old=before, new=bucket_of(locked))
    return locked


def _field_event(
    case: Case,
    at: datetime,
    actor: User | None,
    name: str,
    old: Any,
    new: Any,
    *,
    event_type: str = EventType.FIELD_CHANGED,
) -> CaseEvent:
    return CaseEvent(case=case, at=at, actor=actor, type=event_type, field=name, old=old, new=new)


def case_assign(
    *, actor: User | None, case: Case, owner: User | None, at: datetime | None = None
) -> Case:
    """Give the case to `owner` (or nobody); the version need not be known."""
    with transaction.atomic():
        locked = _lock(case)
        return case_update(
            actor=actor,
            case=locked,
            version=locked.version,
            changes={"owner": owner.username if owner else None},
            at=at,
        )


def allowed_transitions(
    case: Case, *, for_customer: bool = False, case_settings: CaseSettings | None = None
) -> list[str]:
    """The statuses `case` may move to now. Pass `case_settings` when asking for many cases,
    so the reopen window is read once rather than once per closed case."""
    table = CUSTOMER_ALLOWED if for_customer else ALLOWED
    allowed = set(table.get(case.status, frozenset()))
    if (
        case.status == Status.CLOSED
        and Status.OPEN in allowed
        and not _within_reopen_window(case, case_settings or CaseSettings.current())
    ):
        allowed.discard(Status.OPEN)
    return [s for s in Status.values if s in allowed]


def _within_reopen_window(case: Case, case_settings: CaseSettings) -> bool:
    anchor = case.resolved_at or case.closed_at
    if anchor is None:
        return True
    window = timedelta(days=case_settings.reopen_window_days)
    return timezone.now() - anchor <= window


def case_transition(
    *,
    actor: User | None,
    case: Case,
    to: str,
    note: str = "",
    by_customer: bool = False,
    at: datetime | None = None,
) -> Case:
    """Move the case to status `to` if the state machine allows it; a no-op if already there.

    `at` back-dates an imported history; it defaults to now.
    """
    _check_choice("to", to, Status.values)
    _check_text("note", note, max_length=BODY_MAX)
    now = at or timezone.now()
    with transaction.atomic():
        locked = _lock(case)
        if locked.status == to:
            return locked
        allowed = allowed_transitions(locked, for_customer=by_customer)
        if to not in allowed:
            raise CaseTransitionNotAllowed(
                _("A case that is “%(status)s” cannot move to “%(to)s”.")
                % {"status": Status(locked.status).label, "to": Status(to).label},
                extra={"allowed": allowed, "status": locked.status},
            )
        old = locked.status
        before = bucket_of(locked)
        locked.status = to
        fields = ["status", "version", "updated_at"]
        if to == Status.RESOLVED:
            locked.resolved_at = now
            fields.append("resolved_at")
        elif to == Status.CLOSED:
            locked.closed_at = now
            if locked.resolved_at is None:
                locked.resolved_at = now
            fields += ["closed_at", "resolved_at"]
        elif old in (Status.RESOLVED, Status.CLOSED):
            locked.resolved_at = None
            locked.closed_at = None
            fields += ["resolved_at", "closed_at"]
        locked.version = F("version") + 1
        locked.updated_at = now
        locked.save(update_fields=fields)
        locked.refresh_from_db(fields=["version"])
        event_record(
            case=locked,
            type=EventType.STATUS_CHANGED,
            at=now,
            actor=actor,
            by_customer=by_customer,
            field="status",
            old=old,
            new=to,
            payload={"note": note} if note else {},
        )
        sla.sla_case_status_changed(case=locked, old=old, new=to, at=now, actor=actor)
        queue_counter_move(old=before, new=bucket_of(locked))
    return locked


def case_add_message(
    *,
    actor: User | None,
    case: Case,
    body: str,
    internal: bool = False,
    channel: str = Channel.WEB,
    by_customer: bool = False,
    at: datetime | None = None,
) -> Message:
    """Add a public reply or an internal note. A customer's reply reopens a waiting case.

    `at` back-dates an imported message; it defaults to now.
    """
    _check_text("body", body, max_length=BODY_MAX, required=True)
    _check_choice("channel", channel, Channel.values)
    if by_customer and internal:
        raise CaseInvalid(
            _("Customers cannot write internal notes."), fields={"internal": _("not allowed")}
        )
    now = at or timezone.now()
    with transaction.atomic():
        locked = _lock(case)
        message = Message.objects.create(
            case=locked,
            author=actor,
            from_customer=by_customer,
            internal=internal,
            channel=channel,
            body=body,
            created_at=now,
        )
        event_record(
            case=locked,
            type=EventType.NOTE_ADDED if internal else EventType.MESSAGE_ADDED,
            at=now,
            actor=actor,
            by_customer=by_customer,
            payload={"message": message.pk, "channel": channel},
        )
        search_append(case=locked, text=body)
        fields = ["updated_at"]
        locked.updated_at = now
        if not internal and not by_customer and locked.first_response_at is None:
            locked.first_response_at = now
            fields.append("first_response_at")
        locked.save(update_fields=fields)
        if at is None:
            # A public staff reply goes to the customer by e-mail (intake's outbox).
            intake_message_added(message=message)
        if not internal and not by_customer:
            sla.sla_case_replied(case=locked, at=now, actor=actor)
    if by_customer and locked.status == Status.PENDING_CUSTOMER:
        # The system, not the customer, moves it: customers may not pick arbitrary statuses.
        case_transition(actor=None, case=locked, to=Status.OPEN, note="customer replied", at=now)
    return message


# Leading bytes of the types we accept, so a declared type cannot smuggle something else in.
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
    "application/zip": (b"PK\x03\x04",),
}


def case_add_attachment(
    *,
    actor: User | None,
    case: Case,
    upload: UploadedFile,
    internal: bool = False,
    by_customer: bool = False,
    message: Message | None = None,
) -> Attachment:
    """Store a file on the case after checking its size and type."""
    if by_customer and internal:
        raise CaseInvalid(_("Customers cannot add internal files."), fields={"internal": "no"})
    size = upload.size or 0
    if size > settings.ATTACHMENT_MAX_BYTES:
        raise CaseInvalid(
            _("The file is %(size)d bytes; the limit is %(limit)d bytes.")
            % {"size": size, "limit": settings.ATTACHMENT_MAX_BYTES},
            code="file_too_large",
            fields={"file": _("too large")},
        )
    if size == 0:
        raise CaseInvalid(_("The file is empty."), fields={"file": _("empty")})
    content_type = (upload.content_type or "").split(";")[0].strip().lower()
    if content_type not in settings.ATTACHMENT_ALLOWED_TYPES:
        raise CaseInvalid(
            _("Files of type %s are not accepted.") % (content_type or "?"),
            code="file_type_not_allowed",
            fields={"file": _("allowed: %s") % ", ".join(settings.ATTACHMENT_ALLOWED_TYPES)},
        )
    digest = hashlib.sha256()
    head = b""
    for chunk in upload.chunks():
        if not head:
            head = chunk[:16]
        digest.update(chunk)
    magic = _MAGIC.get(content_type)
    if magic and not head.startswith(magic):
        raise CaseInvalid(
            _("The file content does not match its type %s.") % content_type,
            code="file_type_mismatch",
            fields={"file": _("content is not %s") % content_type},
        )
    filename = single_line(upload.name or "file").replace("/", "_").replace("\\", "_")[-200:]
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(case)
        attachment = Attachment(
            case=locked,
            message=message,
            filename=filename,
            content_type=content_type,
            size=size,
            sha256=digest.hexdigest(),
            internal=internal,
            uploaded_by=actor,
            created_at=now,
        )
        upload.seek(0)
        attachment.file.save(filename, upload, save=False)
        attachment.save()
        event_record(
            case=locked,
            type=EventType.ATTACHMENT_ADDED,
            at=now,
            actor=actor,
            by_customer=by_customer,
            payload={"attachment": attachment.pk, "filename": filename, "size": size},
        )
        locked.updated_at = now
        locked.save(update_fields=["updated_at"])
    return attachment


def case_link(*, actor: User, source: Case, target: Case, kind: str) -> CaseLink:
    """Link two cases (duplicate of, child of, part of incident, related); idempotent."""
    _check_choice("kind", kind, LinkKind.values)
    if source.pk == target.pk:
        raise CaseInvalid(_("A case cannot be linked to itself."), fields={"target": _("self")})
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(source)
        link, created = CaseLink.objects.get_or_create(
            source=locked, target=target, kind=kind, defaults={"created_by": actor}
        )
        if created:
            event_record(
                case=locked,
                type=EventType.LINKED,
                at=now,
                actor=actor,
                field="links",
                new={"kind": kind, "target": target.number},
            )
            locked.updated_at = now
            locked.save(update_fields=["updated_at"])
    return link


def case_reply(
    *,
    actor: User,
    case: Case,
    body: str,
    internal: bool = False,
    uploads: Sequence[UploadedFile] = (),
    then_status: str = "",
) -> Message:
    """A reply or internal note from the workspace with its files and an optional status change.

    All or nothing: a refused file or transition leaves no message behind.
    """
    with transaction.atomic():
        message = case_add_message(
            actor=actor, case=case, body=body, internal=internal, channel=Channel.WEB
        )
        for upload in uploads:
            case_add_attachment(
                actor=actor, case=case, upload=upload, internal=internal, message=message
            )
        if then_status:
            case_transition(actor=actor, case=case, to=then_status)
    return message


@dataclass(frozen=True)
class BulkOutcome:
    """What happened to one case of a bulk action: done, or refused with the reason."""

    number: str
    ok: bool
    message: str = ""


BULK_ACTIONS = ("assign", "priority", "status")


def case_bulk_apply(
    *, actor: User, cases: Sequence[Case], action: str, value: str = ""
) -> list[BulkOutcome]:
    """Assign, re-prioritise or transition each case, each in its own transaction.

    `value` is a username ("" for nobody) for assign, a priority or a status code. A refusal
    on one case (a transition the state machine forbids, a change someone made meanwhile) is
    reported in its outcome and the other cases go on.
    """
    _check_choice("action", action, list(BULK_ACTIONS))
    owner: User | None = None
    if action == "assign" and value:
        owner = _staff_owner(value)
    elif action == "priority":
        _check_choice("priority", value, Priority.values)
    elif action == "status":
        _check_choice("status", value, Status.values)
    outcomes: list[BulkOutcome] = []
    for case in cases:
        try:
            if action == "assign":
                case_assign(actor=actor, case=case, owner=owner)
            elif action == "priority":
                case_update(
                    actor=actor, case=case, version=case.version, changes={"priority": value}
                )
            else:
                case_transition(actor=actor, case=case, to=value)
        except DomainError as exc:
            outcomes.append(BulkOutcome(case.number, ok=False, message=exc.message))
        else:
            outcomes.append(BulkOutcome(case.number, ok=True))
    return outcomes


def case_merge(
    *, actor: User, cases: Sequence[Case], note: str = ""
) -> tuple[Case, list[BulkOutcome]]:
    """Merge duplicates into the oldest case that is not cancelled.

    Every other case is linked to it as `duplicate_of` and cancelled with a note, each in its
    own transaction: a case that cannot be cancelled any more (resolved, closed) is reported
    and left as it was. The kept case records `case.merged` with the numbers it absorbed.
    """
    unique = list({c.pk: c for c in cases}.values())
    if len(unique) < 2:
        raise CaseInvalid(
            _("Select at least two cases to merge."), fields={"cases": _("at least two")}
        )
    candidates = [c for c in unique if c.status != Status.CANCELLED] or unique
    primary = min(candidates, key=lambda c: (c.created_at, c.pk))
    _check_text("note", note, max_length=BODY_MAX)
    reason = note.strip() or _("Duplicate of %s") % primary.number
    outcomes: list[BulkOutcome] = []
    merged: list[str] = []
    for case in sorted(unique, key=lambda c: (c.created_at, c.pk)):
        if case.pk == primary.pk:
            continue
        try:
            with transaction.atomic():
                case_link(actor=actor, source=case, target=primary, kind=LinkKind.DUPLICATE_OF)
                case_transition(actor=actor, case=case, to=Status.CANCELLED, note=reason)
        except DomainError as exc:
            outcomes.append(BulkOutcome(case.number, ok=False, message=exc.message))
        else:
            outcomes.append(BulkOutcome(case.number, ok=True))
            merged.append(case.number)
    if merged:
        now = timezone.now()
        with transaction.atomic():
            locked = _lock(primary)
            event_record(
                case=locked,
                type=EventType.MERGED,
                at=now,
                actor=actor,
                payload={"duplicates": merged},
            )
            locked.updated_at = now
            locked.save(update_fields=["updated_at"])
            primary = locked
    return primary, outcomes


# Query-string keys a saved view keeps (the queue's tab and filters).
SAVED_VIEW_KEYS = (
    "tab",
    "status",
    "kind",
    "category",
    "priority",
    "channel",
    "owner",
    "department",
    "created_after",
    "created_before",
    "q",
    "ordering",
)
SAVED_VIEWS_MAX = 20


def _saved_view_query(query: str) -> str:
    pairs = [(k, v) for k, v in parse_qsl(query[:2000]) if k in SAVED_VIEW_KEYS and v]
    for key, value in pairs:
        _check_text(key, value, max_length=200)
    cleaned = urlencode(pairs)
    if len(cleaned) > 1000:
        raise CaseInvalid(_("These filters are too long to save."), fields={"query": _("long")})
    return cleaned


def saved_view_create(*, user: User, name: str, query: str) -> SavedView:
    """Save the queue's filters under `name` as a tab; the same name replaces its filters."""
    name = single_line(_check_text("name", name, max_length=60, required=True))
    cleaned = _saved_view_query(query)
    with transaction.atomic():
        existing = SavedView.objects.select_for_update().filter(user=user, name=name).first()
        if existing is not None:
            existing.query = cleaned
            existing.save(update_fields=["query"])
            return existing
        views = list(SavedView.objects.select_for_update().filter(user=user))
        if len(views) >= SAVED_VIEWS_MAX:
            raise CaseInvalid(
                _("At most %d saved views; delete one first.") % SAVED_VIEWS_MAX,
                fields={"name": _("too many")},
            )
        position = max((v.position for v in views), default=0) + 1
        return SavedView.objects.create(
            user=user, name=name, query=cleaned, position=position, created_at=timezone.now()
        )


def saved_view_delete(*, view: SavedView) -> None:
    """Delete a saved view (its owner's, checked by permissions.get_saved_view_for_user)."""
    view.delete()
