"""The triage configuration as each process holds it: rules, routes, agents, the model.

Case creation must not pay for configuration: the snapshot is built once and reused until
the configuration changes. Every triage service that changes configuration bumps
`TriageSettings.version` and clears this process's copy; other processes notice the new
version at their next check, at most TRIAGE_CACHE_SECONDS later (one single-row read). The
fitted model is kept separately, keyed by its version, so editing a rule never reloads it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F

from afterdesk.accounts.models import Department
from afterdesk.cases.models import Category
from afterdesk.core.configcache import ConfigCache
from afterdesk.customers.models import Segment
from afterdesk.triage import scorer
from afterdesk.triage.choices import AssignmentMode
from afterdesk.triage.engine import (
    Actions,
    CompiledRule,
    RouteRow,
    ShiftSpan,
    compile_pattern,
    word_list,
)
from afterdesk.triage.models import (
    AgentProfile,
    ClassifierModel,
    Route,
    Rule,
    Shift,
    TriageSettings,
)


@dataclass(frozen=True)
class Agent:
    user_id: int
    username: str
    languages: frozenset[str]
    product_lines: frozenset[str]
    # None: no cap.
    cap: int | None
    away: bool
    shifts: tuple[ShiftSpan, ...]


@dataclass
class Snapshot:
    version: int
    threshold: float
    mode: str
    urgent_words: tuple[str, ...]
    negative_words: tuple[str, ...]
    negative_min: int
    rules: list[CompiledRule]
    routes: list[RouteRow]
    categories: dict[str, Category]
    departments: dict[str, Department]
    category_ids: dict[str, int]
    category_codes: dict[int, str]
    department_ids: dict[str, int]
    department_codes: dict[int, str]
    segment_codes: dict[int, str]
    user_ids: dict[str, int]
    # Department id -> the agents who receive its cases automatically.
    agents: dict[int, list[Agent]]
    agents_by_id: dict[int, Agent]
    model_id: int | None
    model_version: int | None
    needs_product_line: bool = False
    predictor: scorer.Predictor | None = field(default=None, repr=False)


_lock = threading.Lock()
# The snapshot last built, kept across TTL reloads while the version stays the same; the
# loaded models by (id, created_at), which survive configuration changes.
_held: dict[str, Any] = {}
logger = logging.getLogger(__name__)
_models: dict[tuple[int, str], scorer.Predictor] = {}


def _load() -> Snapshot:
    held: Snapshot | None = _held.get("snapshot")
    version = TriageSettings.objects.filter(pk=1).values_list("version", flat=True).first()
    if held is not None and held.version == version:
        return held
    built = _build()
    _held["snapshot"] = built
    return built


class _TriageCache(ConfigCache[Snapshot]):
    def clear(self) -> None:
        super().clear()
        _held.pop("snapshot", None)


_cache = _TriageCache(
    "triage",
    _load,
    models=(
        "triage.TriageSettings",
        "triage.Rule",
        "triage.Route",
        "triage.AgentProfile",
        "triage.Shift",
        "triage.ClassifierModel",
        "cases.Category",
        "accounts.Department",
        "accounts.User",
        "customers.Segment",
    ),
    ttl=float(getattr(settings, "TRIAGE_CACHE_SECONDS", 5.0)),
)


def triage_cache_clear() -> None:
    """Forget this process's copy (after a configuration change)."""
    _cache.clear()


def config_changed() -> None:
    """Call inside the transaction of every configuration change: other processes see the new
    version at their next check; this one rebuilds now and again after the commit."""
    TriageSettings.objects.filter(pk=1).update(version=F("version") + 1)
    transaction.on_commit(triage_cache_clear)
    triage_cache_clear()


def settings_row() -> TriageSettings:
    row, _created = TriageSettings.objects.get_or_create(pk=1)
    return row


def snapshot() -> Snapshot:
    """The current configuration: no query while the copy is fresh, one single-row version
    read after TRIAGE_CACHE_SECONDS, a rebuild when the configuration changed."""
    return _cache.get()


def _agents() -> tuple[dict[int, list[Agent]], dict[int, Agent]]:
    profiles = list(
        AgentProfile.objects.filter(auto_assign=True, user__is_active=True)
        .select_related("user")
        .prefetch_related("user__departments")
    )
    shifts: dict[int, list[ShiftSpan]] = {}
    for shift in Shift.objects.filter(profile__in=profiles).order_by("weekday", "start"):
        shifts.setdefault(shift.profile_id, []).append(
            ShiftSpan(shift.weekday, shift.start, shift.end)
        )
    default_cap = settings_row().default_max_open
    by_department: dict[int, list[Agent]] = {}
    by_id: dict[int, Agent] = {}
    for profile in profiles:
        user = profile.user
        if user.role in ("customer", "integration"):
            continue
        cap = profile.max_open if profile.max_open is not None else default_cap
        agent = Agent(
            user_id=user.pk,
            username=user.username,
            languages=frozenset(profile.languages or []),
            product_lines=frozenset(profile.product_lines or []),
            cap=cap or None,
            away=profile.is_away,
            shifts=tuple(shifts.get(profile.pk, ())),
        )
        by_id[user.pk] = agent
        for department in user.departments.all():
            by_department.setdefault(department.pk, []).append(agent)
    for agents in by_department.values():
        agents.sort(key=lambda a: a.user_id)
    return by_department, by_id


def _build() -> Snapshot:
    row = settings_row()
    category_rows = {
        c.code: c for c in Category.objects.filter(is_active=True).select_related("parent")
    }
    department_rows = {d.code: d for d in Department.objects.filter(is_active=True)}
    categories = [(c.pk, code) for code, c in category_rows.items()]
    departments = [(d.pk, code) for code, d in department_rows.items()]
    rules: list[CompiledRule] = []
    user_ids: dict[str, int] = {}
    for rule in Rule.objects.filter(is_active=True).select_related(
        "set_category", "set_department", "assign_to", "assign_team"
    ):
        if rule.assign_to is not None:
            user_ids[rule.assign_to.username] = rule.assign_to_id  # type: ignore[assignment]
        rules.append(
            CompiledRule(
                id=rule.pk,
                name=rule.name,
                kinds=frozenset(rule.kinds or []),
                channels=frozenset(rule.channels or []),
                keywords=tuple(w.lower() for w in rule.keywords or [] if w),
                pattern=compile_pattern(rule.pattern) if rule.pattern else None,
                segments=frozenset(rule.segments or []),
                vip=rule.vip,
                amount_min=rule.amount_min,
                amount_max=rule.amount_max,
                product_lines=frozenset(rule.product_lines or []),
                languages=frozenset(rule.languages or []),
                actions=Actions(
                    category=rule.set_category.code if rule.set_category else "",
                    priority=rule.set_priority,
                    department=rule.set_department.code if rule.set_department else "",
                    tags=tuple(rule.add_tags or []),
                    complex=rule.set_complex,
                    assign_to=rule.assign_to.username if rule.assign_to else "",
                    assign_team=rule.assign_team.code if rule.assign_team else "",
                ),
                overrides_caller=rule.overrides_caller,
                stop=rule.stop,
            )
        )
    routes = [
        RouteRow(r.kind, r.category.code if r.category else "", r.department.code)
        for r in Route.objects.select_related("category", "department")
    ]
    agents, agents_by_id = _agents()
    active = (
        ClassifierModel.objects.filter(is_active=True)
        .values_list("pk", "version", "created_at")
        .first()
    )
    model_id, model_version, model_created = active if active else (None, None, None)
    built = Snapshot(
        version=row.version,
        threshold=row.confidence_threshold,
        mode=row.assignment_mode or AssignmentMode.LEAST_LOADED,
        urgent_words=word_list(row.urgent_words),
        negative_words=word_list(row.negative_words),
        negative_min=row.negative_threshold,
        rules=rules,
        routes=routes,
        categories=category_rows,
        departments=department_rows,
        category_ids={code: pk for pk, code in categories},
        category_codes={pk: code for pk, code in categories},
        department_ids={code: pk for pk, code in departments},
        department_codes={pk: code for pk, code in departments},
        segment_codes=dict(Segment.objects.values_list("pk", "code")),
        user_ids=user_ids,
        agents=agents,
        agents_by_id=agents_by_id,
        model_id=model_id,
        model_version=model_version,
        needs_product_line=any(r.needs_product_line for r in rules)
        or any(a.product_lines for a in agents_by_id.values()),
    )
    built.predictor = _predictor(model_id, str(model_created))
    return built


def _predictor(model_id: int | None, stamp: str) -> scorer.Predictor | None:
    """The loaded model, read from the database once per process and model version."""
    if model_id is None:
        return None
    models = _models
    key = (model_id, stamp)
    if key not in models:
        blob = ClassifierModel.objects.filter(pk=model_id).values_list("blob", flat=True).first()
        if blob is None:
            return None
        try:
            predictor = scorer.Predictor(scorer.loads(bytes(blob)))
        except scorer.ModelFormatError:
            # A model this version cannot read predicts nothing: cases wait in "needs
            # triage" until `afterdesk triage train` stores a new one.
            logger.exception("The active triage model %s cannot be loaded", model_id)
            return None
        with _lock:
            # Keep only the newest few: an old model is never needed again.
            for stale in list(models)[:-2]:
                models.pop(stale, None)
            models[key] = predictor
    return models[key]
