from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from afterdesk.core.schemas import CleanStr, StrictIn, SupportedDatetime
from afterdesk.customers.choices import Language, VipTier


class CustomerImportIn(StrictIn):
    name: CleanStr = Field(min_length=1, max_length=200)
    external_ref: CleanStr = Field(default="", max_length=100)
    emails: list[CleanStr] = Field(default_factory=list, max_length=10)
    phones: list[CleanStr] = Field(default_factory=list, max_length=10)
    language: Language = Language.ZH_HANS
    vip_tier: VipTier = VipTier.NONE
    segment: CleanStr = Field(default="", max_length=40)
    organisation: CleanStr = Field(default="", max_length=200)
    notes: CleanStr = Field(default="", max_length=5_000)


class OrderLineIn(StrictIn):
    sku: CleanStr = Field(min_length=1, max_length=64)
    description: CleanStr = Field(default="", max_length=200)
    quantity: int = Field(default=1, ge=1, le=100_000)
    serial: CleanStr = Field(default="", max_length=100)
    unit_price: Decimal = Field(default=Decimal("0"), ge=0, max_digits=12, decimal_places=2)


class OrderImportIn(StrictIn):
    reference: CleanStr = Field(min_length=1, max_length=64)
    placed_at: SupportedDatetime
    delivered_at: SupportedDatetime | None = None
    source: CleanStr = Field(default="", max_length=40)
    currency: str = Field(default="CNY", pattern=r"^[A-Za-z]{3}$")
    lines: list[OrderLineIn] = Field(default_factory=list, max_length=500)


class OrderLineOut(BaseModel):
    sku: str
    description: str
    quantity: int
    serial: str
    unit_price: str
    warranty_months: int | None


class OrderOut(BaseModel):
    reference: str
    customer: int
    source: str
    placed_at: datetime
    delivered_at: datetime | None
    currency: str
    total: str
    lines: list[OrderLineOut]


class CustomerOut(BaseModel):
    id: int
    name: str
    external_ref: str
    email: str
    phone: str
    emails: list[str]
    phones: list[str]
    language: str
    vip_tier: str
    segment: str | None
    organisation: str | None
    dedicated_agent: str | None
    created_at: datetime
