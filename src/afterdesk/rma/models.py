"""RMA data: the authorisation of a repair / return / exchange hanging off its case (one-to-one),
its items, shipments both ways, receiving inspection, and the admin-edited rules (policy windows
per product line, quick-close rules, exchange rates, compensation tiers)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from afterdesk.rma.choices import (
    ApproverRole,
    CompensationType,
    Direction,
    Disposition,
    OutOfWarranty,
    ProposalStatus,
    QuickCloseOutcome,
    QuoteStatus,
    Reason,
    State,
    WarrantyStatus,
)

BASE_CURRENCY = "CNY"


class RmaPolicy(models.Model):
    """The RMA windows of one product line ("" is the default for every other line)."""

    product_line = models.CharField(
        _("product line"),
        max_length=100,
        unique=True,
        blank=True,
        help_text=_("Empty: the default for product lines without their own policy."),
    )
    return_days = models.PositiveSmallIntegerField(
        _("return within (days after delivery)"), default=7
    )
    exchange_days = models.PositiveSmallIntegerField(
        _("exchange within (days after delivery)"), default=15
    )
    warranty_months = models.PositiveSmallIntegerField(
        _("warranty (months)"),
        null=True,
        blank=True,
        help_text=_("Empty: the product's own warranty."),
    )
    out_of_warranty = models.CharField(
        _("out of warranty"),
        max_length=20,
        choices=OutOfWarranty.choices,
        default=OutOfWarranty.PAID_QUOTE,
    )
    confirm_receipt_days = models.PositiveSmallIntegerField(
        _("auto-confirm receipt after (days)"),
        default=3,
        help_text=_("Used when no SLA policy times the receipt confirmation."),
    )
    return_address = models.TextField(_("return address"), blank=True)
    return_instructions = models.TextField(_("return instructions"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["product_line"]
        verbose_name = _("RMA policy")
        verbose_name_plural = _("RMA policies")

    def __str__(self) -> str:
        return self.product_line or str(_("Default RMA policy"))


class ExchangeRate(models.Model):
    """How many units of the base currency (CNY) one unit of `currency` is worth."""

    currency = models.CharField(_("currency"), max_length=3, unique=True)
    rate = models.DecimalField(
        _("value in CNY"), max_digits=14, decimal_places=6, help_text=_("CNY per one unit.")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["currency"]
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        constraints = [
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="rma_rate_positive")
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} {BASE_CURRENCY}"


class QuickCloseRule(models.Model):
    """A rule under which a refund or reship is granted at once, without a return (R15)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=100)
    active = models.BooleanField(_("active"), default=True)
    max_amount = models.DecimalField(_("up to amount"), max_digits=12, decimal_places=2)
    max_amount_currency = models.CharField(_("currency of the limit"), max_length=3, default="USD")
    reasons = models.JSONField(
        _("reasons"), default=list, blank=True, help_text=_("Reason codes; empty: any reason.")
    )
    kinds = models.JSONField(
        _("case kinds"), default=list, blank=True, help_text=_("Empty: any RMA kind.")
    )
    outcomes = models.JSONField(
        _("outcomes"), default=list, blank=True, help_text=_("refund, reship; empty: both.")
    )
    exclude_flagged = models.BooleanField(_("not for customers flagged for abuse"), default=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("quick-close rule")
        verbose_name_plural = _("quick-close rules")

    def __str__(self) -> str:
        return self.name


class AbuseFlag(models.Model):
    """A customer flagged for return abuse: quick close is not offered to them."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="abuse_flag"
    )
    reason = models.TextField(_("reason"), blank=True)
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    flagged_at = models.DateTimeField(_("flagged at"), auto_now_add=True)

    class Meta:
        verbose_name = _("abuse flag")
        verbose_name_plural = _("abuse flags")

    def __str__(self) -> str:
        return str(self.customer)


class Rma(models.Model):
    """The authorisation of a repair, return or exchange: one per case of those kinds."""

    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="rma")
    kind = models.CharField(_("kind"), max_length=20)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.REQUESTED
    )
    reason = models.CharField(_("reason"), max_length=30, choices=Reason.choices)
    reason_detail = models.TextField(_("reason in the customer's words"), blank=True)
    policy = models.ForeignKey(
        RmaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    warranty_status = models.CharField(
        _("warranty"), max_length=20, choices=WarrantyStatus.choices, default=WarrantyStatus.UNKNOWN
    )
    warranty_ends = models.DateField(_("warranty ends"), null=True, blank=True)
    window_ends = models.DateField(_("policy window ends"), null=True, blank=True)
    within_window = models.BooleanField(_("within the policy window"), null=True, blank=True)
    extended_warranty_months = models.PositiveSmallIntegerField(default=0)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    return_address = models.TextField(_("return address"), blank=True)
    return_instructions = models.TextField(_("return instructions"), blank=True)
    disposition = models.CharField(
        _("disposition"), max_length=20, choices=Disposition.choices, blank=True
    )
    # Diagnosis (repairs).
    fault = models.TextField(_("fault found"), blank=True)
    repair_plan = models.TextField(_("repair plan"), blank=True)
    repair_eta = models.DateField(_("repair ready by"), null=True, blank=True)
    quote_amount = models.DecimalField(
        _("repair quote"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    quote_currency = models.CharField(_("quote currency"), max_length=3, blank=True)
    quote_status = models.CharField(
        _("quote"), max_length=20, choices=QuoteStatus.choices, default=QuoteStatus.NOT_REQUIRED
    )
    quote_answered_at = models.DateTimeField(null=True, blank=True)
    # Refund / quick close.
    refund_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    refund_currency = models.CharField(max_length=3, blank=True)
    quick_close_rule = models.ForeignKey(
        QuickCloseRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    quick_close_outcome = models.CharField(
        max_length=10, choices=QuickCloseOutcome.choices, blank=True
    )
    # Receipt confirmation: when the delivered goods are taken as received without an answer.
    confirm_due_at = models.DateTimeField(null=True, blank=True)
    auto_confirmed = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    # One timestamp per milestone (R21): every metric is a difference of two columns.
    requested_at = models.DateTimeField(_("requested at"))
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    awaiting_return_at = models.DateTimeField(null=True, blank=True)
    in_transit_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    inspected_at = models.DateTimeField(null=True, blank=True)
    diagnosed_at = models.DateTimeField(null=True, blank=True)
    repair_started_at = models.DateTimeField(null=True, blank=True)
    repaired_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    replacement_shipped_at = models.DateTimeField(null=True, blank=True)
    shipped_back_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("RMA")
        verbose_name_plural = _("RMAs")
        indexes = [
            models.Index(fields=["state", "updated_at"], name="rma_state_updated"),
            models.Index(fields=["state", "confirm_due_at"], name="rma_state_confirm_due"),
            models.Index(fields=["requested_at"], name="rma_requested"),
            models.Index(fields=["reason", "requested_at"], name="rma_reason_requested"),
        ]

    def __str__(self) -> str:
        return f"RMA {self.case_id}"


class RmaItem(models.Model):
    rma = models.ForeignKey(Rma, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        "customers.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sku = models.CharField(_("SKU"), max_length=64)
    description = models.CharField(_("description"), max_length=200, blank=True)
    serial = models.CharField(_("serial number"), max_length=100, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    order = models.ForeignKey(
        "customers.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    order_ref = models.CharField(_("order reference"), max_length=64, blank=True)
    purchased_on = models.DateField(_("purchased on"), null=True, blank=True)
    delivered_on = models.DateField(_("delivered on"), null=True, blank=True)
    unit_price = models.DecimalField(
        _("unit price"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    warranty_ends = models.DateField(_("warranty ends"), null=True, blank=True)
    product_line = models.CharField(_("product line"), max_length=100, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("RMA item")
        verbose_name_plural = _("RMA items")
        indexes = [models.Index(fields=["serial"], name="rma_item_serial")]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"


class Shipment(models.Model):
    rma = models.ForeignKey(Rma, on_delete=models.CASCADE, related_name="shipments")
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    carrier = models.CharField(_("carrier"), max_length=60)
    tracking_number = models.CharField(_("tracking number"), max_length=60)
    shipped_at = models.DateTimeField(_("shipped at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["shipped_at", "id"]
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        # A scanned code is compared without regard to case (rma_find_for_scan).
        indexes = [models.Index(Upper("tracking_number"), name="rma_shipment_tracking_upper")]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class Inspection(models.Model):
    """The receiving inspection (R18): the checklist, photos and the verdict."""

    rma = models.OneToOneField(Rma, on_delete=models.CASCADE, related_name="inspection")
    packaging_ok = models.BooleanField(_("packaging and appearance in order"))
    function_ok = models.BooleanField(_("function test passed"))
    matches_description = models.BooleanField(_("matches the customer's description"))
    accessories_complete = models.BooleanField(_("accessories complete"))
    customer_damage = models.BooleanField(_("damage caused by the customer"))
    notes = models.TextField(_("notes"), blank=True)
    photos = models.ManyToManyField("cases.Attachment", blank=True, related_name="+")
    passed = models.BooleanField(_("passed"))
    inspected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    inspected_at = models.DateTimeField(_("inspected at"))

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")

    def __str__(self) -> str:
        return f"inspection of RMA {self.rma_id}"


class CompensationTier(models.Model):
    """One tier of a compensation type: values up to `up_to` need `approver_role` (R14).

    Money types (fixed amount, coupon) count in CNY after conversion; a refund in percent;
    extended warranty in months; a free upgrade or expedited shipping has no value, so one
    tier with an empty `up_to` sets who approves it.
    """

    type = models.CharField(_("type"), max_length=30, choices=CompensationType.choices)
    name = models.CharField(_("name"), max_length=100)
    up_to = models.DecimalField(
        _("up to"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: any value above the lower tiers."),
    )
    approver_role = models.CharField(_("approved by"), max_length=20, choices=ApproverRole.choices)

    class Meta:
        ordering = ["type", models.F("up_to").asc(nulls_last=True)]
        verbose_name = _("compensation tier")
        verbose_name_plural = _("compensation tiers")

    def __str__(self) -> str:
        return self.name


class Coupon(models.Model):
    """A coupon code given as compensation, with simple conditions: worth `value`, on one order
    of at least `min_order_amount`, by the customer it was given to, until `valid_until`."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="coupons"
    )
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    min_order_amount = models.DecimalField(
        _("minimum order"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    valid_until = models.DateField(_("valid until"))
    created_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")

    def __str__(self) -> str:
        return self.code


class CompensationProposal(models.Model):
    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, related_name="compensation_proposals"
    )
    type = models.CharField(_("type"), max_length=30, choices=CompensationType.choices)
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    base_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    tier = models.ForeignKey(CompensationTier, on_delete=models.PROTECT, related_name="+")
    required_role = models.CharField(max_length=20, choices=ApproverRole.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.PENDING
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    # The conditions of a coupon, kept until the proposal is approved and the coupon issued.
    coupon_min_order = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    coupon_valid_days = models.PositiveSmallIntegerField(default=90)
    coupon = models.OneToOneField(
        Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="proposal"
    )

    class Meta:
        ordering = ["proposed_at", "id"]
        verbose_name = _("compensation proposal")
        verbose_name_plural = _("compensation proposals")
        indexes = [
            models.Index(fields=["status", "required_role", "proposed_at"], name="rma_comp_queue"),
            models.Index(fields=["case", "proposed_at"], name="rma_comp_case"),
        ]

    def __str__(self) -> str:
        return f"{self.type} on case {self.case_id}"
