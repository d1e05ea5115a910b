"""The customer's side of an RMA in the portal: the milestones, the return slip, the repair
quote and the receipt confirmation. Cases load through the portal's own permission
(`get_portal_case`): another customer's number is a 404, exactly like an unknown one."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from afterdesk.accounts.models import User
from afterdesk.cases.models import Case
from afterdesk.core.errors import DomainError, NotFound
from afterdesk.portal.permissions import get_portal_case, is_portal_customer
from afterdesk.portal.views import customer_required
from afterdesk.rma import selectors, services
from afterdesk.rma.choices import RMA_KINDS, QuoteStatus, Reason, State
from afterdesk.rma.models import Rma
from afterdesk.rma.pdf import return_slip_pdf

# Milestones worth telling the customer about, in lifecycle order.
SLIP_STATES = frozenset({State.AWAITING_RETURN, State.IN_TRANSIT})


def section_context(*, user: User, case: Case) -> dict[str, Any]:
    """What the RMA section of the customer's case page shows; empty for other kinds."""
    if case.kind not in RMA_KINDS or not is_portal_customer(user):
        return {"show": False}
    rma = selectors.rma_for_case(case_id=case.pk)
    if rma is None:
        return {"show": False}
    rma.case = case
    labels = dict(State.choices)
    return {
        "show": True,
        "case": case,
        "rma": rma,
        "state_label": labels[rma.state],
        "reason_label": Reason(rma.reason).label,
        "milestones": [(labels[s], at) for s, at in selectors.milestones(rma)],
        "items": selectors.rma_items(rma=rma),
        "shipments": selectors.rma_shipments(rma=rma),
        "slip": rma.state in SLIP_STATES and bool(rma.return_address),
        "quote_pending": rma.state == State.DIAGNOSED and rma.quote_status == QuoteStatus.PENDING,
        "can_confirm": rma.state == State.DELIVERED,
        "coupons": selectors.case_coupons(case_id=case.pk),
    }


def _load(request: HttpRequest, number: str) -> Rma:
    try:
        case = get_portal_case(request.user, number)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    rma = Rma.objects.filter(case=case).select_related("policy").first()
    if rma is None:
        raise Http404(_("No RMA for this case."))
    rma.case = case
    return rma


@never_cache
@require_GET
@customer_required
def slip(request: HttpRequest, number: str) -> HttpResponse:
    """The printable return slip of the customer's own RMA."""
    rma = _load(request, number)
    if not rma.return_address:
        raise Http404(_("There is no return slip yet."))
    response = HttpResponse(
        return_slip_pdf(rma=rma, items=selectors.rma_items(rma=rma)),
        content_type="application/pdf",
    )
    response["Content-Disposition"] = f'attachment; filename="return-slip-{number}.pdf"'
    return response


@require_POST
@customer_required
def quote(request: HttpRequest, number: str) -> HttpResponse:
    rma = _load(request, number)
    accept = request.POST.get("answer") == "accept"
    if request.POST.get("answer") not in ("accept", "decline"):
        messages.error(request, _("Accept or decline the quote."))
        return redirect("portal:case", number=number)
    try:
        services.rma_quote_answer(user=request.user, rma=rma, accept=accept)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Thank you: we start the repair.")
            if accept
            else _("Understood: we send the item back unrepaired."),
        )
    return redirect("portal:case", number=number)


@require_POST
@customer_required
def confirm(request: HttpRequest, number: str) -> HttpResponse:
    rma = _load(request, number)
    try:
        services.rma_confirm_receipt(user=request.user, rma=rma, by_customer=True)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Thank you for confirming that you received it."))
    return redirect("portal:case", number=number)
