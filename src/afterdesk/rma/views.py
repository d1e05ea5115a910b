"""The RMA screens of the workspace: the panel on the case page (through the `rma_case_panel`
template tag), warehouse receiving by scan, inspection, sorting of arrivals (R19), the
compensation approval queue and the RMA report (R21, R29). Thin: parse, load with
permission, one service or selector, redirect after POST."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from afterdesk.accounts.decorators import workspace_required
from afterdesk.accounts.models import User
from afterdesk.cases.models import Case
from afterdesk.cases.permissions import can_edit_case, get_case_for_user
from afterdesk.core.errors import DomainError
from afterdesk.rma import selectors, services
from afterdesk.rma.choices import (
    RMA_KINDS,
    SHIPPING_LABELS,
    CompensationType,
    Disposition,
    ProposalStatus,
    QuickCloseOutcome,
    Reason,
    State,
)
from afterdesk.rma.forms import (
    CompensationForm,
    CreateForm,
    DecisionForm,
    DiagnosisForm,
    DispositionForm,
    InspectionForm,
    QuickCloseForm,
    ReportForm,
    ScanForm,
    StepForm,
)
from afterdesk.rma.pdf import return_slip_pdf
from afterdesk.rma.permissions import (
    approvable_roles,
    can_decide_proposal,
    can_see_report,
    get_proposal_for_user,
    get_rma_for_user,
)

# Steps the panel offers as plain buttons; the others need a form of their own.
FORM_STEPS = frozenset(
    {
        State.REJECTED,
        State.IN_TRANSIT,
        State.SHIPPED_BACK,
        State.REPLACEMENT_SHIPPED,
        State.REFUNDED,
        State.INSPECTED,
        State.DIAGNOSED,
    }
)


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _case_url(number: str) -> str:
    return reverse("cases:detail", args=[number]) + "#rma"


# -- the panel on the case page ---------------------------------------------------------------


def panel_context(*, user: User, case: Case) -> dict[str, Any]:
    """What the RMA panel shows on the case page; empty for cases of other kinds."""
    if case.kind not in RMA_KINDS:
        return {"show": False}
    can_edit = can_edit_case(user, case)
    rma = selectors.rma_for_case(case_id=case.pk)
    context: dict[str, Any] = {"show": True, "case": case, "rma": rma, "can_edit": can_edit}
    if rma is None:
        context["create_form"] = CreateForm()
        return context
    rma.case = case
    labels = dict(State.choices)
    allowed = services.allowed_steps(rma) if can_edit else []
    proposals = selectors.case_proposals(case_id=case.pk)
    context.update(
        state_label=labels[rma.state],
        reason_label=dict(Reason.choices).get(rma.reason, rma.reason),
        milestones=[(labels[s], at) for s, at in selectors.milestones(rma)],
        items=selectors.rma_items(rma=rma),
        shipments=selectors.rma_shipments(rma=rma),
        inspection=selectors.rma_inspection(rma=rma) if rma.inspected_at else None,
        buttons=[(s, labels[s]) for s in allowed if s not in FORM_STEPS],
        can_reject=State.REJECTED in allowed,
        can_refund=State.REFUNDED in allowed,
        ship_steps=[(s, SHIPPING_LABELS[s]) for s in allowed if s in SHIPPING_LABELS],
        can_inspect=State.INSPECTED in allowed,
        can_diagnose=State.DIAGNOSED in allowed,
        diagnosis_form=DiagnosisForm() if State.DIAGNOSED in allowed else None,
        proposals=[
            {
                "proposal": p,
                "type_label": dict(CompensationType.choices)[p.type],
                "can_decide": p.status == ProposalStatus.PENDING and can_decide_proposal(user, p),
            }
            for p in proposals
        ],
        compensation_form=CompensationForm() if can_edit else None,
        slip=bool(rma.return_address),
    )
    if can_edit and rma.state in services.QUICK_CLOSE_STATES:
        items = context["items"]
        checks = [
            (outcome, label, services.quick_close_check(rma=rma, outcome=outcome, items=items))
            for outcome, label in QuickCloseOutcome.choices
        ]
        context["quick_close"] = checks
        context["quick_close_form"] = QuickCloseForm()
    return context


def _redirect_with(request: HttpRequest, number: str, exc: DomainError | None, done: str) -> Any:
    if exc is not None:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect(_case_url(number))


@workspace_required
@require_POST
def create(request: HttpRequest, number: str) -> HttpResponse:
    user = _user(request)
    case = get_case_for_user(user, number, write=True)
    form = CreateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a reason."))
        return redirect(_case_url(number))
    try:
        services.rma_create(
            actor=user,
            case=case,
            reason=form.cleaned_data["reason"],
            reason_detail=form.cleaned_data["reason_detail"],
        )
    except DomainError as exc:
        return _redirect_with(request, number, exc, "")
    return _redirect_with(request, number, None, _("RMA requested."))


@workspace_required
@require_POST
def step(request: HttpRequest, number: str) -> HttpResponse:
    """One step from the panel (buttons, rejection, shipping, refund)."""
    user = _user(request)
    rma = get_rma_for_user(user, number, write=True)
    form = StepForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The step is incomplete: %s") % ", ".join(form.errors))
        return redirect(_case_url(number))
    data = form.cleaned_data
    try:
        rma = services.rma_transition(
            actor=user,
            rma=rma,
            to=data["to"],
            note=data["note"],
            carrier=data["carrier"],
            tracking_number=data["tracking_number"],
            refund_amount=data["refund_amount"],
        )
    except DomainError as exc:
        return _redirect_with(request, number, exc, "")
    return _redirect_with(request, number, None, _("RMA: %s") % State(rma.state).label)


@workspace_required
@require_POST
def diagnose(request: HttpRequest, number: str) -> HttpResponse:
    user = _user(request)
    rma = get_rma_for_user(user, number, write=True)
    form = DiagnosisForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The diagnosis is incomplete: %s") % ", ".join(form.errors))
        return redirect(_case_url(number))
    try:
        services.rma_diagnose(actor=user, rma=rma, **form.cleaned_data)
    except DomainError as exc:
        return _redirect_with(request, number, exc, "")
    return _redirect_with(request, number, None, _("Diagnosis recorded."))


@workspace_required
@require_POST
def quick_close(request: HttpRequest, number: str) -> HttpResponse:
    user = _user(request)
    rma = get_rma_for_user(user, number, write=True)
    form = QuickCloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose refund or reship."))
        return redirect(_case_url(number))
    try:
        rma = services.rma_quick_close(actor=user, rma=rma, **form.cleaned_data)
    except DomainError as exc:
        return _redirect_with(request, number, exc, "")
    return _redirect_with(
        request,
        number,
        None,
        _("Quick close under the rule “%s”.")
        % (rma.quick_close_rule.name if rma.quick_close_rule else ""),
    )


@workspace_required
@require_POST
def propose(request: HttpRequest, number: str) -> HttpResponse:
    user = _user(request)
    case = get_case_for_user(user, number, write=True)
    form = CompensationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The proposal is incomplete: %s") % ", ".join(form.errors))
        return redirect(_case_url(number))
    try:
        proposal = services.compensation_propose(
            actor=user, case=case, data=services.CompensationInput(**form.cleaned_data)
        )
    except DomainError as exc:
        return _redirect_with(request, number, exc, "")
    done = (
        _("Compensation approved within your authority.")
        if proposal.status == ProposalStatus.APPROVED
        else _("Compensation proposed; it waits for approval.")
    )
    return _redirect_with(request, number, None, done)


@workspace_required
@require_POST
def decide(request: HttpRequest, number: str, proposal_id: int) -> HttpResponse:
    user = _user(request)
    proposal = get_proposal_for_user(user, proposal_id, number)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Approve or reject."))
        if request.POST.get("back") == "queue":
            return redirect("rma:approvals")
        return redirect(_case_url(number))
    try:
        services.compensation_decide(
            actor=user,
            proposal=proposal,
            approve=form.cleaned_data["decision"] == "approve",
            note=form.cleaned_data["note"],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Decision recorded for %s.") % number)
    if request.POST.get("back") == "queue":
        return redirect("rma:approvals")
    return redirect(_case_url(number))


@workspace_required
@require_GET
def slip(request: HttpRequest, number: str) -> HttpResponse:
    rma = get_rma_for_user(_user(request), number)
    response = HttpResponse(
        return_slip_pdf(rma=rma, items=selectors.rma_items(rma=rma)), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="return-slip-{number}.pdf"'
    return response


# -- warehouse --------------------------------------------------------------------------------


@workspace_required
@require_http_methods(["GET", "POST"])
def warehouse(request: HttpRequest) -> HttpResponse:
    """Receiving by scan: a keyboard-wedge scanner types the RMA or tracking number and Enter;
    the parcel is received and the field is ready for the next scan."""
    user = _user(request)
    if request.method == "POST":
        form = ScanForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Scan an RMA or tracking number."))
            return redirect("rma:warehouse")
        code = form.cleaned_data["code"]
        rma = services.rma_find_for_scan(rmas=selectors.rmas_for_scan(user=user), code=code)
        if rma is None:
            messages.error(request, _("%s: no RMA with this number or tracking number.") % code)
            return redirect("rma:warehouse")
        try:
            services.rma_receive(actor=user, rma=rma, code=code)
        except DomainError as exc:
            messages.error(request, f"{rma.case.number}: {exc.message}")
        else:
            messages.success(request, _("%(number)s received.") % {"number": rma.case.number})
            request.session["rma_last_received"] = rma.case.number
        return redirect("rma:warehouse")
    last = request.session.get("rma_last_received", "")
    return render(
        request,
        "rma/warehouse.html",
        {
            "form": ScanForm(),
            "last": last,
            "received": selectors.recently_received(user=user),
            "expected": selectors.expected_parcels(user=user),
        },
    )


@workspace_required
@require_http_methods(["GET", "POST"])
def inspect(request: HttpRequest, number: str) -> HttpResponse:
    """The inspection checklist with photos (R18)."""
    user = _user(request)
    rma = get_rma_for_user(user, number, write=True)
    form = InspectionForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            inspection = services.rma_inspect(
                actor=user,
                rma=rma,
                data=services.InspectionInput(
                    packaging_ok=data["packaging_ok"],
                    function_ok=data["function_ok"],
                    matches_description=data["matches_description"],
                    accessories_complete=data["accessories_complete"],
                    customer_damage=data["customer_damage"],
                    notes=data["notes"],
                ),
                photos=data["photos"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            verdict = _("passed") if inspection.passed else _("failed")
            messages.success(
                request,
                _("%(number)s inspected: %(verdict)s.") % {"number": number, "verdict": verdict},
            )
            return redirect("rma:arrivals")
    return render(
        request,
        "rma/inspect.html",
        {
            "rma": rma,
            "form": form,
            "items": selectors.rma_items(rma=rma),
            "state_label": State(rma.state).label,
            "reason_label": Reason(rma.reason).label,
            "can_inspect": State.INSPECTED in services.allowed_steps(rma),
        },
        status=422 if request.method == "POST" else 200,
    )


@workspace_required
@require_GET
def arrivals(request: HttpRequest) -> HttpResponse:
    """Goods in the warehouse to inspect and sort into dispositions (R19)."""
    rows = [
        {
            "rma": rma,
            "state_label": State(rma.state).label,
            "reason_label": Reason(rma.reason).label,
            "needs_inspection": rma.state == State.RECEIVED,
            "passed": rma.inspection.passed if rma.inspected_at else None,
        }
        for rma in selectors.arrivals(user=_user(request))
    ]
    return render(request, "rma/arrivals.html", {"rows": rows, "dispositions": Disposition.choices})


@workspace_required
@require_POST
def disposition(request: HttpRequest, number: str) -> HttpResponse:
    user = _user(request)
    rma = get_rma_for_user(user, number, write=True)
    form = DispositionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a disposition."))
        return redirect("rma:arrivals")
    try:
        services.rma_set_disposition(
            actor=user, rma=rma, disposition=form.cleaned_data["disposition"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(number)s → %(disposition)s")
            % {
                "number": number,
                "disposition": Disposition(form.cleaned_data["disposition"]).label,
            },
        )
    return redirect("rma:arrivals")


# -- approvals and the report -----------------------------------------------------------------


@workspace_required
@require_GET
def approvals(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    rows = [
        {"proposal": p, "type_label": CompensationType(p.type).label}
        for p in selectors.approval_queue(user=user)
    ]
    return render(
        request,
        "rma/approvals.html",
        {"rows": rows, "has_authority": bool(approvable_roles(user))},
    )


@workspace_required
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    """RMA metrics per period, product line and reason, with the Pareto of reasons."""
    user = _user(request)
    if not can_see_report(user):
        raise DjangoPermissionDenied(_("The RMA report is for supervisors."))
    today = timezone.localdate()
    data = request.GET if request.GET else None
    form = ReportForm(
        data, initial={"start": today - timedelta(days=365), "end": today, "period": "month"}
    )
    if data is not None and form.is_valid():
        start, end, period = (form.cleaned_data[k] for k in ("start", "end", "period"))
    else:
        start, end, period = today - timedelta(days=365), today, "month"
    result = selectors.rma_report(start=start, end=end, period=period)
    reasons = dict(Reason.choices)
    pareto = [{"label": reasons.get(row.reason, row.reason), "row": row} for row in result.pareto]
    return render(
        request,
        "rma/report.html",
        {
            "form": form,
            "report": result,
            "pareto": pareto,
            "by_reason": [(reasons.get(k, k), f) for k, f in result.by_reason],
            "by_line": [(k or _("(no product line)"), f) for k, f in result.by_line],
            "status": 422 if data is not None and not form.is_valid() else 200,
        },
        status=422 if data is not None and not form.is_valid() else 200,
    )
