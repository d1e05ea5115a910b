"""Triage configuration (rules, routing, agents' skills and shifts, classifier versions) and
its per-case records (suggestions awaiting review, sub-tasks, task forces)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from afterdesk.cases.choices import Priority
from afterdesk.triage.choices import (
    AssignmentMode,
    SubTaskStatus,
    TaskForceRole,
    VipMatch,
    Weekday,
)
from afterdesk.triage.engine import DEFAULT_NEGATIVE_WORDS, DEFAULT_URGENT_WORDS


class TriageSettings(models.Model):
    """Installation-wide triage settings (one row). `version` goes up on every change of any
    triage configuration, so every process knows when to reload its cached copy."""

    confidence_threshold = models.FloatField(
        _("confidence threshold"),
        default=0.55,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_(
            "A model prediction is applied when its probability reaches this; below it the case "
            "waits in “Needs triage” with the top three suggestions."
        ),
    )
    assignment_mode = models.CharField(
        _("assignment"),
        max_length=20,
        choices=AssignmentMode.choices,
        default=AssignmentMode.LEAST_LOADED,
    )
    default_max_open = models.PositiveIntegerField(
        _("open cases per agent"),
        default=40,
        help_text=_("The cap for agents without their own; 0 means no cap."),
    )
    urgent_words = models.TextField(
        _("urgent words"),
        blank=True,
        default=DEFAULT_URGENT_WORDS,
        help_text=_("One per line; any of them grades a new case urgent."),
    )
    negative_words = models.TextField(
        _("strongly negative words"),
        blank=True,
        default=DEFAULT_NEGATIVE_WORDS,
        help_text=_("One per line; this many of them grade a new case urgent."),
    )
    negative_threshold = models.PositiveSmallIntegerField(
        _("negative words for urgent"), default=2, validators=[MinValueValidator(1)]
    )
    version = models.PositiveBigIntegerField(default=1)

    class Meta:
        verbose_name = _("triage settings")
        verbose_name_plural = _("triage settings")

    def __str__(self) -> str:
        return str(_("Triage settings"))


class Rule(models.Model):
    """One triage rule. Rules run in `position` order; every condition that is filled in must
    hold (empty conditions match anything); a rule with `stop` ends the evaluation."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveIntegerField(_("position"), default=100)
    is_active = models.BooleanField(_("active"), default=True)
    # ---- conditions
    kinds = models.JSONField(_("case kinds"), default=list, blank=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    keywords = models.JSONField(
        _("keywords"),
        default=list,
        blank=True,
        help_text=_("Any of these words in the subject or description (case-insensitive)."),
    )
    pattern = models.CharField(
        _("regular expression"),
        max_length=500,
        blank=True,
        help_text=_("Searched in the subject and description (case-insensitive)."),
    )
    segments = models.JSONField(_("customer segments"), default=list, blank=True)
    vip = models.CharField(
        _("VIP"), max_length=10, choices=VipMatch.choices, default=VipMatch.ANY, blank=True
    )
    amount_min = models.DecimalField(
        _("amount at least"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    amount_max = models.DecimalField(
        _("amount at most"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    product_lines = models.JSONField(_("product lines"), default=list, blank=True)
    languages = models.JSONField(_("customer languages"), default=list, blank=True)
    # ---- actions
    set_category = models.ForeignKey(
        "cases.Category",
        verbose_name=_("set category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    set_priority = models.CharField(
        _("set priority"), max_length=10, choices=Priority.choices, blank=True
    )
    set_department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("set department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    add_tags = models.JSONField(_("add tags"), default=list, blank=True)
    set_complex = models.BooleanField(_("flag as complex"), default=False)
    assign_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assign to agent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    assign_team = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("assign within team"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The case goes to this department and to one of its agents."),
    )
    overrides_caller = models.BooleanField(
        _("overrides values given by the caller"),
        default=False,
        help_text=_(
            "Normally a category, priority or department given when the case is opened wins."
        ),
    )
    stop = models.BooleanField(_("stop after this rule"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("triage rule")
        verbose_name_plural = _("triage rules")

    def __str__(self) -> str:
        return self.name


class Route(models.Model):
    """Routing table: cases of this category (and/or kind) go to this department.

    The first matching row in `position` order wins; a row with both kind and category is
    checked before one with only one of them, whatever the positions.
    """

    kind = models.CharField(_("case kind"), max_length=20, blank=True)
    category = models.ForeignKey(
        "cases.Category",
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("A top-level category matches its subcategories too."),
    )
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("department"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    position = models.PositiveIntegerField(_("position"), default=100)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("route")
        verbose_name_plural = _("routes")
        constraints = [
            models.UniqueConstraint(fields=["kind", "category"], name="uniq_triage_route"),
            models.CheckConstraint(
                condition=~models.Q(kind="", category=None), name="triage_route_matches_something"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind or '*'}/{self.category_id or '*'} -> {self.department_id}"


class AgentProfile(models.Model):
    """An agent in automatic assignment: skills, cap, away flag. Staff without a profile
    are never assigned automatically (a rule may still name them)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="triage_profile"
    )
    auto_assign = models.BooleanField(_("receives new cases"), default=True)
    is_away = models.BooleanField(_("away"), default=False)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    product_lines = models.JSONField(_("product lines"), default=list, blank=True)
    max_open = models.PositiveIntegerField(
        _("open cases at most"),
        null=True,
        blank=True,
        help_text=_("Empty: the installation's default; 0: no cap."),
    )
    # Round robin: the candidate with the lowest turn is next; taking a case moves the agent
    # behind everyone else locked with them (max + 1).
    turn = models.PositiveBigIntegerField(default=0)
    last_assigned_at = models.DateTimeField(_("last assigned at"), null=True, blank=True)

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")

    def __str__(self) -> str:
        return str(self.user)


class Shift(models.Model):
    """A weekly shift of an agent in the installation's time zone. An end before the start
    runs past midnight into the next day (a night shift)."""

    profile = models.ForeignKey(AgentProfile, on_delete=models.CASCADE, related_name="shifts")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))

    class Meta:
        ordering = ["weekday", "start"]
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(start=models.F("end")), name="triage_shift_not_empty"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class ClassifierModel(models.Model):
    """One trained version of the classifier; the fitted pipeline is stored in the database
    so every process on every machine loads the same active model."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    created_at = models.DateTimeField(_("created at"))
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(_("active"), default=False)
    blob = models.BinaryField()
    sklearn_version = models.CharField(max_length=20)
    train_size = models.PositiveIntegerField(_("training cases"))
    test_size = models.PositiveIntegerField(_("held-out cases"))
    seconds = models.FloatField(_("training time (s)"))
    report = models.JSONField(_("held-out report"), default=dict)

    class Meta:
        ordering = ["-version"]
        verbose_name = _("classifier model")
        verbose_name_plural = _("classifier models")
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="uniq_triage_active_model",
            )
        ]

    def __str__(self) -> str:
        return f"v{self.version}"


class Suggestion(models.Model):
    """Why triage did what it did on a case, and — when the model was unsure — the top
    suggestions that put it in the "needs triage" view until someone decides."""

    case = models.OneToOneField(
        "cases.Case", on_delete=models.CASCADE, primary_key=True, related_name="triage_suggestion"
    )
    model_version = models.PositiveIntegerField(null=True, blank=True)
    # [{"code": "product.doa", "p": 0.41}, …] best first, at most three.
    categories = models.JSONField(default=list)
    priorities = models.JSONField(default=list)
    needs_triage = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(  # not indexed: nothing looks suggestions up by it
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    class Meta:
        indexes = [models.Index(fields=["needs_triage", "created_at"], name="triage_needs_created")]

    def __str__(self) -> str:
        return f"suggestions for case {self.case_id}"


class SubTask(models.Model):
    """Work another department does for a case (tech investigates, product evaluates)."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="subtasks")
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="subtasks",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subtasks",
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=SubTaskStatus.choices, default=SubTaskStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("sub-task")
        verbose_name_plural = _("sub-tasks")
        indexes = [
            models.Index(fields=["department", "status", "due_at"], name="subtask_dept_status"),
            models.Index(fields=["owner", "status", "due_at"], name="subtask_owner_status"),
        ]

    def __str__(self) -> str:
        return self.title


class TaskForceMember(models.Model):
    """A collaborator on a complex case, beside its owner."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="task_force")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="task_forces"
    )
    role = models.CharField(
        _("role"), max_length=20, choices=TaskForceRole.choices, default=TaskForceRole.MEMBER
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField()

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "user"], name="uniq_task_force_member")
        ]
        indexes = [models.Index(fields=["user", "added_at"], name="task_force_user")]

    def __str__(self) -> str:
        return f"{self.user_id} on case {self.case_id}"
