"""Codes to words for the workspace: event descriptions, change lists, transition buttons.

Events store codes (status `pending_customer`, owner `li.na`, category `product.doa`); the
pages show labels in the reader's language. Views build these display values; templates only
print them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from afterdesk.cases import sla_bridge
from afterdesk.cases.choices import Channel, EventType, Kind, LinkKind, Priority, Status
from afterdesk.cases.models import Attachment, Case, CaseEvent, Message
from afterdesk.customers.choices import VipTier

CHOICE_LABELS: dict[str, dict[str, Any]] = {
    "status": dict(Status.choices),
    "kind": dict(Kind.choices),
    "priority": dict(Priority.choices),
    "channel": dict(Channel.choices),
}

# What the button that moves a case to a status says.
TRANSITION_VERBS = {
    Status.OPEN: gettext_lazy("Start working"),
    Status.PENDING_CUSTOMER: gettext_lazy("Wait for customer"),
    Status.PENDING_INTERNAL: gettext_lazy("Wait internally"),
    Status.RESOLVED: gettext_lazy("Resolve"),
    Status.CLOSED: gettext_lazy("Close"),
    Status.CANCELLED: gettext_lazy("Cancel case"),
}


class ChoiceLabels:
    """Labels of the case and customer codes in the active language, translated once.

    A list of fifty cases would otherwise translate every label of a field for each row
    (Model.get_FOO_display hashes the whole choice list on each call).
    """

    def __init__(self) -> None:
        self.status = {code: str(label) for code, label in Status.choices}
        self.kind = {code: str(label) for code, label in Kind.choices}
        self.priority = {code: str(label) for code, label in Priority.choices}
        self.vip = {code: str(label) for code, label in VipTier.choices}

    def of_case(self, case: Case) -> dict[str, str]:
        return {
            "status_label": self.status.get(case.status, case.status),
            "kind_label": self.kind.get(case.kind, case.kind),
            "priority_label": self.priority.get(case.priority, case.priority),
            "vip_label": self.vip.get(case.customer.vip_tier, "") if case.customer.is_vip else "",
        }


@dataclass(frozen=True)
class Lookups:
    """Labels of the codes that live in tables: categories, departments, staff."""

    categories: dict[str, str] = field(default_factory=dict)
    departments: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)


def field_label(name: str) -> str:
    if name == "links":
        return _("Links")
    if name == "tags":
        return _("Tags")
    try:
        field = Case._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    return capfirst(str(getattr(field, "verbose_name", name)))


def value_label(name: str, value: Any, lookups: Lookups) -> str:
    """A stored code as the reader's word; empty values as an em dash."""
    if value in (None, "", []):
        return "—"
    if name in CHOICE_LABELS:
        return str(CHOICE_LABELS[name].get(value, value))
    if name == "category":
        return lookups.categories.get(value, str(value))
    if name == "department":
        return lookups.departments.get(value, str(value))
    if name == "owner":
        return lookups.people.get(value, str(value))
    if name == "is_complex":
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def transition_label(current: str, to: str) -> str:
    if to == Status.OPEN and current in (Status.RESOLVED, Status.CLOSED):
        return _("Reopen")
    return str(TRANSITION_VERBS.get(Status(to), Status(to).label))


@dataclass(frozen=True)
class Change:
    """One field change as the conflict message lists it."""

    field: str
    label: str
    old: str
    new: str
    by: str
    at: datetime


def change_of(event: CaseEvent, lookups: Lookups) -> Change:
    return Change(
        field=event.field,
        label=field_label(event.field),
        old=value_label(event.field, event.old, lookups),
        new=value_label(event.field, event.new, lookups),
        by=actor_name(event),
        at=event.at,
    )


def actor_name(event: CaseEvent) -> str:
    if event.by_customer:
        return _("Customer")
    if event.actor is None:
        return _("System")
    return event.actor.display_name


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the case page's timeline: a message, or an event described in words."""

    id: int
    type: str
    at: datetime
    actor: str
    text: str = ""
    note: str = ""
    message: Message | None = None
    attachments: list[Attachment] = field(default_factory=list)
    internal: bool = False
    from_customer: bool = False


def describe(event: CaseEvent, lookups: Lookups) -> str:
    payload = event.payload or {}
    if event.type == EventType.CREATED:
        return _("Opened by %(channel)s") % {
            "channel": value_label("channel", payload.get("channel"), lookups)
        }
    if event.type == EventType.STATUS_CHANGED:
        return _("Status: %(old)s → %(new)s") % {
            "old": value_label("status", event.old, lookups),
            "new": value_label("status", event.new, lookups),
        }
    if event.type == EventType.ASSIGNED:
        if not event.new:
            return _("Unassigned")
        return _("Assigned to %s") % value_label("owner", event.new, lookups)
    if event.type == EventType.FIELD_CHANGED:
        return _("%(field)s: %(old)s → %(new)s") % {
            "field": field_label(event.field),
            "old": value_label(event.field, event.old, lookups),
            "new": value_label(event.field, event.new, lookups),
        }
    if event.type == EventType.ATTACHMENT_ADDED:
        return _("File added: %s") % payload.get("filename", "")
    if event.type in (EventType.LINKED, EventType.UNLINKED):
        link = event.new if isinstance(event.new, dict) else event.old or {}
        kind = dict(LinkKind.choices).get(link.get("kind", ""), link.get("kind", ""))
        template = _("Linked: %(kind)s %(number)s")
        if event.type == EventType.UNLINKED:
            template = _("Unlinked: %(kind)s %(number)s")
        return template % {"kind": kind, "number": link.get("target", "")}
    if event.type.startswith("sla.") and payload.get("metric"):
        return _("%(event)s: %(metric)s") % {
            "event": dict(EventType.choices).get(event.type, event.type),
            "metric": sla_bridge.metric_label(str(payload["metric"])),
        }
    if event.type == EventType.MERGED:
        return _("Duplicates merged into this case: %s") % ", ".join(payload.get("duplicates", []))
    if event.type.startswith(("rma.", "compensation.")):
        from afterdesk.rma.display import describe_event as describe_rma_event

        return describe_rma_event(event)
    if event.type.startswith(("triage.", "task.", "task_force.")) or (
        event.type == EventType.ESCALATED
    ):
        from afterdesk.triage.display import describe_event

        return describe_event(event, lookups)
    return str(dict(EventType.choices).get(event.type, event.type))


def timeline(
    events: list[CaseEvent], messages: dict[int, Message], lookups: Lookups
) -> list[TimelineEntry]:
    """Events in order, each message in place of the event that recorded it.

    Attachments added with a message are shown on the message, not as separate events.
    """
    entries: list[TimelineEntry] = []
    with_message = {a.pk for m in messages.values() for a in m.attachments.all()}
    for event in events:
        payload = event.payload or {}
        if event.type in (EventType.MESSAGE_ADDED, EventType.NOTE_ADDED):
            message = messages.get(payload.get("message", 0))
            if message is None:
                continue
            entries.append(
                TimelineEntry(
                    id=event.pk,
                    type=event.type,
                    at=event.at,
                    actor=actor_name(event),
                    message=message,
                    attachments=list(message.attachments.all()),
                    internal=message.internal,
                    from_customer=message.from_customer,
                )
            )
            continue
        if event.type == EventType.ATTACHMENT_ADDED and payload.get("attachment") in with_message:
            continue
        entries.append(
            TimelineEntry(
                id=event.pk,
                type=event.type,
                at=event.at,
                actor=actor_name(event),
                text=describe(event, lookups),
                note=str(payload.get("note", "")),
            )
        )
    return entries
