from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from afterdesk.cases.choices import (
    DONE_STATUSES,
    OPEN_STATUSES,
    Channel,
    Kind,
    LinkKind,
    Priority,
    Status,
)
from afterdesk.cases.models import Case
from afterdesk.cases.selectors import CaseFilters
from afterdesk.core.text import has_control_characters


class TrackForm(forms.Form):
    number = forms.CharField(
        label=_("Service number"),
        max_length=32,
        widget=forms.TextInput(attrs={"placeholder": "AS-20261123-00042", "autocomplete": "off"}),
    )
    contact = forms.CharField(
        label=_("E-mail or phone"),
        max_length=254,
        help_text=_("The e-mail address or phone number you gave us."),
    )

    def clean(self) -> dict[str, str]:
        data = super().clean() or {}
        for name in ("number", "contact"):
            if has_control_characters(data.get(name, "")):
                self.add_error(name, _("This field contains characters that are not allowed."))
        return data


# --- The agent workspace ---------------------------------------------------------------------


def _no_control_characters(form: forms.Form) -> None:
    for name, value in (form.cleaned_data or {}).items():
        if isinstance(value, str) and has_control_characters(value.replace("\r\n", "\n")):
            form.add_error(name, _("This field contains characters that are not allowed."))


STATUS_WORKING = "working"
STATUS_DONE = "done"
STATUS_ANY = "any"


def status_filter_choices() -> list[tuple[str, Any]]:
    return [
        ("", _("Queue default")),
        (STATUS_WORKING, _("Still open (any)")),
        (STATUS_DONE, _("Done (any)")),
        (STATUS_ANY, _("Any status")),
        *Status.choices,
    ]


def _with_blank(choices: list[tuple[str, Any]], blank: Any) -> list[tuple[str, Any]]:
    return [("", blank), *choices]


class QueueFilterForm(forms.Form):
    """The queue's tab, filters and sort, from the query string."""

    tab = forms.ChoiceField(label=_("Queue"), choices=[], required=False)
    status = forms.ChoiceField(label=_("Status"), choices=status_filter_choices, required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=_with_blank(Kind.choices, _("Any kind")), required=False
    )
    category = forms.ChoiceField(label=_("Category"), choices=[], required=False)
    priority = forms.ChoiceField(
        label=_("Priority"),
        choices=_with_blank(Priority.choices, _("Any priority")),
        required=False,
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=_with_blank(Channel.choices, _("Any channel")), required=False
    )
    owner = forms.ChoiceField(label=_("Owner"), choices=[], required=False)
    department = forms.ChoiceField(label=_("Department"), choices=[], required=False)
    created_after = forms.DateField(
        label=_("Opened from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_before = forms.DateField(
        label=_("Opened until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    q = forms.CharField(label=_("Text"), max_length=200, required=False)
    ordering = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("", _("Queue default")),
            ("-created_at", _("Newest first")),
            ("created_at", _("Oldest first")),
            ("-updated_at", _("Recently updated")),
            ("updated_at", _("Least recently updated")),
        ],
    )
    customer = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    cursor = forms.CharField(required=False, max_length=400, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        tabs: list[tuple[str, Any]],
        categories: list[tuple[str, str]],
        owners: list[tuple[str, str]],
        departments: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tab"].choices = tabs  # type: ignore[attr-defined]
        self.fields["category"].choices = _with_blank(categories, _("Any category"))  # type: ignore[attr-defined]
        self.fields["owner"].choices = [  # type: ignore[attr-defined]
            ("", _("Anyone")),
            ("me", _("Me")),
            ("none", _("Nobody")),
            *owners,
        ]
        self.fields["department"].choices = _with_blank(departments, _("Any department"))  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _no_control_characters(self)
        return data

    def value(self, name: str) -> Any:
        """The cleaned value, or the empty value when the field was invalid."""
        data = getattr(self, "cleaned_data", {})
        return data.get(name) or self.fields[name].initial or ""

    def statuses(self, queue_default: tuple[str, ...]) -> tuple[str, ...]:
        status = self.value("status")
        if status == STATUS_WORKING:
            return tuple(s for s in Status.values if s in OPEN_STATUSES)
        if status == STATUS_DONE:
            return tuple(s for s in Status.values if s in DONE_STATUSES)
        if status == STATUS_ANY:
            return ()
        if status:
            return (status,)
        return queue_default

    def filters(self, queue_default: tuple[str, ...]) -> CaseFilters:
        def single(name: str) -> tuple[str, ...]:
            value = self.value(name)
            return (value,) if value else ()

        after, before = self.value("created_after"), self.value("created_before")
        return CaseFilters(
            status=self.statuses(queue_default),
            kind=single("kind"),
            channel=single("channel"),
            priority=single("priority"),
            category=self.value("category"),
            owner=self.value("owner"),
            department=self.value("department"),
            customer=self.value("customer") or None,
            created_after=_local_midnight(after) if after else None,
            created_before=_local_midnight(before + timedelta(days=1)) if before else None,
            q=self.value("q").strip(),
        )


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class CaseEditForm(forms.Form):
    """The editable fields of a case with the version they were read at.

    Each field also carries its value as loaded (a hidden "initial-" input), so `changes()`
    sends only what the user changed: a save never quietly reverts someone else's edit.
    """

    subject = forms.CharField(label=_("Subject"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    category = forms.ChoiceField(label=_("Category"), choices=[], required=False)
    department = forms.ChoiceField(label=_("Department"), choices=[], required=False)
    order_ref = forms.CharField(label=_("Order reference"), max_length=64, required=False)
    product_sku = forms.CharField(label=_("Product SKU"), max_length=64, required=False)
    serial = forms.CharField(label=_("Serial number"), max_length=100, required=False)
    amount = forms.DecimalField(
        label=_("Amount"), required=False, min_value=0, max_digits=12, decimal_places=2
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False)
    tags = forms.CharField(
        label=_("Tags"), required=False, max_length=1000, help_text=_("Separate with commas.")
    )
    is_complex = forms.BooleanField(label=_("Complex case"), required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    seen_event = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    EDITABLE = (
        "subject",
        "kind",
        "priority",
        "category",
        "department",
        "order_ref",
        "product_sku",
        "serial",
        "amount",
        "currency",
        "tags",
        "is_complex",
        "description",
    )

    def __init__(
        self,
        *args: Any,
        categories: list[tuple[str, str]],
        departments: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = _with_blank(categories, "—")  # type: ignore[attr-defined]
        self.fields["department"].choices = _with_blank(departments, "—")  # type: ignore[attr-defined]
        for name in self.EDITABLE:
            self.fields[name].show_hidden_initial = True

    @staticmethod
    def initial_of(case: Case, *, seen_event: int) -> dict[str, Any]:
        return {
            "subject": case.subject,
            "kind": case.kind,
            "priority": case.priority,
            "category": case.category.code if case.category else "",
            "department": case.department.code if case.department else "",
            "order_ref": case.order_ref,
            "product_sku": case.product_sku,
            "serial": case.serial,
            "amount": case.amount,
            "currency": case.currency,
            "tags": ", ".join(sorted(t.name for t in case.tags.all())),
            "is_complex": case.is_complex,
            "description": case.description,
            "version": case.version,
            "seen_event": seen_event,
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _no_control_characters(self)
        return data

    def changes(self) -> dict[str, Any]:
        """The fields the user changed, as case_update takes them."""
        out: dict[str, Any] = {}
        for name in self.changed_data:
            if name not in self.EDITABLE:
                continue
            value = self.cleaned_data[name]
            if name == "tags":
                value = [t.strip() for t in value.split(",") if t.strip()]
            elif name in ("category", "department"):
                value = value or None
            out[name] = value
        if "amount" in out and "currency" not in out:
            out["currency"] = self.cleaned_data.get("currency") or ""
        return out


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class ReplyForm(forms.Form):
    VISIBILITY = [("public", _("Public reply")), ("internal", _("Internal note"))]

    visibility = forms.ChoiceField(
        label=_("Send as"), choices=VISIBILITY, initial="public", widget=forms.RadioSelect
    )
    body = forms.CharField(
        label=_("Message"), max_length=50_000, widget=forms.Textarea(attrs={"rows": 6})
    )
    attachments = MultipleFileField(label=_("Attachments"), required=False)
    then_status = forms.ChoiceField(label=_("Then"), choices=[], required=False)

    def __init__(self, *args: Any, transitions: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["then_status"].choices = _with_blank(transitions, _("Keep the status"))  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _no_control_characters(self)
        return data


class TransitionForm(forms.Form):
    to = forms.ChoiceField(choices=Status.choices)
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AssignForm(forms.Form):
    owner = forms.CharField(label=_("Owner"), required=False, max_length=150)


class LinkForm(forms.Form):
    kind = forms.ChoiceField(label=_("Link type"), choices=LinkKind.choices)
    target = forms.CharField(
        label=_("Other case"),
        max_length=32,
        widget=forms.TextInput(attrs={"placeholder": "AS-20261123-00042", "autocomplete": "off"}),
    )

    def clean_target(self) -> str:
        return str(self.cleaned_data["target"]).strip().upper()


class CallForm(forms.Form):
    """A phone complaint, taken down while the customer is on the line."""

    name = forms.CharField(label=_("Customer name"), max_length=200)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices, initial=Kind.COMPLAINT)
    category = forms.ChoiceField(label=_("Category"), choices=[], required=False)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(
        label=_("What the customer says"),
        required=False,
        max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    order_ref = forms.CharField(label=_("Order reference"), max_length=64, required=False)

    def __init__(self, *args: Any, categories: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = _with_blank(categories, "—")  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _no_control_characters(self)
        if not data.get("phone") and not data.get("email"):
            self.add_error("phone", _("Give the caller's phone number or e-mail address."))
        return data


BULK_CHOICES = [
    ("assign", _("Assign")),
    ("priority", _("Set priority")),
    ("status", _("Set status")),
    ("merge", _("Merge duplicates")),
]


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=BULK_CHOICES)
    cases = forms.MultipleChoiceField(choices=[], required=True)
    assign_to = forms.CharField(required=False, max_length=150)
    priority = forms.ChoiceField(choices=_with_blank(Priority.choices, "—"), required=False)
    status = forms.ChoiceField(choices=_with_blank(Status.choices, "—"), required=False)
    next = forms.CharField(required=False, max_length=2000)

    def clean_cases(self) -> list[str]:
        return [str(n).strip().upper() for n in self.cleaned_data["cases"]][:200]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        numbers = self.data.getlist("cases") if hasattr(self.data, "getlist") else []
        self.fields["cases"].choices = [(n, n) for n in numbers]  # type: ignore[attr-defined]

    def value(self) -> str:
        action = self.cleaned_data["action"]
        if action == "assign":
            return str(self.cleaned_data.get("assign_to") or "")
        if action == "priority":
            return str(self.cleaned_data.get("priority") or "")
        if action == "status":
            return str(self.cleaned_data.get("status") or "")
        return ""


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("Name of this view"), max_length=60)
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
