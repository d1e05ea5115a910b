"""RMA endpoints of API v1 (/api/v1/rma/...): thin — parse, load with permission (the case's
rules: an agent outside the department gets 404, customers only their own), one service."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from afterdesk.accounts.models import User
from afterdesk.cases.permissions import get_case_for_user, is_customer
from afterdesk.core.api_auth import request_user as _user
from afterdesk.core.errors import PermissionDenied
from afterdesk.core.schemas import CleanStr, error_responses
from afterdesk.rma import selectors, services
from afterdesk.rma.models import CompensationProposal, Rma
from afterdesk.rma.pdf import return_slip_pdf
from afterdesk.rma.permissions import (
    can_answer_quote,
    get_proposal_for_user,
    get_rma_for_user,
)
from afterdesk.rma.schemas import (
    CompensationIn,
    DecisionIn,
    DiagnosisIn,
    DispositionIn,
    InspectionIn,
    ItemIn,
    ProposalOut,
    QuickCloseCheckOut,
    QuickCloseIn,
    QuoteAnswerIn,
    ReceiveIn,
    RmaCreateIn,
    RmaListOut,
    RmaOut,
    ShipmentIn,
    TransitionIn,
)

router = Router()

ERRORS = error_responses(400, 401, 403, 404, 409, 422)


def _staff_only(user: User) -> None:
    if not user.is_staff_member:
        raise PermissionDenied(_("Only staff may do this."))


def _money(value: Any) -> str | None:
    return str(value) if value is not None else None


def rma_out(rma: Rma, user: User) -> dict[str, Any]:
    """The RMA as the API shows it; items, shipments and inspection come prefetched."""
    inspection = getattr(rma, "_inspection", None)
    return {
        "number": rma.case.number,
        "kind": rma.kind,
        "state": rma.state,
        "reason": rma.reason,
        "reason_detail": rma.reason_detail,
        "warranty_status": rma.warranty_status,
        "warranty_ends": rma.warranty_ends,
        "window_ends": rma.window_ends,
        "within_window": rma.within_window,
        "extended_warranty_months": rma.extended_warranty_months,
        "rejection_reason": rma.rejection_reason,
        "return_address": rma.return_address,
        "return_instructions": rma.return_instructions,
        "disposition": rma.disposition,
        "diagnosis": {
            "fault": rma.fault,
            "repair_plan": rma.repair_plan,
            "repair_eta": rma.repair_eta,
            "quote_amount": _money(rma.quote_amount),
            "quote_currency": rma.quote_currency,
            "quote_status": rma.quote_status,
            "quote_answered_at": rma.quote_answered_at,
        },
        "refund_amount": _money(rma.refund_amount),
        "refund_currency": rma.refund_currency,
        "quick_close": (
            {
                "rule": rma.quick_close_rule.name if rma.quick_close_rule else None,
                "outcome": rma.quick_close_outcome,
            }
            if rma.quick_close_outcome
            else None
        ),
        "confirm_due_at": rma.confirm_due_at,
        "auto_confirmed": rma.auto_confirmed,
        "milestones": dict(selectors.milestones(rma)),
        "allowed_transitions": services.allowed_steps(rma, for_customer=is_customer(user)),
        "items": [
            {
                "id": i.pk,
                "sku": i.sku,
                "description": i.description,
                "serial": i.serial,
                "quantity": i.quantity,
                "order_ref": i.order_ref,
                "purchased_on": i.purchased_on,
                "delivered_on": i.delivered_on,
                "unit_price": _money(i.unit_price),
                "warranty_ends": i.warranty_ends,
            }
            for i in rma.items.all()
        ],
        "shipments": [
            {
                "id": s.pk,
                "direction": s.direction,
                "carrier": s.carrier,
                "tracking_number": s.tracking_number,
                "shipped_at": s.shipped_at,
                "delivered_at": s.delivered_at,
            }
            for s in rma.shipments.all()
        ],
        "inspection": (
            {
                "packaging_ok": inspection.packaging_ok,
                "function_ok": inspection.function_ok,
                "matches_description": inspection.matches_description,
                "accessories_complete": inspection.accessories_complete,
                "customer_damage": inspection.customer_damage,
                "notes": inspection.notes,
                "passed": inspection.passed,
                "photos": [p.pk for p in inspection.photos.all()],
                "inspected_by": (
                    inspection.inspected_by.username if inspection.inspected_by else None
                ),
                "inspected_at": inspection.inspected_at,
            }
            if inspection is not None
            else None
        ),
    }


def _detail(user: User, number: str) -> dict[str, Any]:
    """A fresh load of the RMA with everything the detail shows (a fixed number of queries)."""
    rma = get_rma_for_user(user, number)
    return _out_loaded(rma, user)


def _out_loaded(rma: Rma, user: User) -> dict[str, Any]:
    fresh = (
        Rma.objects.select_related("case", "quick_close_rule")
        .prefetch_related("items", "shipments")
        .get(pk=rma.pk)
    )
    fresh._inspection = (  # type: ignore[attr-defined]
        selectors.rma_inspection(rma=fresh) if fresh.inspected_at is not None else None
    )
    return rma_out(fresh, user)


class ListQuery(Schema):
    state: CleanStr = Field(default="", max_length=30)
    limit: int = Field(default=50, ge=1, le=100)


@router.post("", response={201: RmaOut, **ERRORS}, summary="Request an RMA for a case")
def create_rma(request: HttpRequest, payload: RmaCreateIn) -> Status[dict[str, Any]]:
    user = _user(request)
    customer = is_customer(user)
    case = get_case_for_user(user, payload.case, write=not customer)
    rma = services.rma_create(
        actor=user,
        case=case,
        reason=payload.reason,
        reason_detail=payload.reason_detail,
        items=[services.ItemInput(**item.model_dump()) for item in payload.items],
        by_customer=customer,
    )
    return Status(201, _out_loaded(rma, user))


@router.get("", response={200: RmaListOut, **ERRORS}, summary="List RMAs (newest first)")
def list_rmas(request: HttpRequest, filters: Query[ListQuery]) -> dict[str, Any]:
    user = _user(request)
    rmas = selectors.rmas_list(user=user, state=filters.state, limit=filters.limit)
    ids = [r.pk for r in rmas]
    loaded = {
        r.pk: r
        for r in Rma.objects.filter(pk__in=ids)
        .select_related("case", "quick_close_rule", "inspection", "inspection__inspected_by")
        .prefetch_related("items", "shipments", "inspection__photos")
    }
    out = []
    for pk in ids:
        rma = loaded[pk]
        rma._inspection = getattr(rma, "inspection", None) if rma.inspected_at else None  # type: ignore[attr-defined]
        out.append(rma_out(rma, user))
    return {"items": out}


@router.get("/approvals", response={200: list[ProposalOut], **ERRORS}, summary="Approval queue")
def approvals(request: HttpRequest) -> list[dict[str, Any]]:
    """Compensation proposals waiting for the caller's authority."""
    user = _user(request)
    _staff_only(user)
    return [proposal_out(p) for p in selectors.approval_queue(user=user)]


@router.get("/{number}", response={200: RmaOut, **ERRORS}, summary="Get an RMA")
def get_rma(request: HttpRequest, number: str) -> dict[str, Any]:
    return _detail(_user(request), number)


@router.post("/{number}/transition", response={200: RmaOut, **ERRORS}, summary="Take a step")
def transition(request: HttpRequest, number: str, payload: TransitionIn) -> dict[str, Any]:
    """Move the RMA along its lifecycle; an illegal step is 409 with the allowed ones."""
    user = _user(request)
    customer = is_customer(user)
    rma = get_rma_for_user(user, number, write=not customer)
    services.rma_transition(
        actor=user,
        rma=rma,
        to=payload.to,
        note=payload.note,
        carrier=payload.carrier,
        tracking_number=payload.tracking_number,
        return_address=payload.return_address,
        return_instructions=payload.return_instructions,
        refund_amount=payload.refund_amount,
        by_customer=customer,
    )
    return _detail(user, number)


@router.post("/{number}/items", response={201: RmaOut, **ERRORS}, summary="Add an item")
def add_item(request: HttpRequest, number: str, payload: ItemIn) -> Status[dict[str, Any]]:
    user = _user(request)
    rma = get_rma_for_user(user, number, write=True)
    services.rma_item_add(actor=user, rma=rma, item=services.ItemInput(**payload.model_dump()))
    return Status(201, _detail(user, number))


@router.post("/{number}/shipments", response={201: RmaOut, **ERRORS}, summary="Record a parcel")
def add_shipment(request: HttpRequest, number: str, payload: ShipmentIn) -> Status[dict[str, Any]]:
    """The customer's parcel to us (customers may send theirs) or ours to the customer."""
    user = _user(request)
    customer = is_customer(user)
    rma = get_rma_for_user(user, number, write=not customer)
    services.rma_shipment_add(
        actor=user,
        rma=rma,
        direction=payload.direction,
        carrier=payload.carrier,
        tracking_number=payload.tracking_number,
        by_customer=customer,
    )
    return Status(201, _detail(user, number))


@router.post("/{number}/receive", response={200: RmaOut, **ERRORS}, summary="Goods received")
def receive(request: HttpRequest, number: str, payload: ReceiveIn) -> dict[str, Any]:
    user = _user(request)
    rma = get_rma_for_user(user, number, write=True)
    services.rma_receive(actor=user, rma=rma, code=payload.code or number)
    return _detail(user, number)


@router.post("/{number}/inspection", response={201: RmaOut, **ERRORS}, summary="Inspect")
def inspect(request: HttpRequest, number: str, payload: InspectionIn) -> Status[dict[str, Any]]:
    """The receiving inspection checklist (photos are uploaded in the warehouse screen)."""
    user = _user(request)
    rma = get_rma_for_user(user, number, write=True)
    services.rma_inspect(actor=user, rma=rma, data=services.InspectionInput(**payload.model_dump()))
    return Status(201, _detail(user, number))


@router.post("/{number}/diagnosis", response={201: RmaOut, **ERRORS}, summary="Diagnose")
def diagnose(request: HttpRequest, number: str, payload: DiagnosisIn) -> Status[dict[str, Any]]:
    user = _user(request)
    rma = get_rma_for_user(user, number, write=True)
    services.rma_diagnose(
        actor=user,
        rma=rma,
        fault=payload.fault,
        repair_plan=payload.repair_plan,
        repair_eta=payload.repair_eta,
        cost=payload.cost,
        currency=payload.currency,
    )
    return Status(201, _detail(user, number))


@router.post("/{number}/quote", response={200: RmaOut, **ERRORS}, summary="Answer the quote")
def answer_quote(request: HttpRequest, number: str, payload: QuoteAnswerIn) -> dict[str, Any]:
    """The customer accepts or declines the paid repair quote (staff may record the answer
    the customer gave them)."""
    user = _user(request)
    rma = get_rma_for_user(user, number, write=not is_customer(user))
    customer = can_answer_quote(user, rma)
    services.rma_quote_answer(user=user, rma=rma, accept=payload.accept, by_customer=customer)
    return _detail(user, number)


@router.post(
    "/{number}/confirm-receipt", response={200: RmaOut, **ERRORS}, summary="Confirm receipt"
)
def confirm_receipt(request: HttpRequest, number: str) -> dict[str, Any]:
    user = _user(request)
    customer = is_customer(user)
    rma = get_rma_for_user(user, number, write=not customer)
    services.rma_confirm_receipt(user=user, rma=rma, by_customer=customer)
    return _detail(user, number)


@router.post("/{number}/disposition", response={200: RmaOut, **ERRORS}, summary="Sort goods")
def disposition(request: HttpRequest, number: str, payload: DispositionIn) -> dict[str, Any]:
    user = _user(request)
    rma = get_rma_for_user(user, number, write=True)
    services.rma_set_disposition(actor=user, rma=rma, disposition=payload.disposition)
    return _detail(user, number)


@router.get(
    "/{number}/quick-close",
    response={200: list[QuickCloseCheckOut], **ERRORS},
    summary="Which quick-close rule applies",
)
def quick_close_check(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    user = _user(request)
    rma = get_rma_for_user(user, number, write=True)
    out = []
    for outcome in ("refund", "reship"):
        check = services.quick_close_check(rma=rma, outcome=outcome)
        out.append(
            {
                "outcome": outcome,
                "allowed": check.rule is not None,
                "rule": check.rule.name if check.rule else None,
                "amount": _money(check.amount),
                "currency": check.currency,
                "refusals": check.refusals,
            }
        )
    return out


@router.post("/{number}/quick-close", response={200: RmaOut, **ERRORS}, summary="Quick close")
def quick_close(request: HttpRequest, number: str, payload: QuickCloseIn) -> dict[str, Any]:
    """Refund or reship without a return when a rule allows it (409 naming why not)."""
    user = _user(request)
    rma = get_rma_for_user(user, number, write=True)
    services.rma_quick_close(
        actor=user,
        rma=rma,
        outcome=payload.outcome,
        carrier=payload.carrier,
        tracking_number=payload.tracking_number,
        note=payload.note,
    )
    return _detail(user, number)


@router.get("/{number}/return-slip.pdf", response={200: None, **ERRORS}, summary="Return slip")
def return_slip(request: HttpRequest, number: str) -> HttpResponse:
    """The printable return slip (PDF) with the RMA number as QR code and barcode."""
    user = _user(request)
    rma = get_rma_for_user(user, number)
    pdf = return_slip_pdf(rma=rma, items=selectors.rma_items(rma=rma))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="return-slip-{rma.case.number}.pdf"'
    return response


def proposal_out(p: CompensationProposal) -> dict[str, Any]:
    coupon = p.coupon
    return {
        "id": p.pk,
        "case": p.case.number,
        "type": p.type,
        "value": _money(p.value),
        "currency": p.currency,
        "note": p.note,
        "tier": p.tier.name,
        "required_role": p.required_role,
        "status": p.status,
        "proposed_by": p.proposed_by.username,
        "proposed_at": p.proposed_at,
        "decided_by": p.decided_by.username if p.decided_by else None,
        "decided_at": p.decided_at,
        "decision_note": p.decision_note,
        "coupon": (
            {
                "code": coupon.code,
                "value": str(coupon.value),
                "currency": coupon.currency,
                "min_order_amount": str(coupon.min_order_amount),
                "valid_until": coupon.valid_until,
            }
            if coupon is not None
            else None
        ),
    }


@router.get(
    "/{number}/compensations",
    response={200: list[ProposalOut], **ERRORS},
    summary="Compensation proposals of the case",
)
def list_compensations(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    user = _user(request)
    _staff_only(user)
    case = get_case_for_user(user, number)
    proposals = selectors.case_proposals(case_id=case.pk)
    for p in proposals:
        p.case = case
    return [proposal_out(p) for p in proposals]


@router.post(
    "/{number}/compensations",
    response={201: ProposalOut, **ERRORS},
    summary="Propose compensation",
)
def propose(request: HttpRequest, number: str, payload: CompensationIn) -> Status[dict[str, Any]]:
    """Approved at once within the proposer's authority, else waiting for approval."""
    user = _user(request)
    _staff_only(user)
    case = get_case_for_user(user, number, write=True)
    proposal = services.compensation_propose(
        actor=user, case=case, data=services.CompensationInput(**payload.model_dump())
    )
    return Status(201, proposal_out(get_proposal_for_user(user, proposal.pk, number)))


@router.post(
    "/{number}/compensations/{proposal_id}/decision",
    response={200: ProposalOut, **ERRORS},
    summary="Approve or reject a proposal",
)
def decide(
    request: HttpRequest, number: str, proposal_id: int, payload: DecisionIn
) -> dict[str, Any]:
    user = _user(request)
    _staff_only(user)
    proposal = get_proposal_for_user(user, proposal_id, number)
    # Refused with 403 naming the authority needed when the caller lacks it.
    services.compensation_decide(
        actor=user, proposal=proposal, approve=payload.approve, note=payload.note
    )
    return proposal_out(get_proposal_for_user(user, proposal_id, number))
