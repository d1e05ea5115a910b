from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from afterdesk.cases.choices import Channel, Kind, LinkKind, Priority, Status
from afterdesk.core.schemas import CleanStr, StrictIn
from afterdesk.sla.schemas import SlaClockOut


class CustomerIn(StrictIn):
    name: CleanStr = Field(default="", max_length=200)
    email: CleanStr = Field(default="", max_length=254)
    phone: CleanStr = Field(default="", max_length=40)
    language: CleanStr = Field(default="", max_length=10)


class CaseCreateIn(StrictIn):
    kind: Kind
    channel: Channel = Channel.API
    subject: CleanStr = Field(min_length=1, max_length=200)
    description: CleanStr = Field(default="", max_length=50_000)
    customer: CustomerIn
    order_ref: CleanStr = Field(default="", max_length=64)
    product_sku: CleanStr = Field(default="", max_length=64)
    serial: CleanStr = Field(default="", max_length=100)
    amount: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    currency: str = Field(default="", pattern=r"^([A-Za-z]{3})?$")
    priority: Priority | None = None
    category: CleanStr | None = Field(default=None, max_length=60)
    department: CleanStr | None = Field(default=None, max_length=40)
    tags: list[CleanStr] = Field(default_factory=list, max_length=20)
    is_complex: bool = False


class CaseUpdateIn(StrictIn):
    version: int = Field(ge=1)
    subject: CleanStr | None = Field(default=None, min_length=1, max_length=200)
    description: CleanStr | None = Field(default=None, max_length=50_000)
    kind: Kind | None = None
    priority: Priority | None = None
    category: CleanStr | None = Field(default=None, max_length=60)
    department: CleanStr | None = Field(default=None, max_length=40)
    owner: CleanStr | None = Field(default=None, max_length=150)
    order_ref: CleanStr | None = Field(default=None, max_length=64)
    product_sku: CleanStr | None = Field(default=None, max_length=64)
    serial: CleanStr | None = Field(default=None, max_length=100)
    amount: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$")
    tags: list[CleanStr] | None = Field(default=None, max_length=20)
    is_complex: bool | None = None


class MessageIn(StrictIn):
    body: CleanStr = Field(min_length=1, max_length=50_000)
    internal: bool = False


class TransitionIn(StrictIn):
    to: Status
    note: CleanStr = Field(default="", max_length=5_000)


class LinkIn(StrictIn):
    target: CleanStr = Field(min_length=1, max_length=32)
    kind: LinkKind


class TrackIn(StrictIn):
    number: CleanStr = Field(min_length=1, max_length=32)
    contact: CleanStr = Field(min_length=1, max_length=254)


class UserRef(BaseModel):
    username: str
    name: str


class CustomerRef(BaseModel):
    id: int
    name: str
    email: str
    phone: str
    vip_tier: str


class LinkOut(BaseModel):
    kind: str
    direction: str
    number: str
    subject: str
    status: str


class CaseOut(BaseModel):
    number: str
    kind: str
    channel: str
    status: str
    priority: str
    category: str | None
    subject: str
    description: str
    owner: UserRef | None
    department: str | None
    customer: CustomerRef
    order_ref: str
    product_sku: str
    serial: str
    amount: str | None
    currency: str
    tags: list[str]
    is_complex: bool
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    version: int
    allowed_transitions: list[str]
    # The SLA clocks by metric (first_response, resolution, …); empty for customers.
    sla: dict[str, SlaClockOut]


class CaseDetailOut(CaseOut):
    links: list[LinkOut]


class CaseListOut(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    internal: bool
    created_at: datetime


class MessageOut(BaseModel):
    id: int
    body: str
    internal: bool
    from_customer: bool
    channel: str
    author: UserRef | None
    created_at: datetime
    attachments: list[AttachmentOut]


class EventOut(BaseModel):
    type: str
    at: datetime
    actor: str | None
    by_customer: bool
    field: str
    old: Any
    new: Any
    payload: dict[str, Any]


class TrackEntryOut(BaseModel):
    type: str
    at: datetime
    status: str | None = None
    from_customer: bool | None = None
    body: str | None = None


class TrackOut(BaseModel):
    number: str
    kind: str
    status: str
    subject: str
    created_at: datetime
    updated_at: datetime
    timeline: list[TrackEntryOut]
