"""What `case_create` calls for a new case: rules, model, urgency and routing before its
write transaction (`triage_case_decide`), assignment inside it (`triage_case_assign`), and
an event for each thing that changed the case.

Precedence, from strongest to weakest, for category, priority and department:

1. a value the caller gave when opening the case (API, workspace form), unless a rule is
   marked "overrides values given by the caller";
2. rules, in order (a later matching rule overrides an earlier one; `stop` ends the list);
3. urgency words (priority only: they grade a case urgent);
4. the model, when its probability reaches the threshold (category, priority);
5. routing by category / kind (department only), else the department the case already has.

The owner: a rule's agent, else the assignment strategies of `triage.assignment`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from afterdesk.cases.choices import EventType, Priority
from afterdesk.cases.models import Case, CaseEvent
from afterdesk.core import fastsql
from afterdesk.customers.selectors import product_by_sku
from afterdesk.triage import assignment
from afterdesk.triage.cache import Snapshot, snapshot
from afterdesk.triage.choices import Strategy
from afterdesk.triage.engine import Facts, route_find, rules_evaluate, urgency_detect
from afterdesk.triage.models import Suggestion

if TYPE_CHECKING:
    from afterdesk.cases.services import CaseInput


@dataclass
class Decision:
    """Where triage is with one case; `given` are the fields the caller set."""

    category: str
    priority: str
    department: str
    given: frozenset[str]
    tags: list[str] = field(default_factory=list)
    complex: bool = False
    owner: str = ""
    strategy: str = ""
    # field -> who set it: "rule", "urgency", "model", "route"
    set_by: dict[str, str] = field(default_factory=dict)
    events: list[CaseEvent] = field(default_factory=list)
    suggestion: Suggestion | None = None
    turn: int | None = None
    product_line: str = ""


def _facts(case: Case, snap: Snapshot) -> tuple[Facts, str]:
    customer = case.customer
    product_line = ""
    if snap.needs_product_line and case.product_sku:
        product = product_by_sku(case.product_sku)
        product_line = product.product_line if product is not None else ""
    facts = Facts(
        kind=case.kind,
        channel=case.channel,
        subject=case.subject,
        body=case.description,
        segment=snap.segment_codes.get(customer.segment_id or 0, ""),
        vip=customer.is_vip,
        amount=case.amount,
        product_line=product_line,
        language=customer.language,
    )
    return facts, product_line


def _event(case: Case, at: datetime, type: str, **values: Any) -> CaseEvent:
    return CaseEvent(case=case, at=at, actor=None, type=type, **values)


def _apply_rules(case: Case, facts: Facts, snap: Snapshot, d: Decision, at: datetime) -> None:
    for rule in rules_evaluate(snap.rules, facts):
        actions = rule.actions
        applied: dict[str, Any] = {}
        free = {n for n in ("category", "priority", "department") if n not in d.given}
        if rule.overrides_caller:
            free = {"category", "priority", "department"}

        def settable(name: str, free: set[str] = free) -> bool:
            return name in free

        if actions.category and settable("category") and actions.category in snap.category_ids:
            applied["category"] = [d.category or None, actions.category]
            d.category = actions.category
            d.set_by["category"] = "rule"
        if actions.priority and settable("priority"):
            applied["priority"] = [d.priority, actions.priority]
            d.priority = actions.priority
            d.set_by["priority"] = "rule"
        team = actions.department or actions.assign_team
        if team and settable("department") and team in snap.department_ids:
            applied["department"] = [d.department or None, team]
            d.department = team
            d.set_by["department"] = "rule"
        new_tags = [t for t in actions.tags if t not in d.tags]
        if new_tags:
            d.tags.extend(new_tags)
            applied["tags"] = new_tags
        if actions.complex and not (case.is_complex or d.complex):
            d.complex = True
            applied["is_complex"] = [False, True]
        if actions.assign_to and actions.assign_to in snap.user_ids:
            applied["owner"] = [None, actions.assign_to]
            d.owner, d.strategy = actions.assign_to, Strategy.RULE
        d.events.append(
            _event(
                case,
                at,
                EventType.TRIAGE_RULE_APPLIED,
                payload={"rule": rule.id, "name": rule.name, "changes": applied, "stop": rule.stop},
            )
        )


def _apply_urgency(case: Case, snap: Snapshot, d: Decision, at: datetime) -> None:
    urgency = urgency_detect(
        f"{case.subject}\n{case.description}",
        urgent_words=snap.urgent_words,
        negative_words=snap.negative_words,
        negative_min=snap.negative_min,
    )
    if not urgency.urgent:
        return
    applies = "priority" not in d.given and "priority" not in d.set_by
    old = d.priority
    if applies:
        d.priority = Priority.URGENT
        d.set_by["priority"] = "urgency"
    d.events.append(
        _event(
            case,
            at,
            EventType.TRIAGE_URGENT,
            field="priority",
            old=old,
            new=Priority.URGENT if applies else old,
            payload={
                "words": list(urgency.words),
                "negative": list(urgency.negative),
                "applied": applies,
            },
        )
    )


def _apply_model(case: Case, snap: Snapshot, d: Decision, at: datetime) -> None:
    category_open = "category" not in d.given and "category" not in d.set_by
    priority_open = "priority" not in d.given and "priority" not in d.set_by
    predictor = snap.predictor
    if predictor is None or not (category_open or priority_open):
        if category_open and not d.category:
            d.suggestion = Suggestion(case=case, created_at=at)
        return
    prediction = predictor.predict(case.subject, case.description)
    applied: list[str] = []
    known = [(c, p) for c, p in prediction.categories if c in snap.category_ids]
    if category_open:
        if known and known[0][1] >= snap.threshold:
            d.category = known[0][0]
            d.set_by["category"] = "model"
            applied.append("category")
        elif not d.category:
            d.suggestion = Suggestion(
                case=case,
                model_version=snap.model_version,
                categories=[{"code": c, "p": p} for c, p in known[:3]],
                priorities=[{"code": c, "p": p} for c, p in prediction.priorities[:3]],
                created_at=at,
            )
    if (
        priority_open
        and prediction.priority_p >= snap.threshold
        and prediction.priority in Priority.values
        and prediction.priority != d.priority
    ):
        d.priority = prediction.priority
        d.set_by["priority"] = "model"
        applied.append("priority")
    d.events.append(
        _event(
            case,
            at,
            EventType.TRIAGE_CLASSIFIED,
            payload={
                "model": snap.model_version,
                "category": prediction.category,
                "category_p": prediction.category_p,
                "priority": prediction.priority,
                "priority_p": prediction.priority_p,
                "top": [[c, p] for c, p in known[:3]],
                "threshold": snap.threshold,
                "applied": applied,
            },
        )
    )


def _apply_route(case: Case, snap: Snapshot, d: Decision, at: datetime) -> None:
    if "department" in d.given or "department" in d.set_by:
        return
    route = route_find(snap.routes, kind=case.kind, category=d.category)
    if route is None or route.department == d.department:
        return
    if route.department not in snap.department_ids:
        return
    d.events.append(
        _event(
            case,
            at,
            EventType.TRIAGE_ROUTED,
            field="department",
            old=d.department or None,
            new=route.department,
            payload={"kind": case.kind, "category": d.category or None},
        )
    )
    d.department = route.department
    d.set_by["department"] = "route"


def _apply_assignment(
    case: Case, snap: Snapshot, d: Decision, at: datetime, product_line: str
) -> int | None:
    if d.owner:
        d.turn = None
        return snap.user_ids[d.owner]
    if case.owner_id is not None:
        return None
    choice = assignment.assign_pick(
        case=case,
        snap=snap,
        department_id=snap.department_ids.get(d.department),
        product_line=product_line,
        at=at,
    )
    if choice is None:
        return None
    d.owner, d.strategy, d.turn = choice.agent.username, choice.strategy, choice.turn
    return choice.agent.user_id


def triage_case_decide(*, case: Case, data: CaseInput | None = None, at: datetime) -> Decision:
    """Triage a new case before it is saved: rules, urgency words, the model and routing.

    Reads only (configuration comes from the per-process snapshot), so case creation runs it
    before its write transaction. The unsaved `case` gets the category, priority, department
    and complexity decided; `data` tells which fields the caller set (they win, see the module
    docstring). The decision's suggestion is written by `triage_case_record`, its events and
    tags by `case_create`, the owner is picked by `triage_case_assign`.
    """
    given = frozenset(
        name
        for name in ("category", "priority", "department")
        if data is not None and getattr(data, name)
    )
    snap = snapshot()
    d = Decision(
        category=snap.category_codes.get(case.category_id or 0, ""),
        priority=case.priority,
        department=snap.department_codes.get(case.department_id or 0, ""),
        given=given,
    )
    original = (d.category, d.priority, d.department)
    facts, d.product_line = _facts(case, snap)
    _apply_rules(case, facts, snap, d, at)
    _apply_urgency(case, snap, d, at)
    _apply_model(case, snap, d, at)
    _apply_route(case, snap, d, at)
    if d.category != original[0]:
        case.category = snap.categories[d.category]
    if d.priority != original[1]:
        case.priority = d.priority
    if d.department != original[2]:
        case.department = snap.departments[d.department]
    if d.complex:
        case.is_complex = True
    return d


def triage_case_assign(*, case: Case, decision: Decision, at: datetime) -> None:
    """Pick the new case's owner (inside the creating transaction, before the case row is
    written: the assignment's lock and load count keep the cap under concurrency)."""
    d = decision
    owner_id = _apply_assignment(case, snapshot(), d, at, d.product_line)
    if owner_id is None:
        return
    case.owner_id = owner_id
    if d.strategy != Strategy.RULE:
        assignment.assign_mark(user_id=owner_id, at=at, turn=d.turn)
    d.events.append(
        _event(
            case,
            at,
            EventType.ASSIGNED,
            field="owner",
            old=None,
            new=d.owner,
            payload={"strategy": d.strategy, "by": "triage"},
        )
    )


def triage_case_record(*, case: Case, decision: Decision) -> None:
    """After the case row is written: the suggestion for needs-triage. (The decision's events
    and tags go in with the case's own, see `case_create`.)"""
    if decision.suggestion is not None:
        decision.suggestion.case_id = case.pk
        fastsql.insert([decision.suggestion])
