"""The policy-window check is a pure function of dates and periods."""

from __future__ import annotations

from datetime import date

import pytest

from afterdesk.intake.policies import Periods, WindowCheck, add_months, check_windows

PERIODS = Periods(
    complaint_days_after_delivery=90, return_days=7, exchange_days=15, warranty_months=12
)
DELIVERED = date(2026, 11, 1)
PURCHASED = date(2026, 10, 30)


@pytest.mark.parametrize(
    ("kind", "today", "within", "flags", "window", "ends"),
    [
        ("return", date(2026, 11, 8), True, (), "return", date(2026, 11, 8)),
        (
            "return",
            date(2026, 11, 9),
            False,
            ("return_window_passed",),
            "return",
            date(2026, 11, 8),
        ),
        ("exchange", date(2026, 11, 16), True, (), "exchange", date(2026, 11, 16)),
        (
            "exchange",
            date(2026, 11, 17),
            False,
            ("exchange_window_passed",),
            "exchange",
            date(2026, 11, 16),
        ),
        ("complaint", date(2027, 1, 30), True, (), "complaint", date(2027, 1, 30)),
        (
            "complaint",
            date(2027, 1, 31),
            False,
            ("complaint_window_passed",),
            "complaint",
            date(2027, 1, 30),
        ),
        (
            "dispute",
            date(2027, 2, 1),
            False,
            ("complaint_window_passed",),
            "complaint",
            date(2027, 1, 30),
        ),
        # The warranty runs from the purchase.
        ("repair", date(2027, 10, 29), True, (), "warranty", date(2027, 10, 29)),
        (
            "repair",
            date(2027, 10, 30),
            False,
            ("warranty_expired",),
            "warranty",
            date(2027, 10, 29),
        ),
    ],
)
def test_windows(
    kind: str, today: date, within: bool, flags: tuple[str, ...], window: str, ends: date
) -> None:
    check = check_windows(
        kind=kind, today=today, periods=PERIODS, delivered_on=DELIVERED, purchased_on=PURCHASED
    )
    assert isinstance(check, WindowCheck)
    assert (check.within, check.flags, check.window, check.ends) == (within, flags, window, ends)


def test_without_a_delivery_date_the_purchase_counts() -> None:
    check = check_windows(
        kind="return", today=date(2026, 11, 7), periods=PERIODS, purchased_on=PURCHASED
    )
    assert check is not None and check.starts == PURCHASED and not check.within


@pytest.mark.parametrize(
    ("kind", "periods", "delivered", "purchased"),
    [
        ("inquiry", PERIODS, DELIVERED, PURCHASED),
        ("return", PERIODS, None, None),
        ("repair", Periods(), DELIVERED, PURCHASED),  # product unknown: no warranty to judge
    ],
)
def test_nothing_to_check(
    kind: str, periods: Periods, delivered: date | None, purchased: date | None
) -> None:
    assert (
        check_windows(
            kind=kind,
            today=date(2026, 12, 1),
            periods=periods,
            delivered_on=delivered,
            purchased_on=purchased,
        )
        is None
    )


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 5, 15), 24, date(2028, 5, 15)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected
