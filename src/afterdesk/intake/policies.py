"""Policy windows (R4): is a request inside the periods the company accepts it in?

`check_windows` is a pure function of dates and periods, so the RMA app can apply the same
rules at authorisation time. Which periods apply to which product comes from the database
(`IntakePolicy` per product line, the product's warranty) — see `hooks.policy_check_record`.

The seeded defaults and where they come from:

- return within 7 days of delivery: the PRC Consumer Rights Protection Law, art. 25 (seven-day
  no-reason return for distance selling);
- exchange within 15 days: the "three guarantees" rules (部分商品修理更换退货责任规定, art. 8:
  exchange for a performance fault within 15 days of sale);
- repair within the warranty: the product's own `warranty_months` (three-guarantees warranty
  periods are set per product category, commonly one year);
- complaints within 90 days of delivery: not a statutory period, a company default that keeps
  stale claims to a manual review; change it in the admin.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from afterdesk.cases.choices import Kind
from afterdesk.intake.choices import PolicyFlag

DEFAULT_COMPLAINT_DAYS = 90
DEFAULT_RETURN_DAYS = 7
DEFAULT_EXCHANGE_DAYS = 15


@dataclass(frozen=True)
class Periods:
    """The acceptance periods that apply to one product."""

    complaint_days_after_delivery: int = DEFAULT_COMPLAINT_DAYS
    return_days: int = DEFAULT_RETURN_DAYS
    exchange_days: int = DEFAULT_EXCHANGE_DAYS
    warranty_months: int | None = None  # None: the product is not known


@dataclass(frozen=True)
class WindowCheck:
    """The outcome: inside every applicable window, or the flags of the ones missed.

    `window` names the period that applied ("return", "exchange", "warranty", "complaint"),
    `days`/`months` its length, `starts` the date it runs from and `ends` its last day.
    """

    within: bool
    flags: tuple[str, ...]
    window: str
    starts: date
    ends: date
    days: int | None = None
    months: int | None = None


def add_months(day: date, months: int) -> date:
    """`day` plus whole calendar months, clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_last_day(start: date, months: int) -> date:
    """The last day of a period of whole months from `start`: the day before the same date
    `months` later, or the last day of that month when it has no such date (a one-year
    warranty bought on 29 Feb 2024 runs to 28 Feb 2025, not 27 Feb)."""
    same_date = add_months(start, months)
    if same_date.day != start.day:
        return same_date
    return same_date - timedelta(days=1)


def check_windows(
    *,
    kind: str,
    today: date,
    periods: Periods,
    delivered_on: date | None = None,
    purchased_on: date | None = None,
) -> WindowCheck | None:
    """Check a request of `kind` made on `today` against `periods`.

    Returns, exchanges and complaints run from delivery (from the purchase when the delivery
    date is unknown); repairs are judged against the warranty, which runs from the purchase.
    The last day of a period is still inside it. None when nothing applies: an inquiry, no
    date to count from, or a repair of an unknown product.
    """
    received = delivered_on or purchased_on
    if kind == Kind.REPAIR:
        starts = purchased_on or delivered_on
        if starts is None or periods.warranty_months is None:
            return None
        ends = months_last_day(starts, periods.warranty_months)
        return WindowCheck(
            within=today <= ends,
            flags=() if today <= ends else (PolicyFlag.WARRANTY_EXPIRED.value,),
            window="warranty",
            starts=starts,
            ends=ends,
            months=periods.warranty_months,
        )
    rules = {
        Kind.RETURN: ("return", periods.return_days, PolicyFlag.RETURN_WINDOW),
        Kind.EXCHANGE: ("exchange", periods.exchange_days, PolicyFlag.EXCHANGE_WINDOW),
        Kind.COMPLAINT: (
            "complaint",
            periods.complaint_days_after_delivery,
            PolicyFlag.COMPLAINT_WINDOW,
        ),
        Kind.DISPUTE: (
            "complaint",
            periods.complaint_days_after_delivery,
            PolicyFlag.COMPLAINT_WINDOW,
        ),
    }
    rule = rules.get(Kind(kind)) if kind in Kind.values else None
    if rule is None or received is None:
        return None
    window, days, flag = rule
    ends = received + timedelta(days=days)
    return WindowCheck(
        within=today <= ends,
        flags=() if today <= ends else (flag.value,),
        window=window,
        starts=received,
        ends=ends,
        days=days,
    )
