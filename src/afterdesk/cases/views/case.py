"""The case page and its actions: reply, transition, assign, edit with optimistic locking,
link, reply templates."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from afterdesk.accounts.decorators import workspace_required
from afterdesk.accounts.models import User
from afterdesk.accounts.selectors import (
    staff_in_departments,
    staff_member,
)
from afterdesk.cases import display, selectors, services, sla_bridge
from afterdesk.cases.errors import CaseVersionConflict
from afterdesk.cases.forms import (
    AssignForm,
    CaseEditForm,
    LinkForm,
    ReplyForm,
    TransitionForm,
)
from afterdesk.cases.models import Case
from afterdesk.cases.permissions import (
    can_add_internal_note,
    can_edit_case,
    get_case_for_user,
)
from afterdesk.cases.views.common import (
    case_url,
    category_choices,
    current_user,
    department_choices,
    form_errors_from,
    is_fragment,
    people,
)
from afterdesk.core.errors import DomainError, NotFound
from afterdesk.customers.selectors import customer_detail
from afterdesk.knowledge.placeholders import placeholders_fill
from afterdesk.knowledge.selectors import reply_template_get, reply_templates_for


def _lookups(
    categories: list[tuple[str, str]], departments: list[tuple[str, str]], staff: list[User]
) -> display.Lookups:
    return display.Lookups(
        categories=dict(categories),
        departments=dict(departments),
        people={u.username: u.display_name for u in staff},
    )


def _case_context(
    request: HttpRequest,
    case: Case,
    *,
    reply_form: ReplyForm | None = None,
    link_form: LinkForm | None = None,
) -> dict[str, Any]:
    """Everything the case page shows; a fixed number of queries whatever the case holds."""
    user = current_user(request)
    categories = category_choices()
    departments = department_choices()
    staff = staff_in_departments(
        department_ids=[case.department_id] if case.department_id else None
    )
    lookups = _lookups(categories, departments, staff)
    events, case_messages = selectors.case_timeline_items(user=user, case=case)
    entries = display.timeline(events, case_messages, lookups)
    allowed = services.allowed_transitions(case)
    transitions = [(to, display.transition_label(case.status, to)) for to in allowed]
    links = [
        {
            "kind": link.get_kind_display(),
            "outgoing": link.source_id == case.pk,
            "other": link.target if link.source_id == case.pk else link.source,
        }
        for link in selectors.case_links(user=user, case=case)
    ]
    customer = customer_detail(customer_id=case.customer_id) or case.customer
    recent = selectors.customer_recent_cases(user=user, customer=customer, exclude=case)
    owners = people(staff)
    if case.owner and case.owner.username not in dict(owners):
        owners.append((case.owner.username, case.owner.display_name))
    return {
        "case": case,
        "customer": customer,
        "customer_cases": recent,
        "entries": entries,
        "can_edit": can_edit_case(user, case),
        "can_note": can_add_internal_note(user, case),
        "transitions": transitions,
        "transition_form": TransitionForm(),
        "reply_form": reply_form or ReplyForm(transitions=transitions),
        "link_form": link_form or LinkForm(),
        "links": links,
        "owners": owners,
        "templates": reply_templates_for(kind=case.kind, language=customer.language),
        "is_mine": case.owner_id == user.pk,
        "clocks": sla_bridge.case_clocks(user=user, case=case),
        "current_owner": case.owner.username if case.owner else "",
    }


@workspace_required
@require_GET
def case_detail(request: HttpRequest, number: str) -> HttpResponse:
    """The case page: header, timeline, composer, transitions, assignment, fields, links."""
    case = get_case_for_user(current_user(request), number)
    return render(request, "cases/case_detail.html", _case_context(request, case))


@workspace_required
@require_POST
def case_reply(request: HttpRequest, number: str) -> HttpResponse:
    """Send a public reply or write an internal note, with files and an optional status."""
    user = current_user(request)
    case = get_case_for_user(user, number, write=True)
    transitions = [
        (to, display.transition_label(case.status, to)) for to in services.allowed_transitions(case)
    ]
    form = ReplyForm(request.POST, request.FILES, transitions=transitions)
    if form.is_valid():
        internal = form.cleaned_data["visibility"] == "internal"
        try:
            services.case_reply(
                actor=user,
                case=case,
                body=form.cleaned_data["body"],
                internal=internal,
                uploads=form.cleaned_data["attachments"],
                then_status=form.cleaned_data["then_status"],
            )
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Internal note added.") if internal else _("Reply sent."))
            return redirect(case_url(case, "timeline-end"))
    case = get_case_for_user(user, number)
    context = _case_context(request, case, reply_form=form)
    return render(request, "cases/case_detail.html", context, status=422)


@workspace_required
@require_POST
def case_transition(request: HttpRequest, number: str) -> HttpResponse:
    """Move the case along its state machine (the page offers only the allowed moves)."""
    user = current_user(request)
    case = get_case_for_user(user, number, write=True)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a status."))
        return redirect(case_url(case))
    try:
        case = services.case_transition(
            actor=user, case=case, to=form.cleaned_data["to"], note=form.cleaned_data["note"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Status: %s") % case.get_status_display())
    return redirect(case_url(case))


@workspace_required
@require_POST
def case_assign(request: HttpRequest, number: str) -> HttpResponse:
    """Give the case to someone, to oneself ("me"), or to nobody ("")."""
    user = current_user(request)
    case = get_case_for_user(user, number, write=True)
    form = AssignForm(request.POST)
    username = form.cleaned_data["owner"] if form.is_valid() else ""
    owner: User | None = None
    if username == "me":
        owner = user
    elif username:
        owner = staff_member(username=username)
        if owner is None:
            messages.error(request, _("%s is not an active staff member.") % username)
            return redirect(case_url(case))
    try:
        case = services.case_assign(actor=user, case=case, owner=owner)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if owner is None:
            messages.success(request, _("The case is unassigned."))
        else:
            messages.success(request, _("Assigned to %s.") % owner.display_name)
    return redirect(case_url(case))


def _conflict_form(
    form: CaseEditForm, data: QueryDict, case: Case, latest_event: int, **choices: Any
) -> CaseEditForm:
    """The user's edits on top of the case as it is now, at its current version.

    Fields the user changed keep the user's value; the others take the current value, so
    saving again applies exactly the user's changes and reverts nobody else's.
    """
    current = CaseEditForm.initial_of(case, seen_event=latest_event)
    for name in CaseEditForm.EDITABLE:
        data[f"initial-{name}"] = _as_data(current[name])
        if name not in form.changed_data:
            if name == "is_complex":
                if current[name]:
                    data[name] = "on"
                else:
                    data.pop(name, None)
            else:
                data[name] = _as_data(current[name])
    data["version"] = str(case.version)
    data["seen_event"] = str(latest_event)
    rebound = CaseEditForm(data, **choices)
    rebound.is_valid()
    return rebound


def _as_data(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


@workspace_required
@require_http_methods(["GET", "POST"])
def case_edit(request: HttpRequest, number: str) -> HttpResponse:
    """Change fields with optimistic locking: a stale save shows what changed, keeps the input."""
    user = current_user(request)
    case = get_case_for_user(user, number, write=True)
    choices = {"categories": category_choices(), "departments": department_choices()}
    if request.method == "GET":
        seen = selectors.case_latest_event_id(case=case)
        form = CaseEditForm(initial=CaseEditForm.initial_of(case, seen_event=seen), **choices)
        context = {"case": case, "edit_form": form}
        if is_fragment(request):
            return render(request, "cases/partials/case.html#edit-form", context)
        return render(request, "cases/case_edit.html", context)
    form = CaseEditForm(request.POST, **choices)
    status = 422
    changes: list[display.Change] = []
    if form.is_valid():
        edits = form.changes()
        if not edits:
            messages.info(request, _("Nothing to save: no field was changed."))
            return redirect(case_url(case))
        try:
            services.case_update(
                actor=user, case=case, version=form.cleaned_data["version"], changes=edits
            )
        except CaseVersionConflict:
            status = 409
            case = get_case_for_user(user, number, write=True)
            seen = form.cleaned_data["seen_event"]
            staff = staff_in_departments(department_ids=None)
            lookups = _lookups(choices["categories"], choices["departments"], staff)
            events = selectors.case_changes_since(case=case, after_event_id=seen)
            changes = [display.change_of(e, lookups) for e in events]
            latest = selectors.case_latest_event_id(case=case)
            form = _conflict_form(form, request.POST.copy(), case, latest, **choices)
            form.add_error(
                None,
                _(
                    "Someone else changed this case while you were editing it. Nothing of "
                    "yours is saved yet and nothing is lost: check what they changed, then "
                    "save again."
                ),
            )
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect(case_url(case))
    context = {"case": case, "edit_form": form, "changes": changes}
    return render(request, "cases/case_edit.html", context, status=status)


@workspace_required
@require_POST
def case_link(request: HttpRequest, number: str) -> HttpResponse:
    """Link the case to another one the user may see (duplicate of, child of, …)."""
    user = current_user(request)
    case = get_case_for_user(user, number, write=True)
    form = LinkForm(request.POST)
    if form.is_valid():
        try:
            target = get_case_for_user(user, form.cleaned_data["target"])
            services.case_link(
                actor=user, source=case, target=target, kind=form.cleaned_data["kind"]
            )
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Linked to %s.") % target.number)
            return redirect(case_url(case, "links"))
    context = _case_context(request, case, link_form=form)
    return render(request, "cases/case_detail.html", context, status=422)


@workspace_required
@require_GET
def reply_template_text(request: HttpRequest, number: str, template_id: int) -> HttpResponse:
    """A reply template filled in for this case, as plain text for the composer."""
    user = current_user(request)
    case = get_case_for_user(user, number, write=True)
    template = reply_template_get(template_id=template_id)
    if template is None:
        raise NotFound(_("No such reply template."))
    text = placeholders_fill(
        template.body,
        {
            "customer_name": case.customer.name,
            "case_number": case.number,
            "case_subject": case.subject,
            "agent_name": user.display_name,
            "order_ref": case.order_ref,
        },
    )
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    return response
