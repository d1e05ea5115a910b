"""Business calendars, SLA policies with their targets, and the timers of cases."""

from __future__ import annotations

import re
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

from afterdesk.cases.choices import Channel, Kind, Priority, Status
from afterdesk.sla.choices import LIVE_STATES, Action, CalendarKind, Metric, TimerState
from afterdesk.sla.countries import source_is_valid

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(_("Unknown time zone %(value)s."), params={"value": value}) from exc


def validate_holiday_source(value: str) -> None:
    if not source_is_valid(value):
        raise ValidationError(
            _("Unknown holiday source %(value)s: use cn, a country code such as DE, or DE-BE."),
            params={"value": value},
        )


def validate_date_intervals(value: Any) -> None:
    """[["09:00", "12:00"], ...]: each from before until (an until of 00:00 is midnight)."""
    ok = isinstance(value, list) and all(
        isinstance(pair, list)
        and len(pair) == 2
        and all(isinstance(t, str) and _HHMM.match(t) for t in pair)
        and (pair[0] < pair[1] or pair[1] == "00:00")
        for pair in value
    )
    if not ok:
        raise ValidationError(_('Working hours must look like [["09:00", "12:00"]].'))


_CODE_SETS: dict[str, Any] = {
    "kind": Kind,
    "priority": Priority,
    "channel": Channel,
    "status": Status,
    "action": Action,
}


@deconstructible
class CodeListValidator:
    """A JSON list of codes of one choice set (named, so migrations do not copy the codes)."""

    def __init__(self, code_set: str) -> None:
        self.code_set = code_set

    def __call__(self, value: Any) -> None:
        allowed = _CODE_SETS[self.code_set].values
        if not isinstance(value, list) or any(v not in allowed for v in value):
            raise ValidationError(
                _("A list of codes from: %(allowed)s"), params={"allowed": ", ".join(allowed)}
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CodeListValidator) and other.code_set == self.code_set

    def __hash__(self) -> int:
        return hash(self.code_set)


validate_kinds = CodeListValidator("kind")
validate_priorities = CodeListValidator("priority")
validate_channels = CodeListValidator("channel")
validate_statuses = CodeListValidator("status")
validate_actions = CodeListValidator("action")


def validate_code_list(value: Any) -> None:
    if not isinstance(value, list) or any(not isinstance(v, str) or not v for v in value):
        raise ValidationError(_("A list of codes."))


WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


class BusinessCalendar(models.Model):
    """Working hours in a time zone, with a country's holidays and admins' extra dates.

    `spec` is the compiled form the arithmetic uses (weekly hours, explicit dates, time zone,
    source); `calendar_compile` rebuilds it and bumps `version` whenever the calendar, its
    intervals or its dates change, so a due time never uses a half-edited calendar.
    """

    name = models.SlugField(_("name"), max_length=40, unique=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    tz = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_time_zone]
    )
    kind = models.CharField(
        _("kind"), max_length=10, choices=CalendarKind.choices, default=CalendarKind.WEEKLY
    )
    country = models.CharField(
        _("holidays from"),
        max_length=20,
        blank=True,
        validators=[validate_holiday_source],
        help_text=_(
            "cn: mainland China from chinese-calendar (holidays and make-up working days); "
            "an ISO country code such as DE or US-NY from the holidays package; empty: none."
        ),
    )
    is_default = models.BooleanField(
        _("default calendar"),
        default=False,
        help_text=_("Used by policies without a calendar for departments without one."),
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    spec = models.JSONField(_("compiled calendar"), default=dict, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="sla_one_default_calendar",
            )
        ]

    def __str__(self) -> str:
        return self.name


class WorkingInterval(models.Model):
    """Working hours on one weekday; several per day for a lunch break. An end of 00:00 means
    midnight at the end of the day."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="intervals"
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=WEEKDAYS)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))

    class Meta:
        ordering = ["calendar", "weekday", "start"]
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lt=models.F("end")) | models.Q(end=time(0)),
                name="sla_interval_start_before_end",
            ),
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="sla_weekday_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class CalendarDate(models.Model):
    """An admin's exception for one date: an extra holiday, or an extra working day.

    A working date without intervals has the normal hours of its weekday (the standard day if
    the weekday has none). Intervals are ``[["09:00", "12:00"], ["13:00", "18:00"]]``.
    """

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="dates")
    date = models.DateField(_("date"))
    is_working = models.BooleanField(_("working day"), default=False)
    intervals = models.JSONField(
        _("working hours"), default=list, blank=True, validators=[validate_date_intervals]
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["calendar", "date"]
        verbose_name = _("calendar date")
        verbose_name_plural = _("calendar dates")
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="sla_uniq_calendar_date")
        ]

    def __str__(self) -> str:
        return f"{self.date} {'working' if self.is_working else 'off'}"


class DepartmentCalendar(models.Model):
    """The calendar of a department, used by policies that name no calendar of their own."""

    department = models.OneToOneField(
        "accounts.Department",
        verbose_name=_("department"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="sla_calendar",
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("calendar"),
        on_delete=models.PROTECT,
        related_name="department_links",
    )

    class Meta:
        verbose_name = _("department calendar")
        verbose_name_plural = _("department calendars")

    def __str__(self) -> str:
        return f"{self.department_id}: {self.calendar_id}"


class SlaPolicy(models.Model):
    """Targets for the cases it matches. Empty match lists match anything.

    For each metric, the first active policy in `position` order that matches the case *and*
    has a target for that metric sets the clock; so a catch-all policy at the end can carry the
    common targets while the ones above it override a metric for urgent or complex cases.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=100)
    active = models.BooleanField(_("active"), default=True)
    kinds = models.JSONField(_("case kinds"), default=list, blank=True, validators=[validate_kinds])
    priorities = models.JSONField(
        _("priorities"), default=list, blank=True, validators=[validate_priorities]
    )
    categories = models.JSONField(
        _("categories"),
        default=list,
        blank=True,
        validators=[validate_code_list],
        help_text=_("Category codes; a top-level code matches its subcategories too."),
    )
    channels = models.JSONField(
        _("channels"), default=list, blank=True, validators=[validate_channels]
    )
    segments = models.JSONField(
        _("customer segments"), default=list, blank=True, validators=[validate_code_list]
    )
    is_complex = models.BooleanField(
        _("complex cases"), null=True, blank=True, help_text=_("Empty: any case.")
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("calendar"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="policies",
        help_text=_("Empty: the calendar of the case's department, else the default calendar."),
    )
    pause_statuses = models.JSONField(
        _("pause in statuses"),
        default=list,
        blank=True,
        validators=[validate_statuses],
        help_text=_("Case statuses that stop the clocks, e.g. waiting for the customer."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return self.name


class SlaTarget(models.Model):
    """One promise of a policy: a metric, its working time, and what to do when it is close
    (at `warn_fraction` of the time) and when it is broken."""

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets")
    metric = models.CharField(_("metric"), max_length=30, choices=Metric.choices)
    working_seconds = models.PositiveIntegerField(
        _("working seconds"), help_text=_("Working time of the policy's calendar.")
    )
    warn_fraction = models.FloatField(
        _("warn at"),
        null=True,
        blank=True,
        default=0.75,
        help_text=_("Fraction of the target, e.g. 0.75; empty: no warning."),
    )
    warn_actions = models.JSONField(
        _("actions on warning"), default=list, blank=True, validators=[validate_actions]
    )
    breach_actions = models.JSONField(
        _("actions on breach"), default=list, blank=True, validators=[validate_actions]
    )

    class Meta:
        ordering = ["policy", "metric"]
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        constraints = [
            models.UniqueConstraint(fields=["policy", "metric"], name="sla_uniq_policy_metric"),
            models.CheckConstraint(
                condition=models.Q(working_seconds__gt=0), name="sla_target_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(warn_fraction__isnull=True)
                | models.Q(warn_fraction__gt=0, warn_fraction__lt=1),
                name="sla_warn_fraction_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy_id}/{self.metric}"


class SlaTimer(models.Model):
    """The clock of one target on one case.

    The clock is `remaining_seconds` of working time left at `anchor_at` (its start, last
    resume or last recomputation); while running it is ticking down in its calendar since then.
    `due_at` and `warn_at` are the UTC instants derived from that, kept in columns so that
    "overdue", "due within the hour" and the sweep are index range scans. `warn_at` is the
    pending warning and is cleared once the warning is given.
    """

    # Indexed by sla_timer_case_metric (case, metric).
    case = models.ForeignKey(
        "cases.Case", on_delete=models.CASCADE, related_name="sla_timers", db_index=False
    )
    metric = models.CharField(_("metric"), max_length=30, choices=Metric.choices)
    # policy, target and calendar are not indexed. Timers are found by case, state and due
    # time; only deleting a policy, target or calendar (PROTECT) and re-timing a changed
    # calendar's live timers (a background task, through sla_timer_state_due) look by these,
    # and the calendar index misled SQLite's planner (the page's timers were read by calendar,
    # the whole table, instead of by case).
    policy = models.ForeignKey(
        SlaPolicy, on_delete=models.PROTECT, related_name="timers", db_index=False
    )
    target = models.ForeignKey(
        SlaTarget, on_delete=models.PROTECT, related_name="timers", db_index=False
    )
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    state = models.CharField(
        _("state"), max_length=10, choices=TimerState.choices, default=TimerState.RUNNING
    )
    target_seconds = models.PositiveIntegerField(_("target (working seconds)"))
    started_at = models.DateTimeField(_("started at"))
    anchor_at = models.DateTimeField()
    remaining_seconds = models.BigIntegerField()
    due_at = models.DateTimeField(_("due at"))
    warn_at = models.DateTimeField(_("warning due at"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    warned_at = models.DateTimeField(_("warned at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    met_at = models.DateTimeField(_("met at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    # Working seconds from start to met, pauses excluded: the figure reports are made of.
    elapsed_seconds = models.BigIntegerField(_("working seconds taken"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("SLA timer")
        verbose_name_plural = _("SLA timers")
        indexes = [
            models.Index(fields=["state", "due_at"], name="sla_timer_state_due"),
            models.Index(fields=["state", "warn_at"], name="sla_timer_state_warn"),
            models.Index(fields=["case", "metric"], name="sla_timer_case_metric"),
            models.Index(fields=["metric", "started_at"], name="sla_timer_metric_started"),
            models.Index(
                fields=["escalated_at"],
                condition=models.Q(escalated_at__isnull=False),
                name="sla_timer_escalated",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "metric"],
                condition=models.Q(state__in=LIVE_STATES),
                name="sla_one_live_timer_per_metric",
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric} of case {self.case_id}: {self.state}"
