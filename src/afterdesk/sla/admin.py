"""Admin for SLA configuration: calendars with their hours and dates, policies with targets.

Saving goes through the SLA services afterwards, so a changed calendar is compiled under a new
version and live clocks are recomputed, and a changed policy re-matches the live clocks.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from afterdesk.sla import services
from afterdesk.sla.choices import CalendarKind
from afterdesk.sla.models import (
    BusinessCalendar,
    CalendarDate,
    DepartmentCalendar,
    SlaPolicy,
    SlaTarget,
    SlaTimer,
    WorkingInterval,
)


class WorkingIntervalFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        super().clean()
        kept = [
            form
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE", False)
        ]
        if getattr(self.instance, "kind", None) == CalendarKind.WEEKLY and not kept:
            raise ValidationError(_("A weekly calendar needs working hours on some weekday."))


class WorkingIntervalInline(admin.TabularInline):  # type: ignore[type-arg]
    model = WorkingInterval
    formset = WorkingIntervalFormSet
    extra = 0


class CalendarDateInline(admin.TabularInline):  # type: ignore[type-arg]
    model = CalendarDate
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "description", "tz", "kind", "country", "is_default", "version"]
    search_fields = ["name", "description"]
    readonly_fields = ["version", "updated_at"]
    inlines = [WorkingIntervalInline, CalendarDateInline]

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        services.calendar_compile(calendar=form.instance)


class SlaTargetInline(admin.TabularInline):  # type: ignore[type-arg]
    model = SlaTarget
    extra = 0


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "position", "active", "priorities", "kinds", "is_complex", "calendar"]
    list_editable = ["position", "active"]
    list_filter = ["active", "calendar"]
    search_fields = ["name"]
    inlines = [SlaTargetInline]

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        services.policy_changed(policy=form.instance)


@admin.register(DepartmentCalendar)
class DepartmentCalendarAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["department", "calendar"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.department_calendar_set(department=obj.department, calendar=obj.calendar)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.department_calendar_set(department=obj.department, calendar=None)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset.select_related("department"):
            services.department_calendar_set(department=obj.department, calendar=None)


@admin.register(SlaTimer)
class SlaTimerAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: clocks change only through the case and the sweep."""

    list_display = ["case", "metric", "state", "due_at", "breached_at", "met_at", "policy"]
    list_filter = ["state", "metric", "policy"]
    search_fields = ["case__number"]
    list_select_related = ["case", "policy"]
    date_hierarchy = "started_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
