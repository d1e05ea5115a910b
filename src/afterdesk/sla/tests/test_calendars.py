"""Worked examples on real calendars: the 2026 PRC holidays with their make-up working days,
an office calendar on a Friday afternoon, 24×7 across a daylight-saving change."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from afterdesk.sla import selectors, services
from afterdesk.sla.countries import country_year
from afterdesk.sla.models import BusinessCalendar
from afterdesk.sla.worktime import HOUR, parse_duration

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
pytestmark = pytest.mark.django_db


def cn(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


@pytest.fixture
def cn_business():
    return selectors.work_calendar(BusinessCalendar.objects.get(name="cn-business"))


@pytest.fixture
def office():
    """Mon–Fri 09:00–17:00 in Berlin, no holidays."""
    calendar = services.calendar_create(
        name="office",
        tz="Europe/Berlin",
        weekly={day: [(time(9), time(17))] for day in range(5)},
    )
    return selectors.work_calendar(calendar)


def test_seeded_calendars():
    names = {c.name: c for c in BusinessCalendar.objects.all()}
    assert set(names) >= {"cn-business", "24x7"}
    assert names["cn-business"].is_default
    assert names["cn-business"].tz == "Asia/Shanghai"
    work = selectors.work_calendar(names["cn-business"])
    assert work.weekly[0] == ((9 * HOUR, 12 * HOUR), (13 * HOUR, 18 * HOUR))
    assert work.weekly[5] == work.weekly[6] == ()
    assert work.standard_day_seconds == 8 * HOUR
    assert selectors.work_calendar(names["24x7"]).always_open


def test_chinese_calendar_knows_the_2026_schedule():
    off, makeup = country_year("cn", 2026)
    assert {date(2026, 2, d) for d in range(15, 24)} <= off
    assert {date(2026, 10, d) for d in range(1, 8)} <= off
    assert {date(2026, 2, 14), date(2026, 2, 28), date(2026, 9, 20), date(2026, 10, 10)} <= makeup


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        # Spring Festival: Friday afternoon, then the make-up Saturday 14 February.
        (cn(2026, 2, 13, 16, 30), "4h", cn(2026, 2, 14, 11, 30)),
        # Two working days from Friday 16:30: Friday, the make-up Saturday, then Tuesday 24th
        # after the nine days off (15–23 February).
        (cn(2026, 2, 13, 16, 30), "2d", cn(2026, 2, 24, 16, 30)),
        # From the make-up Saturday evening, straight over the holiday to Tuesday.
        (cn(2026, 2, 14, 17, 0), "4h", cn(2026, 2, 24, 12, 0)),
        # Opened during the holiday: the clock starts when work starts again.
        (cn(2026, 2, 18, 10, 0), "1h", cn(2026, 2, 24, 10, 0)),
        # The second make-up Saturday, 28 February.
        (cn(2026, 2, 27, 17, 0), "4h", cn(2026, 2, 28, 12, 0)),
        # Mid-Autumn Festival (Friday 25 September) and the make-up Sunday 20 September.
        (cn(2026, 9, 18, 17, 0), "4h", cn(2026, 9, 20, 12, 0)),
        (cn(2026, 9, 24, 17, 0), "2h", cn(2026, 9, 28, 10, 0)),
        # National Day: 1–7 October off, work again on Thursday the 8th.
        (cn(2026, 9, 30, 16, 30), "4h", cn(2026, 10, 8, 11, 30)),
        (cn(2026, 9, 30, 16, 30), "2d", cn(2026, 10, 9, 16, 30)),
        # …and the make-up Saturday 10 October.
        (cn(2026, 10, 9, 17, 0), "4h", cn(2026, 10, 10, 12, 0)),
        # Lunch break: 11:30 + 1 h is 13:30, not 12:30.
        (cn(2026, 11, 23, 11, 30), "1h", cn(2026, 11, 23, 13, 30)),
        # A target that ends at closing time is due at closing time.
        (cn(2026, 11, 23, 17, 0), "1h", cn(2026, 11, 23, 18, 0)),
        # Friday 16:30 + two working days = Tuesday 16:30.
        (cn(2026, 11, 20, 16, 30), "2d", cn(2026, 11, 24, 16, 30)),
    ],
)
def test_cn_business_worked_examples(cn_business, start, duration, due):
    seconds = parse_duration(duration, day_seconds=cn_business.standard_day_seconds)
    assert cn_business.add(start, seconds) == due
    assert cn_business.working_seconds(start, due) == seconds


def test_cn_business_working_time_over_the_spring_festival(cn_business):
    # 13 Feb (Friday), 14 Feb (make-up Saturday) and 24 Feb (Tuesday): three days of 8 h.
    assert cn_business.working_seconds(cn(2026, 2, 13, 9), cn(2026, 2, 25, 9)) == 24 * HOUR
    assert not cn_business.is_working_day(date(2026, 2, 23))
    assert cn_business.is_working_day(date(2026, 2, 14))
    assert cn_business.is_working(cn(2026, 2, 14, 9, 30))
    assert not cn_business.is_working(cn(2026, 2, 16, 9, 30))


def test_years_after_chinese_calendar_fall_back_to_the_holidays_package(cn_business):
    # chinese-calendar 1.11 ends with 2026; the 2027 Spring Festival comes from `holidays`.
    assert not cn_business.is_working_day(date(2027, 2, 8))
    assert cn_business.is_working_day(date(2027, 3, 1))


def test_friday_afternoon_in_an_office_calendar(office):
    """Opened Friday 16:30 with 4 working hours in a Mon–Fri 09:00–17:00 calendar: due Monday
    12:30 (half an hour on Friday, three and a half on Monday)."""
    start = datetime(2026, 11, 20, 16, 30, tzinfo=BERLIN)
    assert office.add(start, 4 * HOUR) == datetime(2026, 11, 23, 12, 30, tzinfo=BERLIN)
    # The same across the autumn clock change (Sunday 25 October 2026).
    start = datetime(2026, 10, 23, 16, 30, tzinfo=BERLIN)
    assert office.add(start, 4 * HOUR) == datetime(2026, 10, 26, 12, 30, tzinfo=BERLIN)


def test_admin_dates_override_the_weekly_hours(office):
    calendar = BusinessCalendar.objects.get(name="office")
    services.calendar_set_date(calendar=calendar, day=date(2026, 11, 23), is_working=False)
    services.calendar_set_date(
        calendar=calendar,
        day=date(2026, 11, 21),
        is_working=True,
        intervals=[("10:00", "12:00")],
        note="stock-taking Saturday",
    )
    calendar.refresh_from_db()
    work = selectors.work_calendar(calendar)
    start = datetime(2026, 11, 20, 16, 30, tzinfo=BERLIN)
    # Friday 0.5 h, Saturday 10–12 (2 h), Monday off, Tuesday 1.5 h.
    assert work.add(start, 4 * HOUR) == datetime(2026, 11, 24, 10, 30, tzinfo=BERLIN)
    assert calendar.version == 4


def test_24x7_across_the_spring_clock_change():
    always = selectors.work_calendar(BusinessCalendar.objects.get(name="24x7"))
    start = datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)
    # 24 working hours are 24 real hours: 13:00 on Sunday by the Berlin clock.
    due = always.add(start, 24 * HOUR)
    assert due - start == timedelta(hours=24)
    assert due.astimezone(BERLIN).hour == 13


def test_a_weekly_calendar_in_new_york_across_the_autumn_change():
    calendar = services.calendar_create(
        name="ny-night",
        tz="America/New_York",
        weekly={day: [(time(0), time(3))] for day in range(7)},
    )
    work = selectors.work_calendar(calendar)
    ny = ZoneInfo("America/New_York")
    # 1 November 2026: 01:00–02:00 happens twice, so 00:00–03:00 holds four hours of work.
    assert (
        work.working_seconds(
            datetime(2026, 11, 1, 0, 0, tzinfo=ny), datetime(2026, 11, 1, 12, 0, tzinfo=ny)
        )
        == 4 * HOUR
    )
    # 8 March 2026: 02:00–03:00 does not exist, so the same hours hold two.
    assert (
        work.working_seconds(
            datetime(2026, 3, 8, 0, 0, tzinfo=ny), datetime(2026, 3, 8, 12, 0, tzinfo=ny)
        )
        == 2 * HOUR
    )
