"""API shapes of the SLA engine."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Schema
from pydantic import BaseModel, Field


class SlaClockOut(BaseModel):
    """One clock of a case. `remaining_seconds` is working time, computed when read (negative
    once overdue); `due_at` is null while paused."""

    state: str
    due_at: datetime | None
    remaining_seconds: int | None
    target_seconds: int
    started_at: datetime
    met_at: datetime | None
    breached_at: datetime | None
    escalated: bool


class IntervalOut(BaseModel):
    weekday: int
    start: str
    end: str


class CalendarDateOut(BaseModel):
    date: date
    is_working: bool
    intervals: list[list[str]]
    note: str


class CalendarOut(BaseModel):
    name: str
    description: str
    tz: str
    kind: str
    country: str
    is_default: bool
    version: int
    standard_day_seconds: int
    intervals: list[IntervalOut]
    dates: list[CalendarDateOut]


class TargetOut(BaseModel):
    metric: str
    working_seconds: int
    warn_fraction: float | None
    warn_actions: list[str]
    breach_actions: list[str]


class PolicyOut(BaseModel):
    name: str
    position: int
    active: bool
    kinds: list[str]
    priorities: list[str]
    categories: list[str]
    channels: list[str]
    segments: list[str]
    is_complex: bool | None
    calendar: str | None
    pause_statuses: list[str]
    targets: list[TargetOut]


class ReportQuery(Schema):
    from_: datetime | None = Field(
        default=None, alias="from", description="start of the period (default: 30 days ago)"
    )
    to: datetime | None = Field(default=None, description="end of the period (default: now)")


class ComplianceOut(BaseModel):
    metric: str
    total: int
    met_on_time: int
    breached: int
    open: int
    compliance: float | None


class PolicyComplianceOut(ComplianceOut):
    policy: str


class DepartmentComplianceOut(ComplianceOut):
    department: str | None


class AgentComplianceOut(ComplianceOut):
    agent: str | None


class HistogramBinOut(BaseModel):
    le_hours: float | None
    count: int


class DistributionOut(BaseModel):
    count: int
    mean_hours: float | None
    p50_hours: float | None
    p90_hours: float | None
    histogram: list[HistogramBinOut]


class ReportOut(BaseModel):
    from_: datetime = Field(alias="from")
    to: datetime
    by_policy: list[PolicyComplianceOut]
    by_department: list[DepartmentComplianceOut]
    by_agent: list[AgentComplianceOut]
    distributions: dict[str, DistributionOut]
