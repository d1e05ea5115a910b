"""Every write of the triage app: configuration (rules, routes, skills, shifts, settings,
models), decisions on cases (on-demand triage, applying a suggestion) and collaboration
(sub-tasks, task force, escalation). Each validates, writes and records in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from afterdesk.accounts.choices import STAFF_ROLES, Role
from afterdesk.accounts.models import Department, User
from afterdesk.cases.choices import Channel, EventType, Kind, Priority, Status
from afterdesk.cases.events import event_record
from afterdesk.cases.models import Case, CaseEvent, Category
from afterdesk.core.text import has_control_characters, single_line
from afterdesk.customers.choices import Language
from afterdesk.customers.models import Segment
from afterdesk.triage import classifier
from afterdesk.triage.cache import config_changed, settings_row, snapshot
from afterdesk.triage.choices import (
    SUBTASK_ALLOWED,
    AssignmentMode,
    SubTaskStatus,
    TaskForceRole,
    VipMatch,
)
from afterdesk.triage.engine import compile_pattern
from afterdesk.triage.errors import SubTaskTransitionNotAllowed, TrainingRefused, TriageInvalid
from afterdesk.triage.models import (
    AgentProfile,
    ClassifierModel,
    Route,
    Rule,
    Shift,
    SubTask,
    Suggestion,
    TaskForceMember,
    TriageSettings,
)

LIST_MAX = 50
WORD_MAX = 100
PATTERN_MAX = 500
TAGS_MAX = 20
TITLE_MAX = 200
BODY_MAX = 10_000
SHIFTS_MAX = 21


# ---- validation helpers -------------------------------------------------------------------


def _invalid(name: str, message: str, short: str) -> TriageInvalid:
    return TriageInvalid(message, fields={name: short})


def _text(name: str, value: str, *, max_length: int, required: bool = False) -> str:
    if has_control_characters(value):
        raise _invalid(name, _("%s contains control characters.") % name, _("control characters"))
    value = value.strip()
    if required and not value:
        raise _invalid(name, _("%s may not be empty.") % name, _("required"))
    if len(value) > max_length:
        raise _invalid(
            name,
            _("%(field)s is longer than %(max)d characters.") % {"field": name, "max": max_length},
            _("at most %d characters") % max_length,
        )
    return value


def _codes(name: str, values: Sequence[str], allowed: Sequence[str]) -> list[str]:
    cleaned = sorted({v.strip() for v in values if v and v.strip()})
    if len(cleaned) > LIST_MAX:
        raise _invalid(
            name,
            _("%(field)s: at most %(max)d values.") % {"field": name, "max": LIST_MAX},
            _("too many"),
        )
    unknown = [v for v in cleaned if v not in allowed]
    if unknown:
        raise _invalid(
            name,
            _("%(field)s must be among: %(choices)s")
            % {"field": name, "choices": ", ".join(allowed)},
            _("unknown: %s") % ", ".join(unknown),
        )
    return cleaned


def _words(name: str, values: Sequence[str], *, max_items: int = LIST_MAX) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        word = single_line(_text(name, value or "", max_length=WORD_MAX))
        if word:
            seen.setdefault(word, None)
    if len(seen) > max_items:
        raise _invalid(
            name,
            _("%(field)s: at most %(max)d values.") % {"field": name, "max": max_items},
            _("too many"),
        )
    return list(seen)


def _amount(name: str, value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise _invalid(name, _("%s is not a number.") % name, _("must be a number")) from exc
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e10"):
        raise _invalid(name, _("%s must be between 0 and 9,999,999,999.99.") % name, _("range"))
    return amount.quantize(Decimal("0.01"))


def _category(name: str, code: str) -> Category | None:
    if not code:
        return None
    category = Category.objects.filter(code=code, is_active=True).first()
    if category is None:
        raise _invalid(name, _("Unknown category %s.") % code, _("unknown"))
    return category


def _department(name: str, code: str) -> Department | None:
    if not code:
        return None
    department = Department.objects.filter(code=code, is_active=True).first()
    if department is None:
        raise _invalid(name, _("Unknown department %s.") % code, _("unknown"))
    return department


def _staff(name: str, username: str) -> User | None:
    if not username:
        return None
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None or user.role not in STAFF_ROLES or user.role == Role.INTEGRATION:
        raise _invalid(name, _("%s is not an active staff member.") % username, _("unknown"))
    return user


# ---- rules --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleInput:
    name: str
    position: int = 100
    is_active: bool = True
    kinds: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    pattern: str = ""
    segments: tuple[str, ...] = ()
    vip: str = ""
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    product_lines: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    set_category: str = ""
    set_priority: str = ""
    set_department: str = ""
    add_tags: tuple[str, ...] = ()
    set_complex: bool = False
    assign_to: str = ""
    assign_team: str = ""
    overrides_caller: bool = False
    stop: bool = False


def _rule_values(data: RuleInput) -> dict[str, Any]:
    name = single_line(_text("name", data.name, max_length=100, required=True))
    if not 0 <= data.position <= 1_000_000:
        raise _invalid("position", _("position must be between 0 and 1,000,000."), _("range"))
    pattern = _text("pattern", data.pattern, max_length=PATTERN_MAX)
    if pattern:
        try:
            compile_pattern(pattern)
        except re.error as exc:
            raise _invalid(
                "pattern", _("The regular expression is invalid: %s") % exc, _("invalid")
            ) from exc
    if data.vip not in VipMatch.values:
        raise _invalid(
            "vip", _("vip must be one of: %s") % ", ".join(VipMatch.values), _("unknown")
        )
    amount_min = _amount("amount_min", data.amount_min)
    amount_max = _amount("amount_max", data.amount_max)
    if amount_min is not None and amount_max is not None and amount_min > amount_max:
        raise _invalid("amount_max", _("amount_max is below amount_min."), _("below the minimum"))
    if data.set_priority and data.set_priority not in Priority.values:
        raise _invalid(
            "set_priority",
            _("set_priority must be one of: %s") % ", ".join(Priority.values),
            _("unknown"),
        )
    values: dict[str, Any] = {
        "name": name,
        "position": data.position,
        "is_active": data.is_active,
        "kinds": _codes("kinds", data.kinds, Kind.values),
        "channels": _codes("channels", data.channels, Channel.values),
        "keywords": _words("keywords", data.keywords),
        "pattern": pattern,
        "segments": _codes(
            "segments", data.segments, list(Segment.objects.values_list("code", flat=True))
        ),
        "vip": data.vip,
        "amount_min": amount_min,
        "amount_max": amount_max,
        "product_lines": _words("product_lines", data.product_lines),
        "languages": _codes("languages", data.languages, Language.values),
        "set_category": _category("set_category", data.set_category),
        "set_priority": data.set_priority,
        "set_department": _department("set_department", data.set_department),
        "add_tags": _words("add_tags", data.add_tags, max_items=TAGS_MAX),
        "set_complex": data.set_complex,
        "assign_to": _staff("assign_to", data.assign_to),
        "assign_team": _department("assign_team", data.assign_team),
        "overrides_caller": data.overrides_caller,
        "stop": data.stop,
    }
    if any(len(tag) > 50 for tag in values["add_tags"]):
        raise _invalid("add_tags", _("A tag is at most 50 characters."), _("at most 50"))
    acts = ("set_category", "set_priority", "set_department", "add_tags", "set_complex")
    if not any(values[a] for a in (*acts, "assign_to", "assign_team", "stop")):
        raise _invalid(
            "actions",
            _("A rule must do something: set a field, add tags, assign, or stop."),
            _("no action"),
        )
    return values


def _save_rule(rule: Rule, values: dict[str, Any]) -> Rule:
    for name, value in values.items():
        setattr(rule, name, value)
    if Rule.objects.filter(name=values["name"]).exclude(pk=rule.pk).exists():
        raise _invalid("name", _("A rule named %s exists already.") % values["name"], _("taken"))
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as exc:
        raise _invalid(
            "name", _("A rule named %s exists already.") % values["name"], _("taken")
        ) from exc
    config_changed()
    return rule


def rule_create(*, actor: User, data: RuleInput) -> Rule:
    """Add a rule; it takes effect for the next case in every process."""
    values = _rule_values(data)
    with transaction.atomic():
        return _save_rule(Rule(), values)


def rule_update(*, actor: User, rule: Rule, data: RuleInput) -> Rule:
    """Replace a rule's conditions and actions."""
    values = _rule_values(data)
    with transaction.atomic():
        locked = Rule.objects.select_for_update().get(pk=rule.pk)
        return _save_rule(locked, values)


def rule_delete(*, actor: User, rule: Rule) -> None:
    with transaction.atomic():
        Rule.objects.filter(pk=rule.pk).delete()
        config_changed()


def rules_reorder(*, actor: User, names: Sequence[str]) -> list[Rule]:
    """Put the named rules first, in this order (positions 10, 20, …); others follow."""
    with transaction.atomic():
        rules = list(Rule.objects.select_for_update().order_by("position", "id"))
        by_name = {r.name: r for r in rules}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise _invalid("names", _("Unknown rules: %s") % ", ".join(unknown), _("unknown"))
        ordered = [by_name[n] for n in dict.fromkeys(names)]
        ordered += [r for r in rules if r.name not in set(names)]
        for index, rule in enumerate(ordered, start=1):
            rule.position = index * 10
        Rule.objects.bulk_update(ordered, ["position"])
        config_changed()
    return ordered


# ---- routes and settings --------------------------------------------------------------------


def route_save(
    *, actor: User, kind: str, category: str, department: str, position: int = 100
) -> Route:
    """Send cases of this kind and/or category to `department` (replacing an existing route
    for the same kind and category)."""
    if kind and kind not in Kind.values:
        raise _invalid("kind", _("kind must be one of: %s") % ", ".join(Kind.values), _("unknown"))
    category_row = _category("category", category)
    department_row = _department("department", department)
    if department_row is None:
        raise _invalid("department", _("department may not be empty."), _("required"))
    if not kind and category_row is None:
        raise _invalid("category", _("A route needs a kind, a category or both."), _("required"))
    with transaction.atomic():
        route = Route.objects.select_for_update().filter(kind=kind, category=category_row).first()
        if route is None:
            route = Route(kind=kind, category=category_row)
        route.department = department_row
        route.position = position
        route.save()
        config_changed()
    return route


def route_delete(*, actor: User, route: Route) -> None:
    with transaction.atomic():
        Route.objects.filter(pk=route.pk).delete()
        config_changed()


def settings_update(
    *,
    actor: User,
    confidence_threshold: float | None = None,
    assignment_mode: str | None = None,
    default_max_open: int | None = None,
    urgent_words: str | None = None,
    negative_words: str | None = None,
    negative_threshold: int | None = None,
) -> TriageSettings:
    """Change the installation's triage settings; None leaves a value as it is."""
    if confidence_threshold is not None and not 0.0 <= confidence_threshold <= 1.0:
        raise _invalid("confidence_threshold", _("The threshold is between 0 and 1."), _("range"))
    if assignment_mode is not None and assignment_mode not in AssignmentMode.values:
        raise _invalid(
            "assignment_mode",
            _("assignment_mode must be one of: %s") % ", ".join(AssignmentMode.values),
            _("unknown"),
        )
    if default_max_open is not None and not 0 <= default_max_open <= 10_000:
        raise _invalid("default_max_open", _("The cap is between 0 and 10,000."), _("range"))
    if negative_threshold is not None and not 1 <= negative_threshold <= 20:
        raise _invalid("negative_threshold", _("Between 1 and 20 words."), _("range"))
    texts = {"urgent_words": urgent_words, "negative_words": negative_words}
    for name, value in texts.items():
        if value is not None:
            _text(name, value.replace("\n", " ").replace("\r", " "), max_length=10_000)
    with transaction.atomic():
        row = TriageSettings.objects.select_for_update().filter(pk=1).first() or settings_row()
        changes: dict[str, Any] = {
            "confidence_threshold": confidence_threshold,
            "assignment_mode": assignment_mode,
            "default_max_open": default_max_open,
            "urgent_words": urgent_words,
            "negative_words": negative_words,
            "negative_threshold": negative_threshold,
        }
        for name, value in changes.items():
            if value is not None:
                setattr(row, name, value)
        row.save()
        config_changed()
        row.refresh_from_db()
    return row


# ---- agents: skills, caps, shifts, away ----------------------------------------------------


@dataclass(frozen=True)
class ShiftInput:
    weekday: int
    start: time
    end: time


@dataclass(frozen=True)
class ProfileInput:
    languages: tuple[str, ...] = ()
    product_lines: tuple[str, ...] = ()
    max_open: int | None = None
    auto_assign: bool = True
    is_away: bool = False
    shifts: tuple[ShiftInput, ...] | None = None


def _profile_user(user: User) -> None:
    if not user.is_active or user.role not in STAFF_ROLES or user.role == Role.INTEGRATION:
        raise _invalid(
            "user", _("%s is not an active staff member.") % user.username, _("not staff")
        )


def profile_save(*, actor: User, user: User, data: ProfileInput) -> AgentProfile:
    """Set an agent's skills, cap, availability and (when given) weekly shifts."""
    _profile_user(user)
    languages = _codes("languages", data.languages, Language.values)
    product_lines = _words("product_lines", data.product_lines)
    if data.max_open is not None and not 0 <= data.max_open <= 10_000:
        raise _invalid("max_open", _("The cap is between 0 and 10,000."), _("range"))
    shifts = list(data.shifts) if data.shifts is not None else None
    if shifts is not None:
        if len(shifts) > SHIFTS_MAX:
            raise _invalid("shifts", _("At most %d shifts a week.") % SHIFTS_MAX, _("too many"))
        for shift in shifts:
            if not 0 <= shift.weekday <= 6:
                raise _invalid("shifts", _("weekday is 0 (Monday) to 6 (Sunday)."), _("weekday"))
            if shift.start == shift.end:
                raise _invalid("shifts", _("A shift must not start when it ends."), _("empty"))
    with transaction.atomic():
        profile, _created = AgentProfile.objects.select_for_update().get_or_create(user=user)
        profile.languages = languages
        profile.product_lines = product_lines
        profile.max_open = data.max_open
        profile.auto_assign = data.auto_assign
        profile.is_away = data.is_away
        profile.save()
        if shifts is not None:
            Shift.objects.filter(profile=profile).delete()
            Shift.objects.bulk_create(
                [
                    Shift(profile=profile, weekday=s.weekday, start=s.start, end=s.end)
                    for s in shifts
                ]
            )
        config_changed()
    return profile


def away_set(*, actor: User, user: User, away: bool) -> AgentProfile:
    """Mark an agent away (no new cases) or back."""
    _profile_user(user)
    with transaction.atomic():
        profile, _created = AgentProfile.objects.select_for_update().get_or_create(user=user)
        if profile.is_away != away:
            profile.is_away = away
            profile.save(update_fields=["is_away"])
            config_changed()
    return profile


# ---- models -----------------------------------------------------------------------------


def training_samples() -> list[classifier.Sample]:
    """The installation's own history: closed cases with a category, as they were closed."""
    rows = (
        Case.objects.filter(status=Status.CLOSED, category__isnull=False)
        .order_by("id")
        .values_list("subject", "description", "category__code", "priority")
    )
    return [classifier.Sample(s, b, c, p) for s, b, c, p in rows.iterator(chunk_size=5000)]


def model_train(
    *,
    actor: User | None,
    samples: Sequence[classifier.Sample] | None = None,
    activate: bool = True,
) -> ClassifierModel:
    """Train a new model version (on closed cases unless `samples` are given), store it with
    its held-out report, and make it the active one unless `activate` is False."""
    data = list(samples) if samples is not None else training_samples()
    try:
        fitted = classifier.train(data)
    except classifier.TrainingError as exc:
        raise TrainingRefused(str(exc), fields={"cases": str(exc)}) from exc
    blob = classifier.dumps(fitted.pipeline)
    with transaction.atomic():
        latest = ClassifierModel.objects.select_for_update().aggregate(v=Max("version"))["v"]
        if activate:
            ClassifierModel.objects.filter(is_active=True).update(is_active=False)
        model = ClassifierModel.objects.create(
            version=(latest or 0) + 1,
            created_at=timezone.now(),
            trained_by=actor,
            is_active=activate,
            blob=blob,
            sklearn_version=classifier.sklearn_version(),
            train_size=fitted.train_size,
            test_size=fitted.test_size,
            seconds=fitted.seconds,
            report=fitted.report(),
        )
        config_changed()
    return model


def model_activate(*, actor: User | None, model: ClassifierModel) -> ClassifierModel:
    """Make `model` the one every process uses (rolling back to an older version too)."""
    with transaction.atomic():
        ClassifierModel.objects.filter(is_active=True).exclude(pk=model.pk).update(is_active=False)
        ClassifierModel.objects.filter(pk=model.pk).update(is_active=True)
        config_changed()
    model.is_active = True
    return model


# ---- decisions on existing cases -------------------------------------------------------------


def suggestion_apply(*, actor: User, case: Case, category: str, priority: str = "") -> Case:
    """Take a suggestion for a case from "needs triage": set the category (and priority, when
    given), route it to the category's department unless a department was chosen by hand,
    and take the case out of the view."""
    from afterdesk.cases.services import case_update
    from afterdesk.triage.engine import route_find

    category_row = _category("category", category)
    if category_row is None:
        raise _invalid("category", _("category may not be empty."), _("required"))
    if priority and priority not in Priority.values:
        raise _invalid(
            "priority", _("priority must be one of: %s") % ", ".join(Priority.values), _("unknown")
        )
    snap = snapshot()
    changes: dict[str, Any] = {"category": category_row.code}
    if priority:
        changes["priority"] = priority
    route = route_find(snap.routes, kind=case.kind, category=category_row.code)
    manual = CaseEvent.objects.filter(
        case=case, field="department", type=EventType.FIELD_CHANGED
    ).exists()
    if route is not None and not manual and route.department in snap.department_ids:
        changes["department"] = route.department
    now = timezone.now()
    with transaction.atomic():
        locked = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
        updated = case_update(actor=actor, case=locked, version=locked.version, changes=changes)
        Suggestion.objects.filter(case=case, resolved_at__isnull=True).update(
            needs_triage=False, resolved_at=now, resolved_by=actor
        )
    return updated


def case_triage_run(*, actor: User | None, case: Case) -> Case:
    """Run rules, urgency words, the model and routing again on an existing case ("on
    demand"); changes go through `case_update`, so each is an event, and every rule that
    matched is recorded. Unassigned cases are assigned as at intake."""
    from afterdesk.cases.services import case_update
    from afterdesk.triage.hooks import (
        Decision,
        _apply_assignment,
        _apply_model,
        _apply_route,
        _apply_rules,
        _apply_urgency,
        _facts,
    )

    now = timezone.now()
    with transaction.atomic():
        locked = (
            Case.objects.select_for_update(of=("self",))
            .select_related("customer", "category", "department")
            .get(pk=case.pk)
        )
        snap = snapshot()
        d = Decision(
            category=locked.category.code if locked.category else "",
            priority=locked.priority,
            department=locked.department.code if locked.department else "",
            given=frozenset(),
        )
        d.tags = list(locked.tags.values_list("name", flat=True))
        before_tags = list(d.tags)
        facts, product_line = _facts(locked, snap)
        _apply_rules(locked, facts, snap, d, now)
        _apply_urgency(locked, snap, d, now)
        _apply_model(locked, snap, d, now)
        _apply_route(locked, snap, d, now)
        owner_id = _apply_assignment(locked, snap, d, now, product_line)
        changes: dict[str, Any] = {}
        if d.category != (locked.category.code if locked.category else ""):
            changes["category"] = d.category
        if d.priority != locked.priority:
            changes["priority"] = d.priority
        if d.department != (locked.department.code if locked.department else ""):
            changes["department"] = d.department
        if d.complex and not locked.is_complex:
            changes["is_complex"] = True
        if d.tags != before_tags:
            changes["tags"] = d.tags
        if owner_id is not None and owner_id != locked.owner_id:
            changes["owner"] = d.owner
        # The explanations (rules, model, urgency, routing) without the field changes that
        # case_update records itself.
        explanations = [
            e
            for e in d.events
            if e.type in (EventType.TRIAGE_RULE_APPLIED, EventType.TRIAGE_CLASSIFIED)
            or (e.type == EventType.TRIAGE_URGENT and not changes.get("priority"))
        ]
        for event in explanations:
            event.actor = actor
        CaseEvent.objects.bulk_create(explanations)
        if d.suggestion is not None:
            Suggestion.objects.update_or_create(
                case=locked,
                defaults={
                    "model_version": d.suggestion.model_version,
                    "categories": d.suggestion.categories,
                    "priorities": d.suggestion.priorities,
                    "needs_triage": True,
                    "created_at": now,
                    "resolved_at": None,
                    "resolved_by": None,
                },
            )
        if not changes:
            return locked
        if "owner" in changes:
            from afterdesk.triage.assignment import assign_mark

            if d.strategy != "rule":
                assign_mark(user_id=owner_id or 0, at=now, turn=d.turn)
        return case_update(actor=actor, case=locked, version=locked.version, changes=changes)


# ---- collaboration: sub-tasks, task force, escalation ----------------------------------------


@dataclass(frozen=True)
class SubTaskInput:
    department: str
    title: str
    description: str = ""
    owner: str = ""
    due_at: datetime | None = None


def _check_owner_in(department: Department, owner: User | None) -> None:
    if (
        owner is not None
        and owner.role not in (Role.SUPERVISOR, Role.ADMIN)
        and not owner.departments.filter(pk=department.pk).exists()
    ):
        raise _invalid(
            "owner",
            _("%(user)s is not in the %(department)s department.")
            % {"user": owner.username, "department": department.code},
            _("not in the department"),
        )


def subtask_create(*, actor: User, case: Case, data: SubTaskInput) -> SubTask:
    """Hand part of a case to another department (R9): its own owner, due date and status."""
    department = _department("department", data.department)
    if department is None:
        raise _invalid("department", _("department may not be empty."), _("required"))
    title = single_line(_text("title", data.title, max_length=TITLE_MAX, required=True))
    description = _text("description", data.description, max_length=BODY_MAX)
    owner = _staff("owner", data.owner)
    _check_owner_in(department, owner)
    if data.due_at is not None and timezone.is_naive(data.due_at):
        raise _invalid("due_at", _("due_at needs a time zone."), _("time zone"))
    now = timezone.now()
    with transaction.atomic():
        locked = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
        task = SubTask.objects.create(
            case=locked,
            department=department,
            owner=owner,
            title=title,
            description=description,
            due_at=data.due_at,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        event_record(
            case=locked,
            type=EventType.SUBTASK_CREATED,
            at=now,
            actor=actor,
            payload={
                "task": task.pk,
                "title": title,
                "department": department.code,
                "owner": owner.username if owner else None,
                "due_at": data.due_at.isoformat() if data.due_at else None,
            },
        )
        locked.updated_at = now
        locked.save(update_fields=["updated_at"])
    return task


_UNSET: Any = object()


def subtask_update(
    *,
    actor: User,
    task: SubTask,
    status: str = "",
    owner: str | None = _UNSET,
    due_at: datetime | None = _UNSET,
) -> SubTask:
    """Move a sub-task along (open → in progress → done, or cancelled), reassign it or move
    its due date; one event on the parent case lists what changed."""
    if status and status not in SubTaskStatus.values:
        raise _invalid(
            "status", _("status must be one of: %s") % ", ".join(SubTaskStatus.values), _("unknown")
        )
    new_owner = _staff("owner", owner) if owner not in (_UNSET, None, "") else None
    if due_at not in (_UNSET, None) and timezone.is_naive(due_at):
        raise _invalid("due_at", _("due_at needs a time zone."), _("time zone"))
    now = timezone.now()
    with transaction.atomic():
        locked = SubTask.objects.select_for_update().select_related("department").get(pk=task.pk)
        changed: dict[str, list[Any]] = {}
        fields: list[str] = []
        if status and status != locked.status:
            if status not in SUBTASK_ALLOWED[locked.status]:
                raise SubTaskTransitionNotAllowed(
                    _("A sub-task that is “%(status)s” cannot move to “%(to)s”.")
                    % {
                        "status": SubTaskStatus(locked.status).label,
                        "to": SubTaskStatus(status).label,
                    }
                )
            changed["status"] = [locked.status, status]
            locked.status = status
            locked.completed_at = now if status == SubTaskStatus.DONE else None
            fields += ["status", "completed_at"]
        if owner is not _UNSET:
            _check_owner_in(locked.department, new_owner)
            if new_owner is None or new_owner.pk != locked.owner_id:
                changed["owner"] = [
                    locked.owner.username if locked.owner else None,
                    new_owner.username if new_owner else None,
                ]
                locked.owner = new_owner
                fields.append("owner")
        if due_at is not _UNSET and due_at != locked.due_at:
            changed["due_at"] = [
                locked.due_at.isoformat() if locked.due_at else None,
                due_at.isoformat() if due_at else None,
            ]
            locked.due_at = due_at
            fields.append("due_at")
        if not changed:
            return locked
        locked.updated_at = now
        locked.save(update_fields=[*fields, "updated_at"])
        event_record(
            case=locked.case,
            type=EventType.SUBTASK_CHANGED,
            at=now,
            actor=actor,
            payload={"task": locked.pk, "title": locked.title, "changes": changed},
        )
    return locked


def task_force_add(
    *, actor: User, case: Case, user: User, role: str = TaskForceRole.MEMBER, note: str = ""
) -> TaskForceMember:
    """Add a collaborator to the case's task force; flags the case complex (R9)."""
    from afterdesk.cases.services import case_update

    if role not in TaskForceRole.values:
        raise _invalid(
            "role", _("role must be one of: %s") % ", ".join(TaskForceRole.values), _("unknown")
        )
    _profile_user(user)
    note = single_line(_text("note", note, max_length=200))
    now = timezone.now()
    with transaction.atomic():
        locked = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
        member = TaskForceMember.objects.filter(case=locked, user=user).first()
        if member is not None:
            if member.role != role or member.note != note:
                member.role, member.note = role, note
                member.save(update_fields=["role", "note"])
            return member
        member = TaskForceMember.objects.create(
            case=locked, user=user, role=role, note=note, added_by=actor, added_at=now
        )
        event_record(
            case=locked,
            type=EventType.TASK_FORCE_JOINED,
            at=now,
            actor=actor,
            payload={"user": user.username, "role": role, "note": note},
        )
        if not locked.is_complex:
            case_update(
                actor=actor, case=locked, version=locked.version, changes={"is_complex": True}
            )
    return member


def task_force_remove(*, actor: User, case: Case, user: User) -> None:
    now = timezone.now()
    with transaction.atomic():
        locked = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
        deleted, _detail = TaskForceMember.objects.filter(case=locked, user=user).delete()
        if deleted:
            event_record(
                case=locked,
                type=EventType.TASK_FORCE_LEFT,
                at=now,
                actor=actor,
                payload={"user": user.username},
            )


def case_escalate(*, actor: User, case: Case, supervisor: User, reason: str) -> TaskForceMember:
    """Escalate a case to a supervisor: they join its task force as the escalation contact,
    the case is flagged complex and raised to high priority if it was lower (R16)."""
    from afterdesk.cases.services import case_update

    if supervisor.role not in (Role.SUPERVISOR, Role.ADMIN) or not supervisor.is_active:
        raise _invalid(
            "supervisor", _("%s is not a supervisor.") % supervisor.username, _("not a supervisor")
        )
    reason = _text("reason", reason, max_length=1000, required=True)
    now = timezone.now()
    with transaction.atomic():
        locked = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
        if locked.status in (Status.RESOLVED, Status.CLOSED, Status.CANCELLED):
            raise _invalid("case", _("A finished case cannot be escalated."), _("finished"))
        member = task_force_add(
            actor=actor,
            case=locked,
            user=supervisor,
            role=TaskForceRole.SUPERVISOR,
            note=reason[:200],
        )
        event_record(
            case=locked,
            type=EventType.ESCALATED,
            at=now,
            actor=actor,
            payload={"supervisor": supervisor.username, "note": reason},
        )
        locked.refresh_from_db()
        if locked.priority in (Priority.NORMAL, Priority.LOW):
            case_update(
                actor=actor,
                case=locked,
                version=locked.version,
                changes={"priority": Priority.HIGH},
            )
    return member
