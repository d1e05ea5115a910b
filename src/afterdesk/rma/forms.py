"""Forms of the RMA screens; the services do the real validation."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from afterdesk.rma.choices import CompensationType, Disposition, QuickCloseOutcome, Reason


class ScanForm(forms.Form):
    code = forms.CharField(label=_("RMA or tracking number"), max_length=64, strip=True)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class InspectionForm(forms.Form):
    packaging_ok = forms.BooleanField(label=_("Packaging and appearance in order"), required=False)
    function_ok = forms.BooleanField(label=_("Function test passed"), required=False)
    matches_description = forms.BooleanField(
        label=_("Matches the customer's description"), required=False
    )
    accessories_complete = forms.BooleanField(label=_("Accessories complete"), required=False)
    customer_damage = forms.BooleanField(label=_("Damage caused by the customer"), required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    photos = MultipleFileField(label=_("Photos"), required=False)


class CreateForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=Reason.choices)
    reason_detail = forms.CharField(
        label=_("In the customer's words"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class StepForm(forms.Form):
    to = forms.CharField(max_length=30)
    note = forms.CharField(required=False, max_length=5000)
    carrier = forms.CharField(required=False, max_length=60)
    tracking_number = forms.CharField(required=False, max_length=60)
    refund_amount = forms.DecimalField(required=False, min_value=0, decimal_places=2)


class DiagnosisForm(forms.Form):
    fault = forms.CharField(label=_("Fault found"), max_length=5000)
    repair_plan = forms.CharField(label=_("Repair plan"), max_length=5000)
    repair_eta = forms.DateField(
        label=_("Ready by"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    cost = forms.DecimalField(
        label=_("Cost (out of warranty)"), required=False, min_value=0, decimal_places=2
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["repair_eta"].initial = date.today() + timedelta(days=3)


class QuickCloseForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=QuickCloseOutcome.choices)
    carrier = forms.CharField(label=_("Carrier"), required=False, max_length=60)
    tracking_number = forms.CharField(label=_("Tracking number"), required=False, max_length=60)
    note = forms.CharField(label=_("Note"), required=False, max_length=5000)


class CompensationForm(forms.Form):
    type = forms.ChoiceField(label=_("Type"), choices=CompensationType.choices)
    value = forms.DecimalField(
        label=_("Value"),
        required=False,
        min_value=0,
        decimal_places=2,
        help_text=_("Amount, percent or months; empty for an upgrade or expedited shipping."),
    )
    currency = forms.CharField(label=_("Currency"), required=False, max_length=3)
    coupon_min_order = forms.DecimalField(
        label=_("Coupon: minimum order"), required=False, min_value=0, decimal_places=2
    )
    coupon_valid_days = forms.IntegerField(
        label=_("Coupon: valid for (days)"), min_value=1, max_value=730, initial=90
    )
    note = forms.CharField(label=_("Why"), required=False, max_length=5000)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    note = forms.CharField(required=False, max_length=5000)


class DispositionForm(forms.Form):
    disposition = forms.ChoiceField(choices=Disposition.choices)


class ReportForm(forms.Form):
    start = forms.DateField(
        label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("To"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    period = forms.ChoiceField(
        label=_("Per"), choices=[("month", _("Month")), ("week", _("Week"))], initial="month"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError(_("The end is before the start."))
            if (end - start).days > 3 * 366:
                raise forms.ValidationError(_("At most three years at once."))
        return data
