"""Log a call: a phone complaint recorded as a case while the customer is on the line."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from afterdesk.accounts.decorators import workspace_required
from afterdesk.cases import services
from afterdesk.cases.choices import Channel
from afterdesk.cases.forms import (
    CallForm,
)
from afterdesk.cases.views.common import (
    case_url,
    category_choices,
    current_user,
    form_errors_from,
    is_fragment,
)
from afterdesk.core.errors import DomainError
from afterdesk.customers.selectors import customer_detail, customers_lookup
from afterdesk.customers.services import CustomerInput


@workspace_required
@require_http_methods(["GET", "POST"])
def log_call(request: HttpRequest) -> HttpResponse:
    """Log a phone call as a case in seconds: find the caller, type what they say, save."""
    user = current_user(request)
    categories = category_choices()
    if request.method == "POST":
        form = CallForm(request.POST, categories=categories)
        if form.is_valid():
            data = form.cleaned_data
            try:
                case = services.case_create(
                    actor=user,
                    data=services.CaseInput(
                        kind=data["kind"],
                        channel=Channel.PHONE,
                        subject=data["subject"],
                        description=data["description"],
                        customer=CustomerInput(
                            name=data["name"], email=data["email"], phone=data["phone"]
                        ),
                        priority=data["priority"],
                        category=data["category"],
                        order_ref=data["order_ref"],
                    ),
                )
            except DomainError as exc:
                form_errors_from(form, exc)
            else:
                messages.success(request, _("Case %s opened.") % case.number)
                return redirect(case_url(case))
        return render(
            request, "cases/call.html", {"form": form, "matches": None, "caller": None}, status=422
        )
    caller = None
    initial: dict[str, Any] = {}
    customer_id = request.GET.get("customer", "")
    if customer_id.isdigit():
        caller = customer_detail(customer_id=int(customer_id))
        if caller is not None:
            initial = {"name": caller.name, "phone": caller.phone, "email": caller.email}
    lookup = request.GET.get("lookup", "").strip()[:100]
    matches = customers_lookup(text=lookup) if lookup else None
    form = CallForm(initial=initial, categories=categories)
    context = {"form": form, "matches": matches, "lookup": lookup, "caller": caller}
    if is_fragment(request, "caller-matches"):
        return render(request, "cases/partials/call.html#matches", context)
    if is_fragment(request, "caller-fields"):
        return render(request, "cases/partials/call.html#caller-fields", context)
    return render(request, "cases/call.html", context)
