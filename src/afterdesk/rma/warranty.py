"""Warranty status and policy windows of an RMA (R4), on top of the intake's date arithmetic.

Pure functions of dates and periods: `intake.policies.check_windows` decides every window, so
a request is judged by the same rules at intake and at authorisation. Dates are local dates in
TIME_ZONE (a purchase at 20:00 UTC on 29 Feb is 1 Mar in Shanghai).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from afterdesk.cases.choices import Kind
from afterdesk.intake.policies import Periods, check_windows
from afterdesk.rma.choices import WarrantyStatus


@dataclass(frozen=True)
class ItemDates:
    purchased_on: date | None
    delivered_on: date | None
    warranty_months: int | None  # None: the product is not known


@dataclass(frozen=True)
class Evaluation:
    warranty_status: str
    warranty_ends: date | None
    window_ends: date | None
    within_window: bool | None
    item_warranty_ends: tuple[date | None, ...]


def local_date(value: datetime | None) -> date | None:
    return timezone.localtime(value).date() if value is not None else None


def warranty_end(item: ItemDates, *, extra_months: int = 0) -> date | None:
    """The last day of the item's warranty, or None when its product or dates are unknown."""
    if item.warranty_months is None:
        return None
    outcome = check_windows(
        kind=Kind.REPAIR,
        today=date.min,
        periods=Periods(warranty_months=item.warranty_months + extra_months),
        purchased_on=item.purchased_on,
        delivered_on=item.delivered_on,
    )
    return outcome.ends if outcome is not None else None


def evaluate(
    *,
    kind: str,
    today: date,
    items: list[ItemDates],
    return_days: int,
    exchange_days: int,
    extra_months: int = 0,
) -> Evaluation:
    """Warranty of the items and the window of the request made on `today`.

    In warranty when every item is; out of warranty when any known item is out; unknown when no
    item has a product and a date. The window is the return or exchange window (from delivery),
    or for repairs the warranty itself; for several items the tightest one counts.
    """
    ends = [warranty_end(item, extra_months=extra_months) for item in items]
    known = [e for e in ends if e is not None]
    if not known:
        status, warranty_ends = WarrantyStatus.UNKNOWN, None
    else:
        warranty_ends = min(known)
        status = (
            WarrantyStatus.IN_WARRANTY if today <= warranty_ends else WarrantyStatus.OUT_OF_WARRANTY
        )
    if kind == Kind.REPAIR:
        within = None if warranty_ends is None else today <= warranty_ends
        return Evaluation(str(status), warranty_ends, warranty_ends, within, tuple(ends))
    periods = Periods(return_days=return_days, exchange_days=exchange_days)
    windows = [
        check_windows(
            kind=kind,
            today=today,
            periods=periods,
            delivered_on=item.delivered_on,
            purchased_on=item.purchased_on,
        )
        for item in items
    ]
    checked = [w for w in windows if w is not None]
    if not checked:
        return Evaluation(str(status), warranty_ends, None, None, tuple(ends))
    window_ends = min(w.ends for w in checked)
    return Evaluation(str(status), warranty_ends, window_ends, today <= window_ends, tuple(ends))
