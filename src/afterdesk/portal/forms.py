from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from afterdesk.cases.choices import Kind
from afterdesk.cases.services import BODY_MAX, SUBJECT_MAX
from afterdesk.core.errors import DomainError
from afterdesk.core.text import has_control_characters
from afterdesk.portal.services import FILES_MAX

# Field names that services use in their errors, by the form field that shows them.
SERVICE_FIELDS = {
    "file": ("photos", "attachments"),
    "files": ("photos", "attachments"),
    "customer": ("email",),
}


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name; cleans to a list (empty when none was chosen)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            MultipleFileInput(attrs={"accept": ",".join(settings.ATTACHMENT_ALLOWED_TYPES)}),
        )
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        items = data if isinstance(data, list | tuple) else ([data] if data else [])
        files = [single(item, initial) for item in items]
        if len(files) > FILES_MAX:
            raise forms.ValidationError(gettext("At most %d files at a time.") % FILES_MAX)
        return files


class PortalForm(forms.Form):
    """Refuses control characters in every text field; shows service errors on the fields."""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name, value in data.items():
            if isinstance(value, str) and has_control_characters(value):
                self.add_error(name, _("This field contains characters that are not allowed."))
        return data

    def add_domain_error(self, error: DomainError) -> None:
        """Show a refusal from a service on the fields it names, or above the form."""
        placed = False
        for name in error.fields:
            for field in SERVICE_FIELDS.get(name, (name,)):
                if field in self.fields and not placed:
                    self.add_error(field, error.message)
                    placed = True
        if not placed:
            self.add_error(None, error.message)


class SubmitForm(PortalForm):
    """A complaint or service request. Anonymous submitters also say who they are."""

    kind = forms.ChoiceField(label=_("What do you need?"), choices=Kind.choices)
    category = forms.ChoiceField(label=_("Topic"), required=False)
    subject = forms.CharField(
        label=_("Summary"),
        max_length=SUBJECT_MAX,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. The screen stays black")}),
    )
    description = forms.CharField(
        label=_("Describe the problem"),
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    order_ref = forms.CharField(label=_("Order number"), max_length=64, required=False)
    product_sku = forms.CharField(label=_("Product / model"), max_length=64, required=False)
    serial = forms.CharField(label=_("Serial number"), max_length=100, required=False)
    photos = MultipleFileField(
        label=_("Photos or documents"),
        required=False,
        help_text=_("Up to 5 files: photos, PDF or video."),
    )
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(label=_("E-mail"), max_length=254, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)

    CONTACT_FIELDS = ("name", "email", "phone")

    def __init__(
        self,
        *args: Any,
        anonymous: bool,
        categories: list[tuple[str, list[tuple[str, str]]]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.anonymous = anonymous
        category = self.fields["category"]
        assert isinstance(category, forms.ChoiceField)
        category.choices = [("", _("Not sure")), *categories]
        if not anonymous:
            for name in self.CONTACT_FIELDS:
                del self.fields[name]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        missing = self.anonymous and not (data.get("email") or data.get("phone"))
        if missing and not self.has_error("email") and not self.has_error("phone"):
            self.add_error("email", _("Give an e-mail address or a phone number."))
        return data


class LoginForm(PortalForm):
    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class ReplyForm(PortalForm):
    body = forms.CharField(
        label=_("Your message"),
        max_length=BODY_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    attachments = MultipleFileField(
        label=_("Add photos or documents"),
        required=False,
        help_text=_("Up to 5 files: photos, PDF or video."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors and not (data.get("body") or "").strip() and not data.get("attachments"):
            self.add_error("body", _("Write a message or choose a file."))
        return data


class ReopenForm(PortalForm):
    reason = forms.CharField(
        label=_("What is still wrong? (optional)"),
        max_length=BODY_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
