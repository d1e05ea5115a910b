"""Codes of the RMA and its state machine. Events store these codes, never labels."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from afterdesk.cases.choices import Kind

RMA_KINDS = (Kind.REPAIR, Kind.RETURN, Kind.EXCHANGE)


class Reason(models.TextChoices):
    DOA = "doa", _("Dead on arrival")
    WRONG_ITEM = "wrong_item", _("Wrong item")
    MISSING_PARTS = "missing_parts", _("Missing parts")
    QUALITY_DEFECT = "quality_defect", _("Quality defect")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    DAMAGED_IN_TRANSIT = "damaged_in_transit", _("Damaged in transit")
    CHANGED_MIND = "changed_mind", _("Changed mind")
    OTHER = "other", _("Other")


class State(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    AWAITING_RETURN = "awaiting_return", _("Awaiting return")
    IN_TRANSIT = "in_transit", _("In transit")
    RECEIVED = "received", _("Received")
    INSPECTED = "inspected", _("Inspected")
    DIAGNOSED = "diagnosed", _("Diagnosed")
    REPAIRING = "repairing", _("Repairing")
    REPAIRED = "repaired", _("Repaired")
    REFUNDED = "refunded", _("Refund issued")
    REPLACEMENT_SHIPPED = "replacement_shipped", _("Replacement shipped")
    SHIPPED_BACK = "shipped_back", _("Shipped back")
    DELIVERED = "delivered", _("Delivered")
    CONFIRMED = "confirmed", _("Receipt confirmed")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


_ALL = frozenset(RMA_KINDS)
_REPAIR = frozenset({Kind.REPAIR})
_RETURN = frozenset({Kind.RETURN})
_EXCHANGE = frozenset({Kind.EXCHANGE})

# The state machine: state -> {next state: the RMA kinds that may take that step}.
# Quick close (no return) takes requested/approved straight to refunded or replacement_shipped;
# it is its own service with its own rules (rma_quick_close), not a step here.
ALLOWED: dict[str, dict[str, frozenset[str]]] = {
    State.REQUESTED: {State.APPROVED: _ALL, State.REJECTED: _ALL, State.CANCELLED: _ALL},
    State.APPROVED: {State.AWAITING_RETURN: _ALL, State.CANCELLED: _ALL},
    State.AWAITING_RETURN: {
        State.IN_TRANSIT: _ALL,
        # A parcel may arrive before the customer tells us its tracking number.
        State.RECEIVED: _ALL,
        State.CANCELLED: _ALL,
    },
    State.IN_TRANSIT: {State.RECEIVED: _ALL},
    State.RECEIVED: {State.INSPECTED: _ALL},
    State.INSPECTED: {
        State.DIAGNOSED: _REPAIR,
        State.REFUNDED: _RETURN,
        State.REPLACEMENT_SHIPPED: _EXCHANGE,
        # The goods go back to the customer as they came (e.g. damage caused by the customer).
        State.SHIPPED_BACK: _ALL,
    },
    State.DIAGNOSED: {State.REPAIRING: _REPAIR, State.SHIPPED_BACK: _REPAIR},
    State.REPAIRING: {State.REPAIRED: _REPAIR},
    State.REPAIRED: {State.SHIPPED_BACK: _REPAIR},
    State.SHIPPED_BACK: {State.DELIVERED: _ALL},
    State.REPLACEMENT_SHIPPED: {State.DELIVERED: _EXCHANGE},
    State.DELIVERED: {State.CONFIRMED: _ALL},
    State.CONFIRMED: {State.CLOSED: _ALL},
    State.REFUNDED: {State.CLOSED: _ALL},
    State.REJECTED: {State.CLOSED: _ALL},
    State.CLOSED: {},
    State.CANCELLED: {},
}

# What a customer may do to their own RMA: tell us the tracking number, confirm receipt.
CUSTOMER_STEPS: dict[str, frozenset[str]] = {
    State.AWAITING_RETURN: frozenset({State.IN_TRANSIT}),
    State.DELIVERED: frozenset({State.CONFIRMED}),
}

# The milestone timestamp column of each state (R21: every milestone is a plain column).
MILESTONE_FIELDS: dict[str, str] = {
    State.REQUESTED: "requested_at",
    State.APPROVED: "approved_at",
    State.REJECTED: "rejected_at",
    State.AWAITING_RETURN: "awaiting_return_at",
    State.IN_TRANSIT: "in_transit_at",
    State.RECEIVED: "received_at",
    State.INSPECTED: "inspected_at",
    State.DIAGNOSED: "diagnosed_at",
    State.REPAIRING: "repair_started_at",
    State.REPAIRED: "repaired_at",
    State.REFUNDED: "refunded_at",
    State.REPLACEMENT_SHIPPED: "replacement_shipped_at",
    State.SHIPPED_BACK: "shipped_back_at",
    State.DELIVERED: "delivered_at",
    State.CONFIRMED: "confirmed_at",
    State.CLOSED: "closed_at",
    State.CANCELLED: "cancelled_at",
}

# The shipping steps and what their button says.
SHIPPING_LABELS: dict[str, object] = {
    State.IN_TRANSIT: _("Customer sent the parcel"),
    State.SHIPPED_BACK: _("Ship back to the customer"),
    State.REPLACEMENT_SHIPPED: _("Ship the replacement"),
}

# States in which the goods are expected at, or sit in, the warehouse.
RECEIVABLE_STATES = frozenset({State.AWAITING_RETURN, State.IN_TRANSIT})
DONE_STATES = frozenset({State.CLOSED, State.CANCELLED})


class WarrantyStatus(models.TextChoices):
    IN_WARRANTY = "in_warranty", _("In warranty")
    OUT_OF_WARRANTY = "out_of_warranty", _("Out of warranty")
    UNKNOWN = "unknown", _("Unknown")


class OutOfWarranty(models.TextChoices):
    PAID_QUOTE = "paid_quote", _("Offer a paid repair quote")
    REFUSE = "refuse", _("Refuse the repair")


class QuoteStatus(models.TextChoices):
    NOT_REQUIRED = "not_required", _("Not required")
    PENDING = "pending", _("Waiting for the customer")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Customer to us")
    OUTBOUND = "outbound", _("Us to customer")


class Disposition(models.TextChoices):
    RESTOCK = "restock", _("Restock")
    REFURBISH = "refurbish", _("Refurbish")
    REPAIR = "repair", _("To repair")
    SCRAP = "scrap", _("Scrap")
    VENDOR = "vendor", _("Return to vendor")
    QUARANTINE = "quarantine", _("Quarantine")


class QuickCloseOutcome(models.TextChoices):
    REFUND = "refund", _("Refund without return")
    RESHIP = "reship", _("Reship without return")


class CompensationType(models.TextChoices):
    REFUND_PERCENT = "refund_percent", _("Partial refund (%)")
    FIXED_AMOUNT = "fixed_amount", _("Fixed amount")
    COUPON = "coupon", _("Coupon")
    FREE_UPGRADE = "free_upgrade", _("Free upgrade")
    EXTENDED_WARRANTY = "extended_warranty", _("Extended warranty (months)")
    EXPEDITED_SHIPPING = "expedited_shipping", _("Expedited shipping")


# Types whose value is money (compared to tiers after conversion to the base currency).
MONEY_TYPES = frozenset({CompensationType.FIXED_AMOUNT, CompensationType.COUPON})


class ProposalStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ApproverRole(models.TextChoices):
    """Who may approve a tier. "Director" is the administrator role of the accounts app."""

    AGENT = "agent", _("Agent")
    SUPERVISOR = "supervisor", _("Supervisor")
    DIRECTOR = "admin", _("Director (administrator)")


# Authority rank of each staff role; a proposal needs rank >= its tier's approver role.
AUTHORITY_RANK: dict[str, int] = {
    "agent": 1,
    "technician": 1,
    "warehouse": 1,
    "supervisor": 2,
    "admin": 3,
}
