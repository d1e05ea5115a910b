"""The queue tabs with their filters and saved views, bulk actions, and the search box."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from afterdesk.accounts.decorators import workspace_required
from afterdesk.accounts.models import User
from afterdesk.cases import selectors, services, sla_bridge
from afterdesk.cases.choices import Priority, Status
from afterdesk.cases.forms import (
    BulkForm,
    QueueFilterForm,
    SavedViewForm,
)
from afterdesk.cases.permissions import (
    get_case_for_user,
    get_cases_for_user,
    get_saved_view_for_user,
)
from afterdesk.cases.views.common import (
    case_url,
    category_choices,
    current_user,
    department_choices,
    is_fragment,
    people,
    queue_rows,
    report_outcomes,
    safe_next,
    staff_of_user,
)
from afterdesk.core.errors import DomainError, NotFound
from afterdesk.customers.selectors import customers_lookup


def _queue_tabs(
    user: User, active: str, active_view: int | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    counts: dict[str, Any] = dict(selectors.queue_counts(user=user))
    due = selectors.queue_due_count(user=user)
    if due is not None:
        counts[selectors.QUEUE_DUE] = (
            f"{sla_bridge.DUE_COUNT_CAP - 1}+" if (due >= sla_bridge.DUE_COUNT_CAP) else due
        )
    labels = {
        selectors.QUEUE_MINE: _("My cases"),
        selectors.QUEUE_UNASSIGNED: _("Unassigned in my departments"),
        selectors.QUEUE_DUE: _("Due soon / Overdue"),
        selectors.QUEUE_ALL: _("All I may see"),
    }
    base = reverse("cases:queue")
    tabs = [
        {
            "code": code,
            "label": labels[code],
            "count": counts[code],
            "url": f"{base}?tab={code}",
            "active": active_view is None and code == active,
        }
        for code in selectors.queues_available()
    ]
    saved = [
        {
            "id": view.pk,
            "label": view.name,
            "url": f"{base}?{view.query}&view={view.pk}"
            if view.query
            else f"{base}?view={view.pk}",
            "active": view.pk == active_view,
            "delete_url": reverse("cases:saved_view_delete", args=[view.pk]),
        }
        for view in selectors.saved_views_of(user=user)
    ]
    return tabs, saved


@workspace_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """The queue tabs (mine, unassigned, all, saved views) with filters, sort and bulk actions."""
    user = current_user(request)
    tab = request.GET.get("tab", selectors.QUEUE_MINE)
    if tab not in selectors.queues_available():
        tab = selectors.QUEUE_MINE
    try:
        active_view = int(request.GET.get("view", "")) if request.GET.get("view") else None
    except ValueError:
        active_view = None
    staff = staff_of_user(user)
    categories = category_choices()
    departments = department_choices()
    tabs, saved = _queue_tabs(user, tab, active_view)
    # The due queue reads best oldest first; the others newest first.
    default_ordering = "created_at" if tab == selectors.QUEUE_DUE else selectors.DEFAULT_ORDERING
    form = QueueFilterForm(
        request.GET or None,
        initial={"tab": tab, "ordering": default_ordering},
        tabs=[(t["code"], t["label"]) for t in tabs],
        categories=categories,
        owners=people(staff),
        departments=departments,
    )
    if form.is_bound:
        form.is_valid()
    else:
        form.cleaned_data = {}
    error = ""
    try:
        page = selectors.queue_list(
            user=user,
            queue=tab,
            filters=form.filters(selectors.queue_default_statuses(tab)),
            ordering=form.value("ordering") or default_ordering,
            cursor=form.value("cursor") or None,
        )
    except DomainError as exc:
        error = exc.message
        page = selectors.CasePage(items=[], next_cursor=None)
    keep = [
        (k, v) for k, v in request.GET.items() if k in services.SAVED_VIEW_KEYS and v and k != "tab"
    ]
    query = urlencode([("tab", tab), *keep])
    base = reverse("cases:queue")
    context = {
        "tabs": tabs,
        "saved_views": saved,
        "tab": tab,
        "form": form,
        "rows": queue_rows(page.items),
        "show_due": sla_bridge.sla_installed(),
        "next_url": f"{base}?{urlencode([('tab', tab), *keep, ('cursor', page.next_cursor)])}"
        if page.next_cursor
        else "",
        "first_url": f"{base}?{query}" if form.value("cursor") else "",
        "error": error,
        "query": query,
        "current_url": request.get_full_path(),
        "save_form": SavedViewForm(initial={"query": query}),
        "assignees": people(staff),
        "priorities": Priority.choices,
        "statuses": Status.choices,
    }
    if is_fragment(request, "queue-results"):
        return render(request, "cases/partials/queue.html#results", context)
    return render(request, "cases/queue.html", context)


@workspace_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """One action on the selected cases; each case succeeds or fails on its own."""
    user = current_user(request)
    form = BulkForm(request.POST)
    back = safe_next(request, request.POST.get("next", ""), reverse("cases:queue"))
    if not form.is_valid():
        messages.error(request, _("Select at least one case and an action."))
        return redirect(back)
    cases, refused = get_cases_for_user(user, form.cleaned_data["cases"], write=True)
    outcomes = [
        services.BulkOutcome(number, ok=False, message=_("No such case, or not yours to change."))
        for number in refused
    ]
    action = form.cleaned_data["action"]
    try:
        if action == "merge":
            primary, merged = services.case_merge(actor=user, cases=cases)
            outcomes += merged
            report_outcomes(
                request,
                outcomes,
                _("%(count)d case(s) merged into %(number)s."),
                number=primary.number,
            )
        else:
            value = form.value()
            if action == "assign" and value == "me":
                value = user.username
            outcomes += services.case_bulk_apply(
                actor=user, cases=cases, action=action, value=value
            )
            report_outcomes(request, outcomes, _("%(count)d case(s) updated."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(back)


@workspace_required
@require_POST
def saved_view_create(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the view a name."))
        return redirect("cases:queue")
    try:
        view = services.saved_view_create(
            user=current_user(request),
            name=form.cleaned_data["name"],
            query=form.cleaned_data["query"],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("cases:queue")
    messages.success(request, _("View “%s” saved.") % view.name)
    separator = "&" if view.query else ""
    return redirect(f"{reverse('cases:queue')}?{view.query}{separator}view={view.pk}")


@workspace_required
@require_POST
def saved_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    view = get_saved_view_for_user(current_user(request), view_id)
    services.saved_view_delete(view=view)
    messages.success(request, _("View “%s” deleted.") % view.name)
    return redirect("cases:queue")


@workspace_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """One box: a case number opens the case; otherwise matching customers and cases."""
    user = current_user(request)
    q = request.GET.get("q", "").strip()[:200]
    context: dict[str, Any] = {"q": q, "customers": [], "rows": [], "next_url": "", "error": ""}
    if q:
        if selectors.CASE_NUMBER_RE.match(q.upper()):
            try:
                case = get_case_for_user(user, q.upper())
            except NotFound:
                pass
            else:
                return redirect(case_url(case))
        try:
            page = selectors.cases_list(
                user=user,
                filters=selectors.CaseFilters(q=q),
                cursor=request.GET.get("cursor") or None,
            )
        except DomainError as exc:
            context["error"] = exc.message
        else:
            context["rows"] = queue_rows(page.items)
            context["show_due"] = sla_bridge.sla_installed()
            if page.next_cursor:
                query = urlencode({"q": q, "cursor": page.next_cursor})
                context["next_url"] = f"{reverse('cases:search')}?{query}"
        context["customers"] = customers_lookup(text=q)
    return render(request, "cases/search.html", context)
