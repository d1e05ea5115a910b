"""Triage endpoints of API v1: configuration under /triage, a case's triage and its
collaboration under /cases/{number}. Thin: parse, check permission, one service or selector.

Customers get 404 for all of it; staff read; supervisors, admins and integrations change
configuration and train models; collaboration follows the case's permissions.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from afterdesk.accounts.models import User
from afterdesk.accounts.selectors import staff_member
from afterdesk.cases.models import Case
from afterdesk.cases.permissions import get_case_for_user
from afterdesk.core.api_auth import request_user as _user
from afterdesk.core.errors import NotFound, PermissionDenied
from afterdesk.core.schemas import error_responses
from afterdesk.triage import selectors, services
from afterdesk.triage.cache import settings_row, snapshot
from afterdesk.triage.engine import urgency_detect, word_list
from afterdesk.triage.models import AgentProfile, ClassifierModel, Route, Rule, SubTask
from afterdesk.triage.permissions import (
    can_collaborate,
    can_set_own_away,
    can_view_collaboration,
    get_subtask_for_user,
    require_manage_triage,
    require_view_triage,
)
from afterdesk.triage.schemas import (
    AgentIn,
    AgentOut,
    ApplyIn,
    AwayIn,
    CaseTriageOut,
    ClassifyIn,
    ClassifyOut,
    EscalateIn,
    MemberIn,
    MemberOut,
    ModelOut,
    NeedsTriageItem,
    RouteIn,
    RouteOut,
    RuleIn,
    RuleOut,
    SettingsIn,
    SettingsOut,
    SubTaskIn,
    SubTaskOut,
    SubTaskUpdateIn,
    TrainIn,
)

router = Router()
# Mounted under /cases: a case's triage, sub-tasks, task force and escalation.
case_router = Router()

ERRORS = error_responses(400, 401, 403, 404, 409, 422)


def _viewer(request: HttpRequest) -> User:
    user = _user(request)
    require_view_triage(user)
    return user


def _manager(request: HttpRequest) -> User:
    user = _user(request)
    require_manage_triage(user)
    return user


# ---- configuration -------------------------------------------------------------------------


def rule_out(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "name": rule.name,
        "position": rule.position,
        "is_active": rule.is_active,
        "kinds": rule.kinds,
        "channels": rule.channels,
        "keywords": rule.keywords,
        "pattern": rule.pattern,
        "segments": rule.segments,
        "vip": rule.vip,
        "amount_min": rule.amount_min,
        "amount_max": rule.amount_max,
        "product_lines": rule.product_lines,
        "languages": rule.languages,
        "set_category": rule.set_category.code if rule.set_category else None,
        "set_priority": rule.set_priority,
        "set_department": rule.set_department.code if rule.set_department else None,
        "add_tags": rule.add_tags,
        "set_complex": rule.set_complex,
        "assign_to": rule.assign_to.username if rule.assign_to else None,
        "assign_team": rule.assign_team.code if rule.assign_team else None,
        "overrides_caller": rule.overrides_caller,
        "stop": rule.stop,
    }


def _rule_input(payload: RuleIn) -> services.RuleInput:
    data = payload.model_dump()
    for name in ("kinds", "channels", "keywords", "segments", "product_lines", "languages"):
        data[name] = tuple(data[name])
    data["add_tags"] = tuple(data["add_tags"])
    return services.RuleInput(**data)


def _rule(rule_id: int) -> Rule:
    rule = selectors.rules_list().filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("No such rule."))
    return rule


@router.get("/rules", response={200: list[RuleOut], **ERRORS}, summary="List triage rules")
def list_rules(request: HttpRequest) -> list[dict[str, Any]]:
    _viewer(request)
    return [rule_out(r) for r in selectors.rules_list()]


@router.post("/rules", response={201: RuleOut, **ERRORS}, summary="Add a triage rule")
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[dict[str, Any]]:
    user = _manager(request)
    rule = services.rule_create(actor=user, data=_rule_input(payload))
    return Status(201, rule_out(_rule(rule.pk)))


@router.get("/rules/{rule_id}", response={200: RuleOut, **ERRORS}, summary="A triage rule")
def get_rule(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    _viewer(request)
    return rule_out(_rule(rule_id))


@router.put("/rules/{rule_id}", response={200: RuleOut, **ERRORS}, summary="Replace a rule")
def update_rule(request: HttpRequest, rule_id: int, payload: RuleIn) -> dict[str, Any]:
    user = _manager(request)
    rule = services.rule_update(actor=user, rule=_rule(rule_id), data=_rule_input(payload))
    return rule_out(_rule(rule.pk))


@router.delete("/rules/{rule_id}", response={204: None, **ERRORS}, summary="Delete a rule")
def delete_rule(request: HttpRequest, rule_id: int) -> Status[None]:
    user = _manager(request)
    services.rule_delete(actor=user, rule=_rule(rule_id))
    return Status(204, None)


def route_out(route: Route) -> dict[str, Any]:
    return {
        "id": route.pk,
        "kind": route.kind,
        "category": route.category.code if route.category else None,
        "department": route.department.code,
        "position": route.position,
    }


@router.get("/routes", response={200: list[RouteOut], **ERRORS}, summary="The routing table")
def list_routes(request: HttpRequest) -> list[dict[str, Any]]:
    _viewer(request)
    return [route_out(r) for r in selectors.routes_list()]


@router.put("/routes", response={200: RouteOut, **ERRORS}, summary="Set a route")
def save_route(request: HttpRequest, payload: RouteIn) -> dict[str, Any]:
    user = _manager(request)
    route = services.route_save(actor=user, **payload.model_dump())
    return route_out(selectors.routes_list().get(pk=route.pk))


@router.delete("/routes/{route_id}", response={204: None, **ERRORS}, summary="Delete a route")
def delete_route(request: HttpRequest, route_id: int) -> Status[None]:
    user = _manager(request)
    route = Route.objects.filter(pk=route_id).first()
    if route is None:
        raise NotFound(_("No such route."))
    services.route_delete(actor=user, route=route)
    return Status(204, None)


def settings_out() -> dict[str, Any]:
    row = settings_row()
    return {
        "confidence_threshold": row.confidence_threshold,
        "assignment_mode": row.assignment_mode,
        "default_max_open": row.default_max_open,
        "urgent_words": list(word_list(row.urgent_words)),
        "negative_words": list(word_list(row.negative_words)),
        "negative_threshold": row.negative_threshold,
        "version": row.version,
    }


@router.get("/settings", response={200: SettingsOut, **ERRORS}, summary="Triage settings")
def get_settings(request: HttpRequest) -> dict[str, Any]:
    _viewer(request)
    return settings_out()


@router.patch("/settings", response={200: SettingsOut, **ERRORS}, summary="Change settings")
def update_settings(request: HttpRequest, payload: SettingsIn) -> dict[str, Any]:
    user = _manager(request)
    services.settings_update(actor=user, **payload.model_dump())
    return settings_out()


def agent_out(user: User) -> dict[str, Any]:
    profile: AgentProfile | None = getattr(user, "triage_profile", None)
    return {
        "username": user.username,
        "name": user.display_name,
        "role": user.role,
        "departments": [d.code for d in user.departments.all()],
        "in_assignment": profile is not None,
        "auto_assign": bool(profile and profile.auto_assign),
        "is_away": bool(profile and profile.is_away),
        "languages": profile.languages if profile else [],
        "product_lines": profile.product_lines if profile else [],
        "max_open": profile.max_open if profile else None,
        "shifts": [
            {"weekday": s.weekday, "start": s.start, "end": s.end} for s in profile.shifts.all()
        ]
        if profile
        else [],
    }


def _agent(username: str) -> User:
    user = next((u for u in selectors.agents_list() if u.username == username), None)
    if user is None:
        raise NotFound(_("No such staff member."))
    return user


@router.get("/agents", response={200: list[AgentOut], **ERRORS}, summary="Agents")
def list_agents(request: HttpRequest) -> list[dict[str, Any]]:
    _viewer(request)
    return [agent_out(u) for u in selectors.agents_list()]


@router.put(
    "/agents/{username}", response={200: AgentOut, **ERRORS}, summary="Skills, cap and shifts"
)
def save_agent(request: HttpRequest, username: str, payload: AgentIn) -> dict[str, Any]:
    actor = _manager(request)
    user = _agent(username)
    shifts = (
        tuple(services.ShiftInput(s.weekday, s.start, s.end) for s in payload.shifts)
        if payload.shifts is not None
        else None
    )
    services.profile_save(
        actor=actor,
        user=user,
        data=services.ProfileInput(
            languages=tuple(payload.languages),
            product_lines=tuple(payload.product_lines),
            max_open=payload.max_open,
            auto_assign=payload.auto_assign,
            is_away=payload.is_away,
            shifts=shifts,
        ),
    )
    return agent_out(_agent(username))


@router.post("/away", response={200: AgentOut, **ERRORS}, summary="Mark yourself away or back")
def set_away(request: HttpRequest, payload: AwayIn) -> dict[str, Any]:
    user = _viewer(request)
    if not can_set_own_away(user):
        raise PermissionDenied(_("Integrations have no availability."))
    services.away_set(actor=user, user=user, away=payload.away)
    return agent_out(_agent(user.username))


def model_out(model: ClassifierModel) -> dict[str, Any]:
    return {
        "version": model.version,
        "is_active": model.is_active,
        "created_at": model.created_at,
        "trained_by": model.trained_by.username if model.trained_by else None,
        "sklearn_version": model.sklearn_version,
        "train_size": model.train_size,
        "test_size": model.test_size,
        "seconds": model.seconds,
        "report": model.report,
    }


@router.get("/models", response={200: list[ModelOut], **ERRORS}, summary="Model versions")
def list_models(request: HttpRequest) -> list[dict[str, Any]]:
    _viewer(request)
    return [model_out(m) for m in selectors.models_list()]


@router.post("/models", response={201: ModelOut, **ERRORS}, summary="Train a new model")
def train_model(request: HttpRequest, payload: TrainIn) -> Status[dict[str, Any]]:
    user = _manager(request)
    model = services.model_train(actor=user, activate=payload.activate)
    return Status(201, model_out(selectors.models_list().get(pk=model.pk)))


@router.post(
    "/models/{version}/activate", response={200: ModelOut, **ERRORS}, summary="Use a version"
)
def activate_model(request: HttpRequest, version: int) -> dict[str, Any]:
    user = _manager(request)
    model = selectors.models_list().filter(version=version).first()
    if model is None:
        raise NotFound(_("No such model version."))
    services.model_activate(actor=user, model=model)
    return model_out(selectors.models_list().get(pk=model.pk))


@router.post("/classify", response={200: ClassifyOut, **ERRORS}, summary="Suggest for a text")
def classify(request: HttpRequest, payload: ClassifyIn) -> dict[str, Any]:
    """The model's top three categories and priorities and the urgency words for a text,
    without a case (e.g. while an agent logs a call)."""
    _viewer(request)
    snap = snapshot()
    urgency = urgency_detect(
        f"{payload.subject}\n{payload.body}",
        urgent_words=snap.urgent_words,
        negative_words=snap.negative_words,
        negative_min=snap.negative_min,
    )
    out: dict[str, Any] = {
        "model": snap.model_version,
        "categories": [],
        "priorities": [],
        "urgent_words": list(urgency.words),
        "negative_words": list(urgency.negative),
    }
    if snap.predictor is not None:
        prediction = snap.predictor.predict(payload.subject, payload.body)
        out["categories"] = [{"code": c, "p": p} for c, p in prediction.categories]
        out["priorities"] = [{"code": c, "p": p} for c, p in prediction.priorities]
    return out


@router.get(
    "/needs-triage", response={200: list[NeedsTriageItem], **ERRORS}, summary="Needs triage"
)
def needs_triage(request: HttpRequest) -> list[dict[str, Any]]:
    user = _viewer(request)
    return [
        {
            "number": s.case.number,
            "subject": s.case.subject,
            "created_at": s.case.created_at,
            "department": s.case.department.code if s.case.department else None,
            "suggestions": s.categories,
        }
        for s in selectors.needs_triage(user=user)
    ]


# ---- one case ------------------------------------------------------------------------------


def _case(request: HttpRequest, number: str, *, write: bool = False) -> tuple[User, Case]:
    user = _user(request)
    case = get_case_for_user(user, number)
    if not can_view_collaboration(user, case):
        raise NotFound(_("Not found."))
    if write and not can_collaborate(user, case):
        raise PermissionDenied(_("You may not change this case."))
    return user, case


def case_triage_out(case: Case) -> dict[str, Any]:
    panel = selectors.case_panel(case=case)
    suggestion = panel.suggestion
    return {
        "number": case.number,
        "needs_triage": bool(suggestion and suggestion.needs_triage and case.category_id is None),
        "suggestions": suggestion.categories if suggestion else [],
        "priority_suggestions": suggestion.priorities if suggestion else [],
        "model": suggestion.model_version if suggestion else None,
        "why": [selectors.explanation(e) for e in panel.why],
        "assigned_by": (panel.assigned.payload or {}).get("strategy") if panel.assigned else None,
    }


@case_router.get(
    "/{number}/triage", response={200: CaseTriageOut, **ERRORS}, summary="Why and suggestions"
)
def get_case_triage(request: HttpRequest, number: str) -> dict[str, Any]:
    _user_obj, case = _case(request, number)
    return case_triage_out(case)


@case_router.post(
    "/{number}/triage/run", response={200: CaseTriageOut, **ERRORS}, summary="Triage again"
)
def run_case_triage(request: HttpRequest, number: str) -> dict[str, Any]:
    user, case = _case(request, number, write=True)
    case = services.case_triage_run(actor=user, case=case)
    return case_triage_out(case)


@case_router.post(
    "/{number}/triage/apply", response={200: CaseTriageOut, **ERRORS}, summary="Take a suggestion"
)
def apply_suggestion(request: HttpRequest, number: str, payload: ApplyIn) -> dict[str, Any]:
    user, case = _case(request, number, write=True)
    case = services.suggestion_apply(
        actor=user, case=case, category=payload.category, priority=payload.priority
    )
    return case_triage_out(case)


def subtask_out(task: SubTask) -> dict[str, Any]:
    return {
        "id": task.pk,
        "department": task.department.code,
        "title": task.title,
        "description": task.description,
        "owner": task.owner.username if task.owner else None,
        "due_at": task.due_at,
        "status": task.status,
        "created_at": task.created_at,
        "completed_at": task.completed_at,
    }


@case_router.get(
    "/{number}/subtasks", response={200: list[SubTaskOut], **ERRORS}, summary="Sub-tasks"
)
def list_subtasks(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    _user_obj, case = _case(request, number)
    return [subtask_out(t) for t in selectors.subtasks_for_case(case=case)]


@case_router.post(
    "/{number}/subtasks", response={201: SubTaskOut, **ERRORS}, summary="Hand work to a team"
)
def create_subtask(request: HttpRequest, number: str, payload: SubTaskIn) -> Status[dict[str, Any]]:
    user, case = _case(request, number, write=True)
    task = services.subtask_create(
        actor=user, case=case, data=services.SubTaskInput(**payload.model_dump())
    )
    return Status(201, subtask_out(get_subtask_for_user(user, case, task.pk)))


@case_router.patch(
    "/{number}/subtasks/{task_id}", response={200: SubTaskOut, **ERRORS}, summary="Update"
)
def update_subtask(
    request: HttpRequest, number: str, task_id: int, payload: SubTaskUpdateIn
) -> dict[str, Any]:
    user = _user(request)
    case = get_case_for_user(user, number)
    task = get_subtask_for_user(user, case, task_id, write=True)
    changes: dict[str, Any] = {"status": payload.status}
    if payload.owner is not None:
        changes["owner"] = payload.owner
    if payload.clear_due:
        changes["due_at"] = None
    elif payload.due_at is not None:
        changes["due_at"] = payload.due_at
    services.subtask_update(actor=user, task=task, **changes)
    return subtask_out(get_subtask_for_user(user, case, task_id))


def member_out(member: Any) -> dict[str, Any]:
    return {
        "username": member.user.username,
        "name": member.user.display_name,
        "role": member.role,
        "note": member.note,
        "added_at": member.added_at,
    }


@case_router.get(
    "/{number}/task-force", response={200: list[MemberOut], **ERRORS}, summary="Task force"
)
def list_task_force(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    _user_obj, case = _case(request, number)
    return [member_out(m) for m in selectors.task_force_for_case(case=case)]


def _staff(username: str) -> User:
    member = staff_member(username=username)
    if member is None:
        raise NotFound(_("%s is not an active staff member.") % username)
    return member


@case_router.post(
    "/{number}/task-force", response={201: MemberOut, **ERRORS}, summary="Add a collaborator"
)
def add_member(request: HttpRequest, number: str, payload: MemberIn) -> Status[dict[str, Any]]:
    user, case = _case(request, number, write=True)
    member = services.task_force_add(
        actor=user, case=case, user=_staff(payload.username), role=payload.role, note=payload.note
    )
    return Status(201, member_out(member))


@case_router.delete(
    "/{number}/task-force/{username}", response={204: None, **ERRORS}, summary="Remove"
)
def remove_member(request: HttpRequest, number: str, username: str) -> Status[None]:
    user, case = _case(request, number, write=True)
    services.task_force_remove(actor=user, case=case, user=_staff(username))
    return Status(204, None)


@case_router.post(
    "/{number}/escalate", response={201: MemberOut, **ERRORS}, summary="Escalate to a supervisor"
)
def escalate(request: HttpRequest, number: str, payload: EscalateIn) -> Status[dict[str, Any]]:
    user, case = _case(request, number, write=True)
    member = services.case_escalate(
        actor=user, case=case, supervisor=_staff(payload.supervisor), reason=payload.reason
    )
    return Status(201, member_out(member))
