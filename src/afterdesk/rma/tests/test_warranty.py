"""Warranty and window arithmetic: month ends, leap days, local dates, several items."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from afterdesk.intake.policies import months_last_day
from afterdesk.rma.warranty import ItemDates, evaluate, local_date, warranty_end


@pytest.mark.parametrize(
    ("start", "months", "last_day"),
    [
        (date(2024, 2, 29), 12, date(2025, 2, 28)),  # no 29 Feb in 2025: the month's last day
        (date(2024, 2, 29), 48, date(2028, 2, 28)),  # 29 Feb 2028 exists: the day before
        (date(2023, 2, 28), 12, date(2024, 2, 27)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 1, 15), 12, date(2027, 1, 14)),
        (date(2026, 12, 31), 6, date(2027, 6, 30)),
    ],
)
def test_months_last_day(start: date, months: int, last_day: date) -> None:
    assert months_last_day(start, months) == last_day


def test_leap_day_purchase_with_twelve_months_warranty() -> None:
    item = ItemDates(
        purchased_on=date(2024, 2, 29), delivered_on=date(2024, 3, 2), warranty_months=12
    )
    assert warranty_end(item) == date(2025, 2, 28)
    on_last_day = evaluate(
        kind="repair", today=date(2025, 2, 28), items=[item], return_days=7, exchange_days=15
    )
    assert (on_last_day.warranty_status, on_last_day.within_window) == ("in_warranty", True)
    day_after = evaluate(
        kind="repair", today=date(2025, 3, 1), items=[item], return_days=7, exchange_days=15
    )
    assert (day_after.warranty_status, day_after.within_window) == ("out_of_warranty", False)


def test_extended_warranty_months_move_the_end() -> None:
    item = ItemDates(purchased_on=date(2024, 2, 29), delivered_on=None, warranty_months=12)
    assert warranty_end(item, extra_months=3) == date(2025, 5, 28)


def test_purchase_late_at_night_utc_counts_on_the_local_date() -> None:
    # 29 Feb 2024 20:00 UTC is 1 Mar 04:00 in Asia/Shanghai (TIME_ZONE).
    bought = datetime(2024, 2, 29, 20, 0, tzinfo=UTC)
    assert local_date(bought) == date(2024, 3, 1)
    item = ItemDates(purchased_on=local_date(bought), delivered_on=None, warranty_months=12)
    assert warranty_end(item) == date(2025, 2, 28)


@pytest.mark.parametrize(
    ("kind", "today", "within"),
    [
        ("return", date(2026, 11, 8), True),  # delivered 1 Nov + 7 days: the 8th is the last
        ("return", date(2026, 11, 9), False),
        ("exchange", date(2026, 11, 16), True),
        ("exchange", date(2026, 11, 17), False),
    ],
)
def test_return_and_exchange_windows_run_from_delivery(kind: str, today: date, within: bool):
    item = ItemDates(
        purchased_on=date(2026, 10, 28), delivered_on=date(2026, 11, 1), warranty_months=12
    )
    outcome = evaluate(kind=kind, today=today, items=[item], return_days=7, exchange_days=15)
    assert outcome.within_window is within
    assert outcome.window_ends == date(2026, 11, 1) + timedelta(days=7 if kind == "return" else 15)
    assert outcome.warranty_status == "in_warranty"


def test_window_falls_back_to_purchase_when_delivery_unknown() -> None:
    item = ItemDates(purchased_on=date(2026, 11, 1), delivered_on=None, warranty_months=None)
    outcome = evaluate(
        kind="return", today=date(2026, 11, 8), items=[item], return_days=7, exchange_days=15
    )
    assert (outcome.within_window, outcome.warranty_status) == (True, "unknown")


def test_several_items_take_the_tightest_window_and_any_out_of_warranty() -> None:
    old = ItemDates(date(2024, 1, 10), date(2024, 1, 12), 12)
    new = ItemDates(date(2026, 11, 1), date(2026, 11, 3), 24)
    outcome = evaluate(
        kind="repair", today=date(2026, 11, 20), items=[old, new], return_days=7, exchange_days=15
    )
    assert outcome.warranty_status == "out_of_warranty"
    assert outcome.warranty_ends == date(2025, 1, 9)
    assert outcome.item_warranty_ends == (date(2025, 1, 9), date(2028, 10, 31))


def test_nothing_known_is_unknown() -> None:
    outcome = evaluate(
        kind="repair",
        today=date(2026, 11, 20),
        items=[ItemDates(None, None, None)],
        return_days=7,
        exchange_days=15,
    )
    assert (outcome.warranty_status, outcome.within_window, outcome.window_ends) == (
        "unknown",
        None,
        None,
    )
