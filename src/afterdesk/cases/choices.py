"""Codes of the case and its state machine. Events store these codes, never labels."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    INQUIRY = "inquiry", _("Inquiry")
    REPAIR = "repair", _("Repair")
    RETURN = "return", _("Return")
    EXCHANGE = "exchange", _("Exchange")
    DISPUTE = "dispute", _("Dispute")


class Channel(models.TextChoices):
    WEB = "web", _("Web")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat")
    SOCIAL = "social", _("Social media")
    MARKETPLACE = "marketplace", _("Marketplace")
    API = "api", _("API")


class Priority(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    HIGH = "high", _("High")
    NORMAL = "normal", _("Normal")
    LOW = "low", _("Low")


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING_CUSTOMER = "pending_customer", _("Waiting for customer")
    PENDING_INTERNAL = "pending_internal", _("Waiting internally")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


_WORKING = {Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_INTERNAL}

# The state machine: status -> the statuses it may move to.
# closed -> open is a reopen, allowed only inside the reopen window (CaseSettings).
ALLOWED: dict[str, frozenset[str]] = {
    Status.NEW: frozenset(_WORKING | {Status.RESOLVED, Status.CANCELLED}),
    Status.OPEN: frozenset(_WORKING - {Status.OPEN} | {Status.RESOLVED, Status.CANCELLED}),
    Status.PENDING_CUSTOMER: frozenset(
        _WORKING - {Status.PENDING_CUSTOMER} | {Status.RESOLVED, Status.CANCELLED}
    ),
    Status.PENDING_INTERNAL: frozenset(
        _WORKING - {Status.PENDING_INTERNAL} | {Status.RESOLVED, Status.CANCELLED}
    ),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.OPEN}),
    Status.CLOSED: frozenset({Status.OPEN}),
    Status.CANCELLED: frozenset(),
}

# What a customer may do to their own case: accept the resolution or reopen it.
CUSTOMER_ALLOWED: dict[str, frozenset[str]] = {
    Status.RESOLVED: frozenset({Status.CLOSED, Status.OPEN}),
    Status.CLOSED: frozenset({Status.OPEN}),
}

OPEN_STATUSES = frozenset({Status.NEW, *_WORKING})
DONE_STATUSES = frozenset({Status.RESOLVED, Status.CLOSED, Status.CANCELLED})


class LinkKind(models.TextChoices):
    DUPLICATE_OF = "duplicate_of", _("Duplicate of")
    CHILD_OF = "child_of", _("Child of")
    PART_OF_INCIDENT = "part_of_incident", _("Part of incident")
    RELATED = "related", _("Related to")


class EventType(models.TextChoices):
    CREATED = "case.created", _("Created")
    FIELD_CHANGED = "case.field_changed", _("Field changed")
    STATUS_CHANGED = "case.status_changed", _("Status changed")
    ASSIGNED = "case.assigned", _("Assigned")
    MESSAGE_ADDED = "case.message_added", _("Reply")
    NOTE_ADDED = "case.note_added", _("Internal note")
    ATTACHMENT_ADDED = "case.attachment_added", _("Attachment added")
    LINKED = "case.linked", _("Linked")
    UNLINKED = "case.unlinked", _("Unlinked")
    MERGED = "case.merged", _("Duplicates merged")
    SLA_STARTED = "sla.started", _("SLA clock started")
    SLA_PAUSED = "sla.paused", _("SLA clock paused")
    SLA_RESUMED = "sla.resumed", _("SLA clock resumed")
    SLA_MET = "sla.met", _("SLA target met")
    SLA_WARNING = "sla.warning", _("SLA warning")
    SLA_BREACHED = "sla.breached", _("SLA target breached")
    SLA_RECOMPUTED = "sla.recomputed", _("SLA due time recomputed")
    SLA_ESCALATED = "sla.escalated", _("SLA escalation")
    SLA_CANCELLED = "sla.cancelled", _("SLA clock cancelled")
    TRIAGE_RULE_APPLIED = "triage.rule_applied", _("Triage rule applied")
    TRIAGE_CLASSIFIED = "triage.classified", _("Classified by the model")
    TRIAGE_URGENT = "triage.urgent", _("Graded urgent")
    TRIAGE_ROUTED = "triage.routed", _("Routed")
    SUBTASK_CREATED = "task.created", _("Sub-task created")
    SUBTASK_CHANGED = "task.changed", _("Sub-task changed")
    TASK_FORCE_JOINED = "task_force.joined", _("Joined the task force")
    TASK_FORCE_LEFT = "task_force.left", _("Left the task force")
    ESCALATED = "case.escalated", _("Escalated to a supervisor")
    RMA_CREATED = "rma.created", _("RMA requested")
    RMA_STATE_CHANGED = "rma.state_changed", _("RMA step")
    RMA_ITEM_ADDED = "rma.item_added", _("RMA item added")
    RMA_SHIPMENT_ADDED = "rma.shipment_added", _("Shipment recorded")
    RMA_INSPECTED = "rma.inspected", _("Goods inspected")
    RMA_DIAGNOSED = "rma.diagnosed", _("Repair diagnosis")
    RMA_QUOTE_ANSWERED = "rma.quote_answered", _("Repair quote answered")
    RMA_QUICK_CLOSED = "rma.quick_closed", _("Quick close")
    RMA_DISPOSITION_SET = "rma.disposition_set", _("Disposition set")
    COMPENSATION_PROPOSED = "compensation.proposed", _("Compensation proposed")
    COMPENSATION_APPROVED = "compensation.approved", _("Compensation approved")
    COMPENSATION_REJECTED = "compensation.rejected", _("Compensation rejected")


# Events a customer sees on their own case's timeline.
PUBLIC_EVENT_TYPES = frozenset(
    {EventType.CREATED, EventType.STATUS_CHANGED, EventType.MESSAGE_ADDED}
)

# Fields of a case that PATCH may change, and how the event names them.
EDITABLE_FIELDS = (
    "subject",
    "description",
    "kind",
    "priority",
    "category",
    "department",
    "owner",
    "order_ref",
    "product_sku",
    "serial",
    "amount",
    "currency",
    "tags",
    "is_complex",
)
