"""Codes of the triage app. Events and payloads store these codes, never labels."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class VipMatch(models.TextChoices):
    ANY = "", _("Any customer")
    VIP = "vip", _("VIP customers only")
    REGULAR = "regular", _("Regular customers only")


class Strategy(models.TextChoices):
    """How triage picked the owner of a case (stored on the assignment event)."""

    RULE = "rule", _("Triage rule")
    CONTINUITY = "continuity", _("Owner continuity")
    VIP_AGENT = "vip_agent", _("Dedicated VIP agent")
    SKILLS = "skills", _("Skills, least loaded")
    LEAST_LOADED = "least_loaded", _("Least loaded")
    ROUND_ROBIN = "round_robin", _("Round robin")


class AssignmentMode(models.TextChoices):
    LEAST_LOADED = "least_loaded", _("Least loaded, ties by round robin")
    ROUND_ROBIN = "round_robin", _("Round robin")
    OFF = "off", _("Do not assign automatically")


class SubTaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


SUBTASK_ALLOWED: dict[str, frozenset[str]] = {
    SubTaskStatus.OPEN: frozenset(
        {SubTaskStatus.IN_PROGRESS, SubTaskStatus.DONE, SubTaskStatus.CANCELLED}
    ),
    SubTaskStatus.IN_PROGRESS: frozenset(
        {SubTaskStatus.OPEN, SubTaskStatus.DONE, SubTaskStatus.CANCELLED}
    ),
    SubTaskStatus.DONE: frozenset({SubTaskStatus.IN_PROGRESS}),
    SubTaskStatus.CANCELLED: frozenset(),
}
SUBTASK_OPEN = frozenset({SubTaskStatus.OPEN, SubTaskStatus.IN_PROGRESS})


class TaskForceRole(models.TextChoices):
    LEAD = "lead", _("Lead")
    MEMBER = "member", _("Member")
    SUPERVISOR = "supervisor", _("Supervisor (escalation)")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")
