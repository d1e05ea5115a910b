"""API schemas of the triage app."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from afterdesk.core.schemas import CleanStr, StrictIn, SupportedDatetime

Codes = list[CleanStr]


class RuleIn(StrictIn):
    name: CleanStr = Field(min_length=1, max_length=100)
    position: int = Field(default=100, ge=0, le=1_000_000)
    is_active: bool = True
    kinds: Codes = Field(default_factory=list, max_length=50)
    channels: Codes = Field(default_factory=list, max_length=50)
    keywords: Codes = Field(default_factory=list, max_length=50)
    pattern: CleanStr = Field(default="", max_length=500)
    segments: Codes = Field(default_factory=list, max_length=50)
    vip: CleanStr = Field(default="", max_length=10, description="'', 'vip' or 'regular'")
    amount_min: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    amount_max: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    product_lines: Codes = Field(default_factory=list, max_length=50)
    languages: Codes = Field(default_factory=list, max_length=50)
    set_category: CleanStr = Field(default="", max_length=60)
    set_priority: CleanStr = Field(default="", max_length=10)
    set_department: CleanStr = Field(default="", max_length=40)
    add_tags: Codes = Field(default_factory=list, max_length=20)
    set_complex: bool = False
    assign_to: CleanStr = Field(default="", max_length=150, description="a username")
    assign_team: CleanStr = Field(default="", max_length=40, description="a department code")
    overrides_caller: bool = False
    stop: bool = False


class RuleOut(BaseModel):
    id: int
    name: str
    position: int
    is_active: bool
    kinds: list[str]
    channels: list[str]
    keywords: list[str]
    pattern: str
    segments: list[str]
    vip: str
    amount_min: Decimal | None
    amount_max: Decimal | None
    product_lines: list[str]
    languages: list[str]
    set_category: str | None
    set_priority: str
    set_department: str | None
    add_tags: list[str]
    set_complex: bool
    assign_to: str | None
    assign_team: str | None
    overrides_caller: bool
    stop: bool


class RouteIn(StrictIn):
    kind: CleanStr = Field(default="", max_length=20)
    category: CleanStr = Field(default="", max_length=60)
    department: CleanStr = Field(min_length=1, max_length=40)
    position: int = Field(default=100, ge=0, le=1_000_000)


class RouteOut(BaseModel):
    id: int
    kind: str
    category: str | None
    department: str
    position: int


class SettingsIn(StrictIn):
    confidence_threshold: float | None = Field(default=None, ge=0, le=1)
    assignment_mode: CleanStr | None = Field(default=None, max_length=20)
    default_max_open: int | None = Field(default=None, ge=0, le=10_000)
    urgent_words: CleanStr | None = Field(default=None, max_length=10_000)
    negative_words: CleanStr | None = Field(default=None, max_length=10_000)
    negative_threshold: int | None = Field(default=None, ge=1, le=20)


class SettingsOut(BaseModel):
    confidence_threshold: float
    assignment_mode: str
    default_max_open: int
    urgent_words: list[str]
    negative_words: list[str]
    negative_threshold: int
    version: int


class ShiftIO(StrictIn):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    start: time
    end: time = Field(description="before `start`: the shift runs past midnight")


class AgentIn(StrictIn):
    languages: Codes = Field(default_factory=list, max_length=10)
    product_lines: Codes = Field(default_factory=list, max_length=50)
    max_open: int | None = Field(default=None, ge=0, le=10_000)
    auto_assign: bool = True
    is_away: bool = False
    shifts: list[ShiftIO] | None = Field(default=None, max_length=21)


class AwayIn(StrictIn):
    away: bool


class AgentOut(BaseModel):
    username: str
    name: str
    role: str
    departments: list[str]
    in_assignment: bool
    auto_assign: bool
    is_away: bool
    languages: list[str]
    product_lines: list[str]
    max_open: int | None
    shifts: list[ShiftIO]


class ModelOut(BaseModel):
    version: int
    is_active: bool
    created_at: datetime
    trained_by: str | None
    sklearn_version: str
    train_size: int
    test_size: int
    seconds: float
    report: dict[str, Any]


class TrainIn(StrictIn):
    activate: bool = True


class ClassifyIn(StrictIn):
    subject: CleanStr = Field(default="", max_length=200)
    body: CleanStr = Field(default="", max_length=50_000)


class Scored(BaseModel):
    code: str
    p: float


class ClassifyOut(BaseModel):
    model: int | None
    categories: list[Scored]
    priorities: list[Scored]
    urgent_words: list[str]
    negative_words: list[str]


class WhyOut(BaseModel):
    type: str
    at: datetime
    field: str
    old: Any = None
    new: Any = None
    payload: dict[str, Any]


class CaseTriageOut(BaseModel):
    number: str
    needs_triage: bool
    suggestions: list[Scored]
    priority_suggestions: list[Scored]
    model: int | None
    why: list[WhyOut]
    assigned_by: str | None


class ApplyIn(StrictIn):
    category: CleanStr = Field(min_length=1, max_length=60)
    priority: CleanStr = Field(default="", max_length=10)


class NeedsTriageItem(BaseModel):
    number: str
    subject: str
    created_at: datetime
    department: str | None
    suggestions: list[Scored]


class SubTaskIn(StrictIn):
    department: CleanStr = Field(min_length=1, max_length=40)
    title: CleanStr = Field(min_length=1, max_length=200)
    description: CleanStr = Field(default="", max_length=10_000)
    owner: CleanStr = Field(default="", max_length=150)
    due_at: SupportedDatetime | None = None


class SubTaskUpdateIn(StrictIn):
    status: CleanStr = Field(default="", max_length=20)
    owner: CleanStr | None = Field(default=None, max_length=150, description="'' unassigns")
    due_at: SupportedDatetime | None = None
    clear_due: bool = False


class SubTaskOut(BaseModel):
    id: int
    department: str
    title: str
    description: str
    owner: str | None
    due_at: datetime | None
    status: str
    created_at: datetime
    completed_at: datetime | None


class MemberIn(StrictIn):
    username: CleanStr = Field(min_length=1, max_length=150)
    role: CleanStr = Field(default="member", max_length=20)
    note: CleanStr = Field(default="", max_length=200)


class MemberOut(BaseModel):
    username: str
    name: str
    role: str
    note: str
    added_at: datetime


class EscalateIn(StrictIn):
    supervisor: CleanStr = Field(min_length=1, max_length=150)
    reason: CleanStr = Field(min_length=1, max_length=1000)
