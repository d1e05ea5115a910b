"""API schemas of the RMA endpoints (in the OpenAPI spec at /api/v1/openapi.json)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from afterdesk.core.schemas import CleanStr, StrictIn
from afterdesk.rma.choices import (
    CompensationType,
    Direction,
    Disposition,
    QuickCloseOutcome,
    Reason,
    State,
)

Money = Decimal
TEXT = 5_000


class ItemIn(StrictIn):
    sku: CleanStr = Field(min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=9_999)
    serial: CleanStr = Field(default="", max_length=100)
    description: CleanStr = Field(default="", max_length=200)
    order_ref: CleanStr = Field(default="", max_length=64)
    purchased_on: date | None = None
    delivered_on: date | None = None
    unit_price: Money | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)


class RmaCreateIn(StrictIn):
    case: CleanStr = Field(min_length=1, max_length=32, description="the case number")
    reason: Reason
    reason_detail: CleanStr = Field(default="", max_length=TEXT)
    items: list[ItemIn] = Field(
        default_factory=list, max_length=50, description="empty: the case's product"
    )


class TransitionIn(StrictIn):
    to: State
    note: CleanStr = Field(default="", max_length=TEXT, description="a rejection needs one")
    carrier: CleanStr = Field(default="", max_length=60)
    tracking_number: CleanStr = Field(default="", max_length=60)
    return_address: CleanStr = Field(default="", max_length=TEXT)
    return_instructions: CleanStr = Field(default="", max_length=TEXT)
    refund_amount: Money | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)


class ShipmentIn(StrictIn):
    direction: Direction
    carrier: CleanStr = Field(min_length=1, max_length=60)
    tracking_number: CleanStr = Field(min_length=1, max_length=60)


class ReceiveIn(StrictIn):
    code: CleanStr = Field(default="", max_length=64, description="what was scanned")


class InspectionIn(StrictIn):
    packaging_ok: bool
    function_ok: bool
    matches_description: bool
    accessories_complete: bool
    customer_damage: bool
    notes: CleanStr = Field(default="", max_length=TEXT)


class DiagnosisIn(StrictIn):
    fault: CleanStr = Field(min_length=1, max_length=TEXT)
    repair_plan: CleanStr = Field(min_length=1, max_length=TEXT)
    repair_eta: date
    cost: Money | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    currency: str = Field(default="", pattern=r"^([A-Za-z]{3})?$")


class QuoteAnswerIn(StrictIn):
    accept: bool


class DispositionIn(StrictIn):
    disposition: Disposition


class QuickCloseIn(StrictIn):
    outcome: QuickCloseOutcome
    carrier: CleanStr = Field(default="", max_length=60)
    tracking_number: CleanStr = Field(default="", max_length=60)
    note: CleanStr = Field(default="", max_length=TEXT)


class CompensationIn(StrictIn):
    type: CompensationType
    value: Money | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    currency: str = Field(default="", pattern=r"^([A-Za-z]{3})?$")
    note: CleanStr = Field(default="", max_length=TEXT)
    coupon_min_order: Money | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    coupon_valid_days: int = Field(default=90, ge=1, le=730)


class DecisionIn(StrictIn):
    approve: bool
    note: CleanStr = Field(default="", max_length=TEXT)


class ItemOut(BaseModel):
    id: int
    sku: str
    description: str
    serial: str
    quantity: int
    order_ref: str
    purchased_on: date | None
    delivered_on: date | None
    unit_price: str | None
    warranty_ends: date | None


class ShipmentOut(BaseModel):
    id: int
    direction: str
    carrier: str
    tracking_number: str
    shipped_at: datetime
    delivered_at: datetime | None


class InspectionOut(BaseModel):
    packaging_ok: bool
    function_ok: bool
    matches_description: bool
    accessories_complete: bool
    customer_damage: bool
    notes: str
    passed: bool
    photos: list[int]
    inspected_by: str | None
    inspected_at: datetime


class DiagnosisOut(BaseModel):
    fault: str
    repair_plan: str
    repair_eta: date | None
    quote_amount: str | None
    quote_currency: str
    quote_status: str
    quote_answered_at: datetime | None


class QuickCloseOut(BaseModel):
    rule: str | None
    outcome: str


class RmaOut(BaseModel):
    number: str
    kind: str
    state: str
    reason: str
    reason_detail: str
    warranty_status: str
    warranty_ends: date | None
    window_ends: date | None
    within_window: bool | None
    extended_warranty_months: int
    rejection_reason: str
    return_address: str
    return_instructions: str
    disposition: str
    diagnosis: DiagnosisOut
    refund_amount: str | None
    refund_currency: str
    quick_close: QuickCloseOut | None
    confirm_due_at: datetime | None
    auto_confirmed: bool
    milestones: dict[str, datetime]
    allowed_transitions: list[str]
    items: list[ItemOut]
    shipments: list[ShipmentOut]
    inspection: InspectionOut | None


class RmaListOut(BaseModel):
    items: list[RmaOut]


class QuickCloseCheckOut(BaseModel):
    outcome: str
    allowed: bool
    rule: str | None
    amount: str | None
    currency: str
    refusals: dict[str, str]


class CouponOut(BaseModel):
    code: str
    value: str
    currency: str
    min_order_amount: str
    valid_until: date


class ProposalOut(BaseModel):
    id: int
    case: str
    type: str
    value: str | None
    currency: str
    note: str
    tier: str
    required_role: str
    status: str
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str
    coupon: CouponOut | None
