from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from afterdesk.cases.choices import Kind
from afterdesk.knowledge.models import ReplyTemplate


class ReplyTemplateForm(forms.ModelForm):
    kinds = forms.MultipleChoiceField(
        label=_("case kinds"),
        choices=Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: the template suits every kind."),
    )

    class Meta:
        model = ReplyTemplate
        fields = ["name", "language", "kinds", "body", "is_active", "position"]

    def clean_kinds(self) -> list[str]:
        return list(self.cleaned_data.get("kinds") or [])


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    form = ReplyTemplateForm
    list_display = ["name", "language", "kind_list", "is_active", "position"]
    list_filter = ["language", "is_active"]
    list_editable = ["is_active", "position"]
    search_fields = ["name", "body"]

    @admin.display(description=_("case kinds"))
    def kind_list(self, obj: ReplyTemplate) -> str:
        labels = dict(Kind.choices)
        return ", ".join(str(labels.get(k, k)) for k in obj.kinds) or str(_("all"))

    def get_changeform_initial_data(self, request: Any) -> dict[str, Any]:
        return {"kinds": []}
