"""Reads of the triage app for views and the API, scoped to the user and with fixed query
counts (no per-row queries)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet

from afterdesk.accounts.choices import STAFF_ROLES, Role
from afterdesk.accounts.models import User
from afterdesk.cases.choices import OPEN_STATUSES, EventType
from afterdesk.cases.models import Case, CaseEvent
from afterdesk.cases.permissions import restrict_cases
from afterdesk.triage.models import (
    AgentProfile,
    ClassifierModel,
    Route,
    Rule,
    Shift,
    SubTask,
    Suggestion,
    TaskForceMember,
)

NEEDS_TRIAGE_LIMIT = 100
WHY_TYPES = (
    EventType.TRIAGE_RULE_APPLIED,
    EventType.TRIAGE_CLASSIFIED,
    EventType.TRIAGE_URGENT,
    EventType.TRIAGE_ROUTED,
)


def needs_triage(*, user: User, limit: int = NEEDS_TRIAGE_LIMIT) -> list[Suggestion]:
    """Open, still uncategorised cases the model was unsure about (or that no rule or model
    could classify), oldest first, that `user` may see; each with its case loaded."""
    cases = restrict_cases(
        Case.objects.filter(status__in=OPEN_STATUSES, category__isnull=True), user
    )
    return list(
        Suggestion.objects.filter(needs_triage=True, case__in=cases)
        .select_related("case", "case__customer", "case__department", "case__owner")
        .order_by("created_at", "case_id")[:limit]
    )


def needs_triage_count(*, user: User) -> int:
    cases = restrict_cases(
        Case.objects.filter(status__in=OPEN_STATUSES, category__isnull=True), user
    )
    return Suggestion.objects.filter(needs_triage=True, case__in=cases).count()


def rules_list() -> QuerySet[Rule]:
    return Rule.objects.select_related(
        "set_category", "set_department", "assign_to", "assign_team"
    ).order_by("position", "id")


def routes_list() -> QuerySet[Route]:
    return Route.objects.select_related("category", "department").order_by("position", "id")


def agents_list() -> list[User]:
    """Active staff who can own cases, each with `triage_profile` (or None), its shifts and
    departments loaded."""
    return list(
        User.objects.filter(is_active=True, role__in=STAFF_ROLES - {Role.INTEGRATION})
        .select_related("triage_profile")
        .prefetch_related(
            "departments",
            Prefetch("triage_profile__shifts", queryset=Shift.objects.order_by("weekday", "start")),
        )
        .order_by("username")
    )


def profile_of(user: User) -> AgentProfile | None:
    return AgentProfile.objects.filter(user=user).prefetch_related("shifts").first()


def models_list() -> QuerySet[ClassifierModel]:
    return ClassifierModel.objects.defer("blob").select_related("trained_by").order_by("-version")


@dataclass
class CasePanel:
    """What the case page shows about triage and collaboration."""

    why: list[CaseEvent] = field(default_factory=list)
    assigned: CaseEvent | None = None
    suggestion: Suggestion | None = None
    subtasks: list[SubTask] = field(default_factory=list)
    task_force: list[TaskForceMember] = field(default_factory=list)


def case_panel(*, case: Case) -> CasePanel:
    """Triage's explanation of the case (rules, model, urgency words, routing, the automatic
    assignment), its suggestion, sub-tasks and task force: four queries."""
    events = list(
        CaseEvent.objects.filter(case=case, type__in=[*WHY_TYPES, EventType.ASSIGNED]).order_by(
            "at", "id"
        )
    )
    why = [e for e in events if e.type in WHY_TYPES]
    assigned = next(
        (
            e
            for e in events
            if e.type == EventType.ASSIGNED and (e.payload or {}).get("by") == "triage"
        ),
        None,
    )
    return CasePanel(
        why=why,
        assigned=assigned,
        suggestion=Suggestion.objects.filter(case=case).first(),
        subtasks=list(
            SubTask.objects.filter(case=case)
            .select_related("department", "owner")
            .order_by("created_at", "id")
        ),
        task_force=list(
            TaskForceMember.objects.filter(case=case)
            .select_related("user")
            .order_by("added_at", "id")
        ),
    )


def subtasks_for_case(*, case: Case) -> list[SubTask]:
    return list(
        SubTask.objects.filter(case=case)
        .select_related("department", "owner", "case")
        .order_by("created_at", "id")
    )


def task_force_for_case(*, case: Case) -> list[TaskForceMember]:
    return list(
        TaskForceMember.objects.filter(case=case).select_related("user").order_by("added_at", "id")
    )


def explanation(event: CaseEvent) -> dict[str, Any]:
    """An event of the "why" list as API data (codes, not labels)."""
    return {
        "type": event.type,
        "at": event.at,
        "field": event.field,
        "old": event.old,
        "new": event.new,
        "payload": event.payload or {},
    }
