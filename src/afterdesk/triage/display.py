"""Triage and collaboration events in words, for the case timeline and the "why" panel.

Events store codes; this turns them into the reader's language with the labels the case
page already loaded (`cases.display.Lookups`)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from afterdesk.cases.choices import EventType, Priority
from afterdesk.cases.display import Lookups, field_label, value_label
from afterdesk.cases.models import CaseEvent
from afterdesk.triage.choices import Strategy, SubTaskStatus, TaskForceRole

TYPES = frozenset(
    {
        EventType.TRIAGE_RULE_APPLIED,
        EventType.TRIAGE_CLASSIFIED,
        EventType.TRIAGE_URGENT,
        EventType.TRIAGE_ROUTED,
        EventType.SUBTASK_CREATED,
        EventType.SUBTASK_CHANGED,
        EventType.TASK_FORCE_JOINED,
        EventType.TASK_FORCE_LEFT,
        EventType.ESCALATED,
    }
)


def percent(p: Any) -> str:
    try:
        return f"{round(float(p) * 100)} %"
    except (TypeError, ValueError):
        return "—"


def _priority(code: Any) -> str:
    return str(dict(Priority.choices).get(code, code or "—"))


def _changes(changes: dict[str, Any], lookups: Lookups) -> str:
    parts: list[str] = []
    for name, value in changes.items():
        if name == "tags":
            parts.append(_("tags + %s") % ", ".join(str(v) for v in value))
            continue
        if name == "team":
            name = "department"
        new = value[-1] if isinstance(value, list) else value
        parts.append(f"{field_label(name)} = {value_label(name, new, lookups)}")
    return "; ".join(parts)


def describe_event(event: CaseEvent, lookups: Lookups) -> str:
    """One line about a triage or collaboration event."""
    payload = event.payload or {}
    kind = event.type
    if kind == EventType.TRIAGE_RULE_APPLIED:
        changes = _changes(payload.get("changes") or {}, lookups)
        if not changes:
            return _("Rule “%s” matched (the values given when the case was opened stay)") % (
                payload.get("name", "")
            )
        return _("Rule “%(name)s” set %(changes)s") % {
            "name": payload.get("name", ""),
            "changes": changes,
        }
    if kind == EventType.TRIAGE_CLASSIFIED:
        values = {
            "version": payload.get("model", "?"),
            "category": value_label("category", payload.get("category"), lookups),
            "p": percent(payload.get("category_p")),
            "priority": _priority(payload.get("priority")),
            "pp": percent(payload.get("priority_p")),
        }
        text = (
            _("Model v%(version)s: %(category)s (%(p)s), priority %(priority)s (%(pp)s)") % values
        )
        applied = payload.get("applied") or []
        if applied:
            return text + " — " + _("applied: %s") % ", ".join(field_label(f) for f in applied)
        return text + " — " + _("below the threshold of %s") % percent(payload.get("threshold"))
    if kind == EventType.TRIAGE_URGENT:
        words = ", ".join([*payload.get("words", []), *payload.get("negative", [])])
        if payload.get("applied"):
            return _("Graded urgent because of: %s") % words
        return _("Urgent words found (priority kept as set): %s") % words
    if kind == EventType.TRIAGE_ROUTED:
        return _("Routed to %s") % value_label("department", event.new, lookups)
    if kind == EventType.SUBTASK_CREATED:
        return _("Sub-task for %(department)s: %(title)s") % {
            "department": value_label("department", payload.get("department"), lookups),
            "title": payload.get("title", ""),
        }
    if kind == EventType.SUBTASK_CHANGED:
        changed: dict[str, Any] = payload.get("changes") or {}
        parts: list[str] = []
        if "status" in changed:
            status = changed["status"][-1]
            parts.append(str(dict(SubTaskStatus.choices).get(status, status)))
        if "owner" in changed:
            parts.append(_("owner %s") % value_label("owner", changed["owner"][-1], lookups))
        if "due_at" in changed:
            parts.append(_("new due date"))
        return _("Sub-task “%(title)s”: %(changes)s") % {
            "title": payload.get("title", ""),
            "changes": ", ".join(parts),
        }
    if kind == EventType.TASK_FORCE_JOINED:
        return _("%(user)s joined the task force (%(role)s)") % {
            "user": value_label("owner", payload.get("user"), lookups),
            "role": dict(TaskForceRole.choices).get(
                str(payload.get("role", "")), payload.get("role")
            ),
        }
    if kind == EventType.TASK_FORCE_LEFT:
        return _("%s left the task force") % value_label("owner", payload.get("user"), lookups)
    if kind == EventType.ESCALATED:
        return _("Escalated to %(user)s: %(note)s") % {
            "user": value_label("owner", payload.get("supervisor"), lookups),
            "note": payload.get("note", ""),
        }
    return str(dict(EventType.choices).get(kind, kind))


def strategy_label(code: str) -> str:
    return str(dict(Strategy.choices).get(code, code))
