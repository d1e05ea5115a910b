"""Admin screens of the RMA rules: policies per product line, quick-close rules, exchange
rates, compensation tiers, abuse flags; RMAs, proposals and coupons read-only."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from afterdesk.rma.models import (
    AbuseFlag,
    CompensationProposal,
    CompensationTier,
    Coupon,
    ExchangeRate,
    QuickCloseRule,
    Rma,
    RmaPolicy,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(RmaPolicy)
class RmaPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "return_days",
        "exchange_days",
        "warranty_months",
        "out_of_warranty",
        "confirm_receipt_days",
    )


@admin.register(QuickCloseRule)
class QuickCloseRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "position", "active", "max_amount", "max_amount_currency")
    list_editable = ("position", "active")


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ("currency", "rate", "updated_at")


@admin.register(CompensationTier)
class CompensationTierAdmin(admin.ModelAdmin):
    list_display = ("name", "type", "up_to", "approver_role")
    list_filter = ("type", "approver_role")


@admin.register(AbuseFlag)
class AbuseFlagAdmin(admin.ModelAdmin):
    list_display = ("customer", "flagged_at", "flagged_by")
    raw_id_fields = ("customer",)
    readonly_fields = ("flagged_by", "flagged_at")

    def save_model(self, request: HttpRequest, obj: AbuseFlag, form: object, change: bool) -> None:
        if not change:
            obj.flagged_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


@admin.register(Rma)
class RmaAdmin(ReadOnlyAdmin):
    list_display = ("case", "kind", "state", "reason", "warranty_status", "requested_at")
    list_filter = ("state", "kind", "reason")
    search_fields = ("case__number",)


@admin.register(CompensationProposal)
class CompensationProposalAdmin(ReadOnlyAdmin):
    list_display = ("case", "type", "value", "currency", "status", "required_role", "proposed_at")
    list_filter = ("status", "type")


@admin.register(Coupon)
class CouponAdmin(ReadOnlyAdmin):
    list_display = ("code", "customer", "value", "currency", "valid_until", "redeemed_at")
    search_fields = ("code",)
