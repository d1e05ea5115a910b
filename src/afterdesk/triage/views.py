"""Workspace screens of triage: the needs-triage queue, rules, agents' skills and shifts,
routing / settings / models, and the actions of the case panel (why, suggestions, sub-tasks,
task force, escalation). Thin: parse, check permission, one service, redirect after POST."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from afterdesk.accounts.choices import Role
from afterdesk.accounts.decorators import workspace_required
from afterdesk.accounts.models import User
from afterdesk.accounts.selectors import staff_member
from afterdesk.cases.display import Lookups
from afterdesk.cases.models import Case
from afterdesk.cases.permissions import get_case_for_user
from afterdesk.cases.views.common import current_user, form_errors_from
from afterdesk.core.errors import DomainError, NotFound, PermissionDenied
from afterdesk.customers.models import Segment
from afterdesk.triage import selectors, services
from afterdesk.triage.cache import settings_row, snapshot
from afterdesk.triage.choices import SUBTASK_ALLOWED, SubTaskStatus
from afterdesk.triage.display import describe_event, percent, strategy_label
from afterdesk.triage.forms import (
    AgentForm,
    EscalateForm,
    MemberForm,
    RouteForm,
    RuleForm,
    SettingsForm,
    SubTaskForm,
    SubTaskStatusForm,
    shifts_text,
)
from afterdesk.triage.models import ClassifierModel, Route, Rule
from afterdesk.triage.permissions import (
    can_change_subtask,
    can_collaborate,
    can_manage_triage,
    can_view_collaboration,
    get_subtask_for_user,
    require_manage_triage,
    require_view_triage,
)


def _category_choices() -> list[tuple[str, str]]:
    return [
        (c.code, f"{c.parent.label} › {c.label}" if c.parent else c.label)
        for c in snapshot().categories.values()
    ]


def _department_choices() -> list[tuple[str, str]]:
    return [(d.code, d.label) for d in snapshot().departments.values()]


def _staff() -> list[User]:
    return list(
        User.objects.filter(is_active=True)
        .exclude(role__in=[Role.CUSTOMER, Role.INTEGRATION])
        .order_by("username")
    )


def _people(staff: list[User]) -> list[tuple[str, str]]:
    return [(u.username, u.display_name) for u in staff]


def _lookups(staff: list[User]) -> Lookups:
    return Lookups(
        categories=dict(_category_choices()),
        departments=dict(_department_choices()),
        people={u.username: u.display_name for u in staff},
    )


def _viewer(request: HttpRequest) -> User:
    user = current_user(request)
    require_view_triage(user)
    return user


def _manager(request: HttpRequest) -> User:
    user = current_user(request)
    require_manage_triage(user)
    return user


def _scored(items: list[dict[str, Any]], labels: dict[str, str]) -> list[dict[str, str]]:
    return [
        {"code": s["code"], "label": labels.get(s["code"], s["code"]), "p": percent(s["p"])}
        for s in items
    ]


# ---- needs triage --------------------------------------------------------------------------


@workspace_required
@require_GET
def needs_triage(request: HttpRequest) -> HttpResponse:
    """Uncategorised open cases with the model's top three suggestions; one click applies."""
    user = _viewer(request)
    labels = dict(_category_choices())
    rows = [
        {
            "case": s.case,
            "suggestions": _scored(s.categories, labels),
            "can_apply": can_collaborate(user, s.case),
        }
        for s in selectors.needs_triage(user=user)
    ]
    return render(
        request,
        "triage/needs_triage.html",
        {"rows": rows, "categories": _category_choices(), "nav": "needs"},
    )


# ---- rules ---------------------------------------------------------------------------------


def _rule_form(data: Any = None, initial: dict[str, Any] | None = None) -> RuleForm:
    return RuleForm(
        data,
        initial=initial,
        categories=_category_choices(),
        departments=_department_choices(),
        people=_people(_staff()),
        segments=[(s.code, str(s)) for s in Segment.objects.order_by("code")],
    )


@workspace_required
@require_GET
def rules(request: HttpRequest) -> HttpResponse:
    user = _viewer(request)
    staff = _staff()
    lookups = _lookups(staff)
    rows = []
    for rule in selectors.rules_list():
        actions = {
            k: v
            for k, v in {
                "category": rule.set_category.code if rule.set_category else "",
                "priority": rule.set_priority,
                "department": rule.set_department.code if rule.set_department else "",
                "owner": rule.assign_to.username if rule.assign_to else "",
                "team": rule.assign_team.code if rule.assign_team else "",
                "tags": rule.add_tags,
            }.items()
            if v
        }
        rows.append({"rule": rule, "actions": _actions_text(actions, lookups)})
    return render(
        request,
        "triage/rules.html",
        {"rows": rows, "can_manage": can_manage_triage(user), "nav": "rules"},
    )


def _actions_text(actions: dict[str, Any], lookups: Lookups) -> str:
    from afterdesk.triage.display import _changes

    return _changes(actions, lookups)


@workspace_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    user = _manager(request)
    rule = None
    if rule_id is not None:
        rule = selectors.rules_list().filter(pk=rule_id).first()
        if rule is None:
            raise NotFound(_("No such rule."))
    if request.method == "POST":
        form = _rule_form(request.POST)
        if form.is_valid():
            try:
                if rule is None:
                    services.rule_create(actor=user, data=form.to_input())
                else:
                    services.rule_update(actor=user, rule=rule, data=form.to_input())
            except DomainError as exc:
                form_errors_from(form, exc)
            else:
                messages.success(request, _("Rule saved."))
                return redirect("triage:rules")
        status = 422
    else:
        form = _rule_form(initial=RuleForm.initial_of(rule) if rule else None)
        status = 200
    return render(
        request,
        "triage/rule_edit.html",
        {"form": form, "rule": rule, "nav": "rules"},
        status=status,
    )


@workspace_required
@require_POST
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    user = _manager(request)
    rule = Rule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("No such rule."))
    services.rule_delete(actor=user, rule=rule)
    messages.success(request, _("Rule “%s” deleted.") % rule.name)
    return redirect("triage:rules")


# ---- agents --------------------------------------------------------------------------------


@workspace_required
@require_GET
def agents(request: HttpRequest) -> HttpResponse:
    """Skills, caps, availability and shifts of everyone who can own cases."""
    user = _viewer(request)
    rows: list[dict[str, Any]] = []
    for agent in selectors.agents_list():
        profile = getattr(agent, "triage_profile", None)
        rows.append(
            {
                "user": agent,
                "profile": profile,
                "departments": ", ".join(d.label for d in agent.departments.all()),
                "shifts": shifts_text(list(profile.shifts.all())) if profile else "",
            }
        )
    me = next((r for r in rows if r["user"].pk == user.pk), None)
    return render(
        request,
        "triage/agents.html",
        {
            "rows": rows,
            "can_manage": can_manage_triage(user),
            "me": me,
            "default_cap": settings_row().default_max_open,
            "nav": "agents",
        },
    )


@workspace_required
@require_http_methods(["GET", "POST"])
def agent_edit(request: HttpRequest, username: str) -> HttpResponse:
    actor = _manager(request)
    agent = next((u for u in selectors.agents_list() if u.username == username), None)
    if agent is None:
        raise NotFound(_("No such staff member."))
    if request.method == "POST":
        form = AgentForm(request.POST)
        if form.is_valid():
            try:
                services.profile_save(actor=actor, user=agent, data=form.to_input())
            except DomainError as exc:
                form_errors_from(form, exc)
            else:
                messages.success(request, _("Saved %s.") % agent.display_name)
                return redirect("triage:agents")
        status = 422
    else:
        profile = getattr(agent, "triage_profile", None)
        initial = (
            {
                "languages": profile.languages,
                "product_lines": ", ".join(profile.product_lines),
                "max_open": profile.max_open,
                "auto_assign": profile.auto_assign,
                "is_away": profile.is_away,
                "shifts": shifts_text(list(profile.shifts.all())),
            }
            if profile
            else None
        )
        form = AgentForm(initial=initial)
        status = 200
    return render(
        request,
        "triage/agent_edit.html",
        {"form": form, "agent": agent, "nav": "agents"},
        status=status,
    )


@workspace_required
@require_POST
def away(request: HttpRequest) -> HttpResponse:
    user = _viewer(request)
    is_away = request.POST.get("away") == "1"
    services.away_set(actor=user, user=user, away=is_away)
    messages.success(request, _("You are away: no new cases.") if is_away else _("Welcome back."))
    return redirect("triage:agents")


# ---- routing, settings, models ------------------------------------------------------------


def _setup_context(
    user: User, *, route_form: RouteForm | None = None, settings_form: SettingsForm | None = None
) -> dict[str, Any]:
    row = settings_row()
    return {
        "routes": list(selectors.routes_list()),
        "models": list(selectors.models_list()[:20]),
        "route_form": route_form
        or RouteForm(categories=_category_choices(), departments=_department_choices()),
        "settings_form": settings_form
        or SettingsForm(
            initial={
                "confidence_threshold": row.confidence_threshold,
                "assignment_mode": row.assignment_mode,
                "default_max_open": row.default_max_open,
                "urgent_words": row.urgent_words,
                "negative_words": row.negative_words,
                "negative_threshold": row.negative_threshold,
            }
        ),
        "can_manage": can_manage_triage(user),
        "nav": "setup",
    }


@workspace_required
@require_GET
def setup(request: HttpRequest) -> HttpResponse:
    user = _viewer(request)
    return render(request, "triage/setup.html", _setup_context(user))


@workspace_required
@require_POST
def route_save(request: HttpRequest) -> HttpResponse:
    user = _manager(request)
    form = RouteForm(
        request.POST, categories=_category_choices(), departments=_department_choices()
    )
    if form.is_valid():
        try:
            services.route_save(actor=user, **form.cleaned_data)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Route saved."))
            return redirect("triage:setup")
    return render(request, "triage/setup.html", _setup_context(user, route_form=form), status=422)


@workspace_required
@require_POST
def route_delete(request: HttpRequest, route_id: int) -> HttpResponse:
    user = _manager(request)
    route = Route.objects.filter(pk=route_id).first()
    if route is None:
        raise NotFound(_("No such route."))
    services.route_delete(actor=user, route=route)
    messages.success(request, _("Route deleted."))
    return redirect("triage:setup")


@workspace_required
@require_POST
def settings_save(request: HttpRequest) -> HttpResponse:
    user = _manager(request)
    form = SettingsForm(request.POST)
    if form.is_valid():
        try:
            services.settings_update(actor=user, **form.cleaned_data)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Triage settings saved."))
            return redirect("triage:setup")
    return render(
        request, "triage/setup.html", _setup_context(user, settings_form=form), status=422
    )


@workspace_required
@require_POST
def model_train(request: HttpRequest) -> HttpResponse:
    user = _manager(request)
    try:
        model = services.model_train(actor=user, activate=request.POST.get("activate") == "1")
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        part = model.report.get("category", {})
        messages.success(
            request,
            _(
                "Model v%(version)d trained: accuracy %(accuracy)s, macro-F1 %(f1)s on %(n)d "
                "held-out cases."
            )
            % {
                "version": model.version,
                "accuracy": percent(part.get("accuracy")),
                "f1": percent(part.get("macro_f1")),
                "n": model.test_size,
            },
        )
    return redirect("triage:setup")


@workspace_required
@require_POST
def model_activate(request: HttpRequest, version: int) -> HttpResponse:
    user = _manager(request)
    model = ClassifierModel.objects.defer("blob").filter(version=version).first()
    if model is None:
        raise NotFound(_("No such model version."))
    services.model_activate(actor=user, model=model)
    messages.success(request, _("Model v%d is active.") % version)
    return redirect("triage:setup")


# ---- the case panel ------------------------------------------------------------------------


def panel_context(*, user: User, case: Case) -> dict[str, Any]:
    """What the triage panel on the case page shows; nothing for those who may not see it."""
    if not can_view_collaboration(user, case):
        return {"show": False}
    panel = selectors.case_panel(case=case)
    staff = _staff()
    lookups = _lookups(staff)
    editable = can_collaborate(user, case)
    suggestion = panel.suggestion
    needs = bool(suggestion and suggestion.needs_triage and case.category_id is None)
    subtasks = [
        {
            "task": task,
            "status_label": SubTaskStatus(task.status).label,
            "moves": [
                (s, SubTaskStatus(s).label)
                for s in SubTaskStatus.values
                if s in SUBTASK_ALLOWED[task.status]
            ]
            if can_change_subtask(user, task)
            else [],
        }
        for task in panel.subtasks
    ]
    people = _people(staff)
    return {
        "show": True,
        "case": case,
        "why": [describe_event(e, lookups) for e in panel.why],
        "assigned_by": strategy_label((panel.assigned.payload or {}).get("strategy", ""))
        if panel.assigned
        else "",
        "needs_triage": needs,
        "suggestions": _scored(suggestion.categories, lookups.categories)
        if needs and suggestion
        else [],
        "subtasks": subtasks,
        "task_force": panel.task_force,
        "can_edit": editable,
        "subtask_form": SubTaskForm(departments=_department_choices(), people=people),
        "member_form": MemberForm(people=people),
        "escalate_form": EscalateForm(
            supervisors=[
                (u.username, u.display_name)
                for u in staff
                if u.role in (Role.SUPERVISOR, Role.ADMIN)
            ]
        ),
    }


def _case_for(request: HttpRequest, number: str) -> tuple[User, Case]:
    user = current_user(request)
    case = get_case_for_user(user, number)
    if not can_view_collaboration(user, case):
        raise NotFound(_("Not found."))
    if not can_collaborate(user, case):
        raise PermissionDenied(_("You may not change this case."))
    return user, case


def _back(case: Case) -> HttpResponse:
    return redirect(reverse("cases:detail", args=[case.number]) + "#triage")


@workspace_required
@require_POST
def case_apply(request: HttpRequest, number: str) -> HttpResponse:
    user, case = _case_for(request, number)
    try:
        services.suggestion_apply(actor=user, case=case, category=request.POST.get("category", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Category set."))
    if request.POST.get("back") == "needs":
        return redirect("triage:needs")
    return _back(case)


@workspace_required
@require_POST
def case_run(request: HttpRequest, number: str) -> HttpResponse:
    user, case = _case_for(request, number)
    services.case_triage_run(actor=user, case=case)
    messages.success(request, _("Triage ran again."))
    return _back(case)


@workspace_required
@require_POST
def subtask_create(request: HttpRequest, number: str) -> HttpResponse:
    user, case = _case_for(request, number)
    form = SubTaskForm(request.POST, departments=_department_choices(), people=_people(_staff()))
    if not form.is_valid():
        messages.error(
            request,
            "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items()),
        )
        return _back(case)
    try:
        services.subtask_create(
            actor=user, case=case, data=services.SubTaskInput(**form.cleaned_data)
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Sub-task created."))
    return _back(case)


@workspace_required
@require_POST
def subtask_status(request: HttpRequest, number: str, task_id: int) -> HttpResponse:
    user = current_user(request)
    case = get_case_for_user(user, number)
    task = get_subtask_for_user(user, case, task_id, write=True)
    form = SubTaskStatusForm(request.POST)
    if form.is_valid():
        try:
            services.subtask_update(actor=user, task=task, status=form.cleaned_data["status"])
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Sub-task updated."))
    return _back(case)


@workspace_required
@require_POST
def member_add(request: HttpRequest, number: str) -> HttpResponse:
    user, case = _case_for(request, number)
    form = MemberForm(request.POST, people=_people(_staff()))
    if form.is_valid():
        member = staff_member(username=form.cleaned_data["username"])
        if member is None:
            messages.error(request, _("Not an active staff member."))
            return _back(case)
        try:
            services.task_force_add(
                actor=user,
                case=case,
                user=member,
                role=form.cleaned_data["role"],
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("%s joined the task force.") % member.display_name)
    return _back(case)


@workspace_required
@require_POST
def member_remove(request: HttpRequest, number: str, username: str) -> HttpResponse:
    user, case = _case_for(request, number)
    member = staff_member(username=username)
    if member is not None:
        services.task_force_remove(actor=user, case=case, user=member)
    return _back(case)


@workspace_required
@require_POST
def escalate(request: HttpRequest, number: str) -> HttpResponse:
    user, case = _case_for(request, number)
    staff = _staff()
    form = EscalateForm(
        request.POST,
        supervisors=[
            (u.username, u.display_name) for u in staff if u.role in (Role.SUPERVISOR, Role.ADMIN)
        ],
    )
    if form.is_valid():
        supervisor = staff_member(username=form.cleaned_data["supervisor"])
        try:
            if supervisor is None:
                raise NotFound(_("Not an active staff member."))
            services.case_escalate(
                actor=user, case=case, supervisor=supervisor, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Escalated to %s.") % supervisor.display_name)
    else:
        messages.error(request, _("Choose a supervisor and say why."))
    return _back(case)
