"""Workspace forms of the triage app: rules, agents' skills and shifts, routes, settings,
sub-tasks, the task force and escalation. They parse input; services validate the rest."""

from __future__ import annotations

import re
from datetime import time
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from afterdesk.cases.choices import Channel, Kind, Priority
from afterdesk.customers.choices import Language
from afterdesk.triage.choices import AssignmentMode, SubTaskStatus, TaskForceRole, VipMatch
from afterdesk.triage.models import Rule, Shift
from afterdesk.triage.services import ProfileInput, RuleInput, ShiftInput

DAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHIFT_LINE = re.compile(
    r"^\s*(?P<day>[a-z]{3}|[1-7])\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$",
    re.IGNORECASE,
)


def split_words(text: str) -> tuple[str, ...]:
    """Comma- or line-separated words (full-width commas too)."""
    return tuple(w.strip() for w in re.split(r"[,，\n]", text or "") if w.strip())


def shifts_text(shifts: list[Shift]) -> str:
    return "\n".join(f"{DAY_CODES[s.weekday]} {s.start:%H:%M}-{s.end:%H:%M}" for s in shifts)


def parse_shifts(text: str) -> tuple[ShiftInput, ...]:
    """Lines like "mon 09:00-18:00" or "1 22:00-06:00" (1 = Monday); an end before the start
    runs past midnight."""
    shifts: list[ShiftInput] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = _SHIFT_LINE.match(line)
        if match is None:
            raise forms.ValidationError(
                _("Line %(line)d: write a shift as “mon 09:00-18:00”.") % {"line": number}
            )
        day = match["day"].lower()
        weekday = (
            int(day) - 1 if day.isdigit() else DAY_CODES.index(day) if day in DAY_CODES else -1
        )
        if weekday < 0:
            raise forms.ValidationError(_("Line %(line)d: unknown weekday.") % {"line": number})
        try:
            start = time.fromisoformat(match["start"].zfill(5))
            end = time.fromisoformat(match["end"].zfill(5))
        except ValueError as exc:
            raise forms.ValidationError(
                _("Line %(line)d: times are HH:MM.") % {"line": number}
            ) from exc
        shifts.append(ShiftInput(weekday, start, end))
    return tuple(shifts)


class RuleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    position = forms.IntegerField(label=gettext_lazy("Position"), min_value=0, initial=100)
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)
    kinds = forms.MultipleChoiceField(
        label=gettext_lazy("Case kinds"),
        choices=Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    channels = forms.MultipleChoiceField(
        label=gettext_lazy("Channels"),
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    keywords = forms.CharField(
        label=gettext_lazy("Keywords (any of them, comma-separated)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    pattern = forms.CharField(
        label=gettext_lazy("Regular expression"), required=False, max_length=500
    )
    segments = forms.MultipleChoiceField(
        label=gettext_lazy("Customer segments"), required=False, widget=forms.CheckboxSelectMultiple
    )
    vip = forms.ChoiceField(label=gettext_lazy("VIP"), choices=VipMatch.choices, required=False)
    amount_min = forms.DecimalField(
        label=gettext_lazy("Amount at least"), required=False, min_value=0
    )
    amount_max = forms.DecimalField(
        label=gettext_lazy("Amount at most"), required=False, min_value=0
    )
    product_lines = forms.CharField(
        label=gettext_lazy("Product lines (comma-separated)"), required=False
    )
    languages = forms.MultipleChoiceField(
        label=gettext_lazy("Customer languages"),
        choices=Language.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    set_category = forms.ChoiceField(label=gettext_lazy("Set category"), required=False)
    set_priority = forms.ChoiceField(
        label=gettext_lazy("Set priority"),
        choices=[("", "—"), *Priority.choices],
        required=False,
    )
    set_department = forms.ChoiceField(label=gettext_lazy("Set department"), required=False)
    add_tags = forms.CharField(label=gettext_lazy("Add tags (comma-separated)"), required=False)
    set_complex = forms.BooleanField(label=gettext_lazy("Flag as complex"), required=False)
    assign_to = forms.ChoiceField(label=gettext_lazy("Assign to agent"), required=False)
    assign_team = forms.ChoiceField(label=gettext_lazy("Assign within team"), required=False)
    overrides_caller = forms.BooleanField(
        label=gettext_lazy("Override values given when the case was opened"), required=False
    )
    stop = forms.BooleanField(label=gettext_lazy("Stop after this rule"), required=False)

    def __init__(
        self,
        *args: Any,
        categories: list[tuple[str, str]],
        departments: list[tuple[str, str]],
        people: list[tuple[str, str]],
        segments: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        blank = [("", "—")]
        self.fields["set_category"].choices = blank + categories  # type: ignore[attr-defined]
        self.fields["set_department"].choices = blank + departments  # type: ignore[attr-defined]
        self.fields["assign_team"].choices = blank + departments  # type: ignore[attr-defined]
        self.fields["assign_to"].choices = blank + people  # type: ignore[attr-defined]
        self.fields["segments"].choices = segments  # type: ignore[attr-defined]

    @staticmethod
    def initial_of(rule: Rule) -> dict[str, Any]:
        return {
            "name": rule.name,
            "position": rule.position,
            "is_active": rule.is_active,
            "kinds": rule.kinds,
            "channels": rule.channels,
            "keywords": ", ".join(rule.keywords),
            "pattern": rule.pattern,
            "segments": rule.segments,
            "vip": rule.vip,
            "amount_min": rule.amount_min,
            "amount_max": rule.amount_max,
            "product_lines": ", ".join(rule.product_lines),
            "languages": rule.languages,
            "set_category": rule.set_category.code if rule.set_category else "",
            "set_priority": rule.set_priority,
            "set_department": rule.set_department.code if rule.set_department else "",
            "add_tags": ", ".join(rule.add_tags),
            "set_complex": rule.set_complex,
            "assign_to": rule.assign_to.username if rule.assign_to else "",
            "assign_team": rule.assign_team.code if rule.assign_team else "",
            "overrides_caller": rule.overrides_caller,
            "stop": rule.stop,
        }

    def to_input(self) -> RuleInput:
        data = self.cleaned_data
        return RuleInput(
            name=data["name"],
            position=data["position"] if data["position"] is not None else 100,
            is_active=data["is_active"],
            kinds=tuple(data["kinds"]),
            channels=tuple(data["channels"]),
            keywords=split_words(data["keywords"]),
            pattern=data["pattern"],
            segments=tuple(data["segments"]),
            vip=data["vip"] or "",
            amount_min=data["amount_min"],
            amount_max=data["amount_max"],
            product_lines=split_words(data["product_lines"]),
            languages=tuple(data["languages"]),
            set_category=data["set_category"] or "",
            set_priority=data["set_priority"] or "",
            set_department=data["set_department"] or "",
            add_tags=split_words(data["add_tags"]),
            set_complex=data["set_complex"],
            assign_to=data["assign_to"] or "",
            assign_team=data["assign_team"] or "",
            overrides_caller=data["overrides_caller"],
            stop=data["stop"],
        )


class AgentForm(forms.Form):
    languages = forms.MultipleChoiceField(
        label=gettext_lazy("Languages"),
        choices=Language.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    product_lines = forms.CharField(
        label=gettext_lazy("Product lines (comma-separated)"), required=False
    )
    max_open = forms.IntegerField(
        label=gettext_lazy("Open cases at most (empty: default, 0: no cap)"),
        required=False,
        min_value=0,
        max_value=10_000,
    )
    auto_assign = forms.BooleanField(
        label=gettext_lazy("Receives new cases"), required=False, initial=True
    )
    is_away = forms.BooleanField(label=gettext_lazy("Away"), required=False)
    shifts = forms.CharField(
        label=gettext_lazy(
            "Shifts, one a line: “mon 09:00-18:00”; an end before the start runs past midnight"
        ),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def clean_shifts(self) -> tuple[ShiftInput, ...]:
        return parse_shifts(self.cleaned_data.get("shifts", ""))

    def to_input(self) -> ProfileInput:
        data = self.cleaned_data
        return ProfileInput(
            languages=tuple(data["languages"]),
            product_lines=split_words(data["product_lines"]),
            max_open=data["max_open"],
            auto_assign=data["auto_assign"],
            is_away=data["is_away"],
            shifts=data["shifts"],
        )


class RouteForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Case kind"), choices=[("", "—"), *Kind.choices], required=False
    )
    category = forms.ChoiceField(label=gettext_lazy("Category"), required=False)
    department = forms.ChoiceField(label=gettext_lazy("Department"))
    position = forms.IntegerField(label=gettext_lazy("Position"), min_value=0, initial=100)

    def __init__(
        self,
        *args: Any,
        categories: list[tuple[str, str]],
        departments: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "—"), *categories]  # type: ignore[attr-defined]
        self.fields["department"].choices = departments  # type: ignore[attr-defined]


class SettingsForm(forms.Form):
    confidence_threshold = forms.FloatField(
        label=gettext_lazy("Confidence threshold (0–1)"), min_value=0, max_value=1
    )
    assignment_mode = forms.ChoiceField(
        label=gettext_lazy("Assignment"), choices=AssignmentMode.choices
    )
    default_max_open = forms.IntegerField(
        label=gettext_lazy("Open cases per agent (0: no cap)"), min_value=0, max_value=10_000
    )
    urgent_words = forms.CharField(
        label=gettext_lazy("Urgent words, one a line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    negative_words = forms.CharField(
        label=gettext_lazy("Strongly negative words, one a line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    negative_threshold = forms.IntegerField(
        label=gettext_lazy("Negative words that make a case urgent"), min_value=1, max_value=20
    )


class SubTaskForm(forms.Form):
    department = forms.ChoiceField(label=gettext_lazy("Department"))
    title = forms.CharField(label=gettext_lazy("Task"), max_length=200)
    owner = forms.ChoiceField(label=gettext_lazy("Owner"), required=False)
    due_at = forms.DateTimeField(
        label=gettext_lazy("Due"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    description = forms.CharField(
        label=gettext_lazy("Details"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(
        self,
        *args: Any,
        departments: list[tuple[str, str]],
        people: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = departments  # type: ignore[attr-defined]
        self.fields["owner"].choices = [("", "—"), *people]  # type: ignore[attr-defined]


class SubTaskStatusForm(forms.Form):
    status = forms.ChoiceField(choices=SubTaskStatus.choices)


class MemberForm(forms.Form):
    username = forms.ChoiceField(label=gettext_lazy("Collaborator"))
    role = forms.ChoiceField(
        label=gettext_lazy("Role"),
        choices=[
            (TaskForceRole.MEMBER, TaskForceRole.MEMBER.label),
            (TaskForceRole.LEAD, TaskForceRole.LEAD.label),
        ],
    )
    note = forms.CharField(label=gettext_lazy("Does what"), required=False, max_length=200)

    def __init__(self, *args: Any, people: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].choices = people  # type: ignore[attr-defined]


class EscalateForm(forms.Form):
    supervisor = forms.ChoiceField(label=gettext_lazy("Supervisor"))
    reason = forms.CharField(
        label=gettext_lazy("Why"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, supervisors: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["supervisor"].choices = supervisors  # type: ignore[attr-defined]
