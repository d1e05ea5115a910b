"""API schemas of intake: the webhook payload and the quarantine."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from afterdesk.cases.choices import Kind
from afterdesk.core.schemas import CleanStr, StrictIn


class WebhookCustomerIn(StrictIn):
    """Who complains. Matched by `external_ref` (a customer imported with it), else by e-mail
    or phone, else created — so give an e-mail or a phone unless the reference is known."""

    name: CleanStr = Field(min_length=1, max_length=200)
    email: CleanStr = Field(default="", max_length=254)
    phone: CleanStr = Field(default="", max_length=40)
    external_ref: CleanStr = Field(default="", max_length=100)


class WebhookOrderLineIn(StrictIn):
    sku: CleanStr = Field(min_length=1, max_length=64)
    description: CleanStr = Field(default="", max_length=200)
    quantity: int = Field(default=1, ge=1, le=1_000_000)
    serial: CleanStr = Field(default="", max_length=100)
    unit_price: Decimal = Field(default=Decimal("0"), ge=0, max_digits=12, decimal_places=2)


class WebhookOrderIn(StrictIn):
    """The order the request is about; created or updated (by reference) with its lines."""

    reference: CleanStr = Field(min_length=1, max_length=64)
    placed_at: AwareDatetime
    delivered_at: AwareDatetime | None = None
    currency: str = Field(default="CNY", pattern=r"^[A-Za-z]{3}$")
    lines: list[WebhookOrderLineIn] = Field(default_factory=list, max_length=200)


class WebhookCaseIn(StrictIn):
    """For `case.create`: kind and subject are required. For `message.create`: `number`."""

    kind: Kind | None = None
    subject: CleanStr = Field(default="", max_length=200)
    description: CleanStr = Field(default="", max_length=50_000)
    product_sku: CleanStr = Field(default="", max_length=64)
    serial: CleanStr = Field(default="", max_length=100)
    amount: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    currency: str = Field(default="", pattern=r"^([A-Za-z]{3})?$")
    number: str = Field(default="", max_length=32)


class WebhookMessageIn(StrictIn):
    body: CleanStr = Field(min_length=1, max_length=50_000)


class WebhookIn(StrictIn):
    """One event from a shop, marketplace, social-media or chat platform."""

    event_id: CleanStr = Field(
        min_length=1,
        max_length=200,
        description="The source's id of this event; a replay with the same id changes nothing "
        "and gets the original answer.",
    )
    type: Literal["case.create", "message.create"]
    customer: WebhookCustomerIn
    order: WebhookOrderIn | None = None
    case: WebhookCaseIn | None = None
    message: WebhookMessageIn | None = None


class PolicyOut(BaseModel):
    within: bool
    flags: list[str]
    window: str
    ends: str


class WebhookOut(BaseModel):
    event_id: str
    type: str
    case: str = Field(description="the case number")
    message: int | None = Field(default=None, description="the message id (message.create)")
    policy: PolicyOut | None = Field(
        default=None, description="the policy-window check, when the order or product is known"
    )


class QuarantinedOut(BaseModel):
    id: int
    mailbox: str
    source: str
    state: str
    reason: str
    error: str
    message_id: str
    sender: str
    subject: str
    size: int
    attempts: int
    received_at: datetime


class QuarantinePageOut(BaseModel):
    items: list[QuarantinedOut]
    next_cursor: str | None
