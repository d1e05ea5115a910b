"""Helpers shared by the workspace views: the user, htmx, choices, messages, redirects."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from afterdesk.accounts.models import User
from afterdesk.accounts.selectors import (
    departments_active,
    staff_in_departments,
    user_department_ids,
)
from afterdesk.cases import display, selectors, services, sla_bridge
from afterdesk.cases.models import Case
from afterdesk.core.errors import DomainError


def current_user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def is_fragment(request: HttpRequest, target: str = "") -> bool:
    """Whether htmx asked for a part of the page (the element with id `target`, if given)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and (not target or htmx.target == target)  # type: ignore[union-attr]


def category_choices() -> list[tuple[str, str]]:
    return [
        (c.code, f"{c.parent.label} › {c.label}" if c.parent else c.label)
        for c in selectors.categories_active()
    ]


def department_choices() -> list[tuple[str, str]]:
    return [(d.code, d.label) for d in departments_active()]


def people(staff: list[User]) -> list[tuple[str, str]]:
    return [(u.username, u.display_name) for u in staff]


def staff_of_user(user: User) -> list[User]:
    """Whom a user picks from as owner: their departments' people (everyone for supervisors)."""
    return staff_in_departments(
        department_ids=None if user.sees_all_cases else user_department_ids(user)
    )


def safe_next(request: HttpRequest, url: str, default: str) -> str:
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return default


def report_outcomes(
    request: HttpRequest, outcomes: list[services.BulkOutcome], done: str, **values: Any
) -> None:
    """One success message for the cases that went through, one error per refused case."""
    ok = sum(1 for o in outcomes if o.ok)
    if ok:
        messages.success(request, done % {"count": ok, **values})
    for outcome in outcomes:
        if not outcome.ok:
            messages.error(request, f"{outcome.number}: {outcome.message}")


def queue_rows(cases: list[Case]) -> list[dict[str, Any]]:
    """Display values of a page of cases: labels, owner, department, tags, next SLA clock."""
    due = sla_bridge.next_due(cases)
    labels = display.ChoiceLabels()
    select = _("Select %(number)s")
    return [
        {
            "case": case,
            "url": reverse("cases:detail", args=[case.number]),
            "owner": case.owner.display_name if case.owner else "",
            "department": case.department.label if case.department else "",
            "tags": [t.name for t in case.tags.all()],
            "due": due.get(case.pk),
            "select_label": select % {"number": case.number},
            **labels.of_case(case),
        }
        for case in cases
    ]


def case_url(case: Case, anchor: str = "") -> str:
    return reverse("cases:detail", args=[case.number]) + (f"#{anchor}" if anchor else "")


def form_errors_from(form: Any, exc: DomainError) -> None:
    """Put a domain error on the form: on the fields it names, else on the form."""
    placed = False
    for name, problem in exc.fields.items():
        if name in form.fields:
            form.add_error(name, f"{exc.message} ({problem})" if not placed else problem)
            placed = True
    if not placed:
        form.add_error(None, exc.message)
