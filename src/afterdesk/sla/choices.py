"""Codes of the SLA engine. Events and reports store these codes, never labels."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarKind(models.TextChoices):
    WEEKLY = "weekly", _("Weekly working hours")
    ALWAYS = "24x7", _("24×7")


class Metric(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    FIRST_FEEDBACK = "first_feedback", _("First feedback")
    SOLUTION_PLAN = "solution_plan", _("Solution plan")
    RESOLUTION = "resolution", _("Resolution")
    DIAGNOSIS = "diagnosis", _("Diagnosis after receipt")
    RECEIPT_CONFIRMATION = "receipt_confirmation", _("Receipt confirmation")


# Started when the case is opened (or when a later change makes a policy match). The RMA
# milestones start their own clocks through `timer_start`.
CASE_METRICS = (
    Metric.FIRST_RESPONSE,
    Metric.FIRST_FEEDBACK,
    Metric.SOLUTION_PLAN,
    Metric.RESOLUTION,
)
RMA_METRICS = (Metric.DIAGNOSIS, Metric.RECEIPT_CONFIRMATION)


class TimerState(models.TextChoices):
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    # Past due and acted on (notified, escalated); the clock keeps running until met.
    BREACHED = "breached", _("Breached")
    MET = "met", _("Met")
    CANCELLED = "cancelled", _("Cancelled")


# A case has at most one live timer per metric.
LIVE_STATES = (TimerState.RUNNING, TimerState.PAUSED, TimerState.BREACHED)
TICKING_STATES = (TimerState.RUNNING, TimerState.BREACHED)


class Action(models.TextChoices):
    NOTIFY_OWNER = "notify_owner", _("Notify the owner")
    NOTIFY_SUPERVISOR = "notify_supervisor", _("Notify the supervisor")
    RAISE_PRIORITY = "raise_priority", _("Raise the priority")
    REASSIGN_TO_SUPERVISOR = "reassign_to_supervisor", _("Reassign to the supervisor")
    ESCALATION_QUEUE = "escalation_queue", _("Move to the escalation queue")


NOTIFY_ACTIONS = frozenset({Action.NOTIFY_OWNER, Action.NOTIFY_SUPERVISOR})
ESCALATION_ACTIONS = frozenset(
    {Action.RAISE_PRIORITY, Action.REASSIGN_TO_SUPERVISOR, Action.ESCALATION_QUEUE}
)


class QueueFilter(models.TextChoices):
    """`GET /api/v1/cases?sla=…`"""

    OVERDUE = "overdue", _("Overdue")
    DUE_SOON = "due_soon", _("Breaching within the hour")
    ESCALATED = "escalated", _("Escalation queue")
