"""Case endpoints of API v1: thin — parse, load with permission, one service or selector."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from afterdesk.accounts.models import User
from afterdesk.cases import selectors, services
from afterdesk.cases.choices import Status as CaseStatus
from afterdesk.cases.models import Attachment, Case, CaseLink, CaseSettings
from afterdesk.cases.permissions import (
    can_add_internal_note,
    get_case_for_user,
    is_customer,
)
from afterdesk.cases.schemas import (
    AttachmentOut,
    CaseCreateIn,
    CaseDetailOut,
    CaseListOut,
    CaseOut,
    CaseUpdateIn,
    EventOut,
    LinkIn,
    LinkOut,
    MessageIn,
    MessageOut,
    TrackIn,
    TrackOut,
    TransitionIn,
)
from afterdesk.cases.tracking import case_track
from afterdesk.core.api_auth import request_user as _user
from afterdesk.core.errors import NotFound, PermissionDenied, RateLimited
from afterdesk.core.ratelimit import client_address, rate_limit_hit
from afterdesk.core.schemas import CleanStr, ErrorOut, SupportedDatetime, error_responses
from afterdesk.customers.services import CustomerInput
from afterdesk.sla.selectors import case_clocks_for

router = Router()
track_router = Router(auth=None)

ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422)


def _user_ref(user: User | None) -> dict[str, str] | None:
    return {"username": user.username, "name": user.display_name} if user else None


def case_out(case: Case, user: User, case_settings: CaseSettings | None = None) -> dict[str, Any]:
    customer = case.customer
    tags = getattr(case, "_prefetched_tags", None)
    if tags is None:
        tags = list(case.tags.all())
    return {
        "number": case.number,
        "kind": case.kind,
        "channel": case.channel,
        "status": case.status,
        "priority": case.priority,
        "category": case.category.code if case.category else None,
        "subject": case.subject,
        "description": case.description,
        "owner": _user_ref(case.owner),
        "department": case.department.code if case.department else None,
        "customer": {
            "id": customer.pk,
            "name": customer.name,
            "email": customer.email,
            "phone": customer.phone,
            "vip_tier": customer.vip_tier,
        },
        "order_ref": case.order_ref,
        "product_sku": case.product_sku,
        "serial": case.serial,
        "amount": str(case.amount) if case.amount is not None else None,
        "currency": case.currency,
        "tags": sorted(t.name for t in tags),
        "is_complex": case.is_complex,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "first_response_at": case.first_response_at,
        "resolved_at": case.resolved_at,
        "closed_at": case.closed_at,
        "version": case.version,
        "sla": case_clocks_for(user=user, case=case),
        "allowed_transitions": services.allowed_transitions(
            case, for_customer=is_customer(user), case_settings=case_settings
        ),
    }


def _link_out(link: CaseLink, case: Case) -> dict[str, str]:
    outgoing = link.source_id == case.pk
    other = link.target if outgoing else link.source
    return {
        "kind": link.kind,
        "direction": "outgoing" if outgoing else "incoming",
        "number": other.number,
        "subject": other.subject,
        "status": other.status,
    }


def case_detail_out(case: Case, user: User) -> dict[str, Any]:
    data = case_out(case, user)
    data["links"] = [_link_out(link, case) for link in selectors.case_links(user=user, case=case)]
    return data


class CaseListQuery(Schema):
    status: CleanStr = Field(default="", max_length=200, description="comma-separated statuses")
    kind: CleanStr = Field(default="", max_length=200)
    channel: CleanStr = Field(default="", max_length=200)
    priority: CleanStr = Field(default="", max_length=200)
    category: CleanStr = Field(default="", max_length=60)
    owner: CleanStr = Field(default="", max_length=150, description="username, 'me' or 'none'")
    department: CleanStr = Field(default="", max_length=40)
    customer: int | None = Field(default=None, ge=1, lt=2**63)
    created_after: SupportedDatetime | None = None
    created_before: SupportedDatetime | None = None
    q: CleanStr = Field(default="", max_length=200)
    sla: CleanStr = Field(
        default="",
        max_length=20,
        description="overdue, due_soon (due within the hour) or escalated",
    )
    ordering: CleanStr = Field(default=selectors.DEFAULT_ORDERING, max_length=30)
    limit: int = Field(default=50, ge=1, le=selectors.MAX_LIMIT)
    # Not length-limited here: a bad cursor of any length answers invalid_cursor.
    cursor: CleanStr | None = None


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


@router.post("", response={201: CaseOut, **ERRORS}, summary="Open a case")
def create_case(request: HttpRequest, payload: CaseCreateIn) -> Status[dict[str, Any]]:
    user = _user(request)
    if is_customer(user):
        # Customers open cases for themselves only, whatever contact they type.
        profile = getattr(user, "customer_profile", None)
        if profile is None:
            raise PermissionDenied(_("This login has no customer profile."))
        customer = CustomerInput(
            name=profile.name, email=profile.email, phone=profile.phone, language=profile.language
        )
    else:
        customer = CustomerInput(**payload.customer.model_dump())
    data = services.CaseInput(
        kind=payload.kind,
        channel=payload.channel,
        subject=payload.subject,
        description=payload.description,
        customer=customer,
        order_ref=payload.order_ref,
        product_sku=payload.product_sku,
        serial=payload.serial,
        amount=payload.amount,
        currency=payload.currency,
        priority=payload.priority or "",
        category=payload.category or "",
        department=payload.department or "",
        tags=tuple(payload.tags),
        is_complex=payload.is_complex,
    )
    case = services.case_create(actor=user, data=data, by_customer=is_customer(user))
    return Status(201, case_out(case, user))


@router.get("", response={200: CaseListOut, **ERRORS}, summary="List cases (keyset pages)")
def list_cases(request: HttpRequest, filters: Query[CaseListQuery]) -> dict[str, Any]:
    user = _user(request)
    page = selectors.cases_list(
        user=user,
        filters=selectors.CaseFilters(
            status=_split(filters.status),
            kind=_split(filters.kind),
            channel=_split(filters.channel),
            priority=_split(filters.priority),
            category=filters.category,
            owner=filters.owner,
            department=filters.department,
            customer=filters.customer,
            created_after=filters.created_after,
            created_before=filters.created_before,
            q=filters.q,
            sla=filters.sla,
        ),
        ordering=filters.ordering,
        cursor=filters.cursor,
        limit=filters.limit,
    )
    # The reopen window matters only for closed cases: read it at most once per page.
    case_settings = (
        CaseSettings.current() if any(c.status == CaseStatus.CLOSED for c in page.items) else None
    )
    return {
        "items": [case_out(c, user, case_settings) for c in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get("/{number}", response={200: CaseDetailOut, **ERRORS}, summary="One case")
def get_case(request: HttpRequest, number: str) -> dict[str, Any]:
    user = _user(request)
    case = get_case_for_user(user, number)
    return case_detail_out(case, user)


@router.patch("/{number}", response={200: CaseDetailOut, **ERRORS}, summary="Change fields")
def update_case(request: HttpRequest, number: str, payload: CaseUpdateIn) -> dict[str, Any]:
    user = _user(request)
    case = get_case_for_user(user, number, write=True)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    case = services.case_update(actor=user, case=case, version=version, changes=changes)
    return case_detail_out(case, user)


@router.post(
    "/{number}/transitions", response={200: CaseDetailOut, **ERRORS}, summary="Change status"
)
def transition_case(request: HttpRequest, number: str, payload: TransitionIn) -> dict[str, Any]:
    user = _user(request)
    customer = is_customer(user)
    case = get_case_for_user(user, number, write=not customer)
    case = services.case_transition(
        actor=user, case=case, to=payload.to, note=payload.note, by_customer=customer
    )
    return case_detail_out(case, user)


@router.get("/{number}/messages", response={200: list[MessageOut], **ERRORS})
def list_messages(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    user = _user(request)
    case = get_case_for_user(user, number)
    customer = is_customer(user)
    return [
        {
            "id": m.pk,
            "body": m.body,
            "internal": m.internal,
            "from_customer": m.from_customer,
            "channel": m.channel,
            "author": None if m.from_customer else _user_ref(m.author),
            "created_at": m.created_at,
            "attachments": [
                _attachment_out(a) for a in m.attachments.all() if not (customer and a.internal)
            ],
        }
        for m in selectors.case_messages(user=user, case=case)
    ]


@router.post("/{number}/messages", response={201: MessageOut, **ERRORS}, summary="Reply or note")
def add_message(request: HttpRequest, number: str, payload: MessageIn) -> Status[dict[str, Any]]:
    user = _user(request)
    case = get_case_for_user(user, number)
    customer = is_customer(user)
    if payload.internal and not can_add_internal_note(user, case):
        raise PermissionDenied(_("You may not write internal notes on this case."))
    if not customer and not can_add_internal_note(user, case):
        raise PermissionDenied(_("You may not reply on this case."))
    message = services.case_add_message(
        actor=user,
        case=case,
        body=payload.body,
        internal=payload.internal,
        channel="web" if customer else "api",
        by_customer=customer,
    )
    return Status(
        201,
        {
            "id": message.pk,
            "body": message.body,
            "internal": message.internal,
            "from_customer": message.from_customer,
            "channel": message.channel,
            "author": None if customer else _user_ref(user),
            "created_at": message.created_at,
            "attachments": [],
        },
    )


def _attachment_out(a: Attachment) -> dict[str, Any]:
    return {
        "id": a.pk,
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "internal": a.internal,
        "created_at": a.created_at,
    }


@router.post(
    "/{number}/attachments", response={201: AttachmentOut, **ERRORS}, summary="Upload a file"
)
def add_attachment(
    request: HttpRequest,
    number: str,
    file: File[UploadedFile],
    internal: Form[bool] = False,
) -> Status[dict[str, Any]]:
    user = _user(request)
    case = get_case_for_user(user, number)
    customer = is_customer(user)
    if not customer and not can_add_internal_note(user, case):
        raise PermissionDenied(_("You may not add files to this case."))
    attachment = services.case_add_attachment(
        actor=user, case=case, upload=file, internal=internal, by_customer=customer
    )
    return Status(201, _attachment_out(attachment))


@router.get("/{number}/attachments", response={200: list[AttachmentOut], **ERRORS})
def list_attachments(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    user = _user(request)
    case = get_case_for_user(user, number)
    qs = case.attachments.order_by("created_at", "id")
    if is_customer(user):
        qs = qs.filter(internal=False)
    return [_attachment_out(a) for a in qs]


@router.get("/{number}/attachments/{attachment_id}", response={200: None, **ERRORS})
def download_attachment(request: HttpRequest, number: str, attachment_id: int) -> FileResponse:
    user = _user(request)
    case = get_case_for_user(user, number)
    attachment = case.attachments.filter(pk=attachment_id).first()
    if attachment is None or (is_customer(user) and attachment.internal):
        raise NotFound(_("No such attachment."))
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@router.get("/{number}/events", response={200: list[EventOut], **ERRORS}, summary="Audit trail")
def list_events(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    user = _user(request)
    case = get_case_for_user(user, number)
    customer = is_customer(user)
    return [
        {
            "type": e.type,
            "at": e.at,
            "actor": e.actor.username if e.actor and not e.by_customer else None,
            "by_customer": e.by_customer,
            "field": e.field,
            "old": e.old,
            "new": e.new,
            # A staff note on a status change is for colleagues, not for the customer.
            "payload": {} if customer and not e.by_customer else e.payload,
        }
        for e in selectors.case_events(user=user, case=case)
    ]


@router.post("/{number}/links", response={201: LinkOut, **ERRORS}, summary="Link two cases")
def add_link(request: HttpRequest, number: str, payload: LinkIn) -> Status[dict[str, str]]:
    user = _user(request)
    case = get_case_for_user(user, number, write=True)
    target = get_case_for_user(user, payload.target)
    link = services.case_link(actor=user, source=case, target=target, kind=payload.kind)
    return Status(201, _link_out(link, case))


@track_router.post("", response={200: TrackOut, **ERRORS, 429: ErrorOut}, summary="Track a case")
def track(request: HttpRequest, payload: TrackIn) -> dict[str, Any]:
    """Status and public timeline by case number and the customer's e-mail or phone.

    No login. An unknown number and a wrong contact get the same 404. Rate-limited per client.
    """
    if rate_limit_hit(
        scope="track", key=client_address(request), limit=settings.TRACK_RATE_LIMIT_PER_MINUTE
    ):
        raise RateLimited(_("Too many tracking requests; wait a minute and try again."))
    case = case_track(number=payload.number, contact=payload.contact)
    return {
        "number": case.number,
        "kind": case.kind,
        "status": case.status,
        "subject": case.subject,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "timeline": selectors.case_public_timeline(case=case),
    }
