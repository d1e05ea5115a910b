"""Property tests: the working-time arithmetic against a minute-by-minute reference.

The reference knows nothing of the engine's UTC buckets: it walks UTC minutes, reads each one
on the local wall clock and asks whether that local time lies in the hours of its local date.
Random weekly schedules (lunch breaks, night intervals, whole days), random holidays, make-up
days and explicit dates, starts around the 2026 daylight-saving changes of Berlin and New York.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from afterdesk.sla.worktime import (
    DAY,
    HOUR,
    NoWorkingTime,
    WorkCalendar,
    due_from,
    parse_duration,
    remaining_at,
)

ZONES = ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC"]
# The 2026 daylight-saving changes (UTC instants), where the interesting starts are.
DST_CHANGES = [
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),  # New York springs forward
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # Berlin springs forward
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # Berlin falls back
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),  # New York falls back
]
WINDOW_START = datetime(2026, 2, 1, tzinfo=UTC)
WINDOW_DAYS = 320
REFERENCE_DAYS = 16
PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def day_hours(draw: st.DrawFn) -> tuple[tuple[int, int], ...]:
    """0-3 intervals of a day in whole minutes; sometimes the whole day or a night shift."""
    shape = draw(st.sampled_from(["random", "random", "random", "off", "full", "night"]))
    if shape == "off":
        return ()
    if shape == "full":
        return ((0, DAY),)
    if shape == "night":
        return ((0, 6 * HOUR), (22 * HOUR, DAY))
    cuts = sorted(draw(st.sets(st.integers(0, 1440), min_size=2, max_size=6)))
    pairs = [(cuts[i] * 60, cuts[i + 1] * 60) for i in range(0, len(cuts) - 1, 2)]
    return tuple(pairs)


@st.composite
def calendars(draw: st.DrawFn) -> dict[str, object]:
    tz = draw(st.sampled_from(ZONES))
    weekly = [draw(day_hours()) for _ in range(7)]
    # At least one working weekday, so the calendar has a standard day.
    assume(any(weekly))
    window_dates = st.dates(
        min_value=WINDOW_START.date(), max_value=(WINDOW_START + timedelta(WINDOW_DAYS)).date()
    )
    off = draw(st.frozensets(window_dates, max_size=25))
    makeup = draw(st.frozensets(window_dates, max_size=8)) - off
    explicit = draw(st.dictionaries(window_dates, st.one_of(st.none(), day_hours()), max_size=8))
    return {"tz": tz, "weekly": weekly, "off": off, "makeup": makeup, "dates": explicit}


def build(spec: dict[str, object]) -> WorkCalendar:
    off, makeup = spec["off"], spec["makeup"]

    def year_days(year: int) -> tuple[frozenset[date], frozenset[date]]:
        return off, makeup  # type: ignore[return-value]

    return WorkCalendar(
        tz=spec["tz"],  # type: ignore[arg-type]
        weekly=spec["weekly"],  # type: ignore[arg-type]
        dates=spec["dates"],  # type: ignore[arg-type]
        country_days=year_days,
    )


class Reference:
    """Minute-by-minute working time, straight from the rules in the calendar's docstring."""

    def __init__(self, spec: dict[str, object]) -> None:
        self.spec = spec
        self.zone = ZoneInfo(spec["tz"])  # type: ignore[arg-type]
        weekly = spec["weekly"]
        self.standard = next(day for day in weekly if day)  # type: ignore[attr-defined]

    def hours(self, day: date) -> tuple[tuple[int, int], ...]:
        weekly = self.spec["weekly"]
        normal = weekly[day.weekday()] or self.standard  # type: ignore[index]
        explicit = self.spec["dates"]
        if day in explicit:  # type: ignore[operator]
            value = explicit[day]  # type: ignore[index]
            return normal if value is None else value
        if day in self.spec["makeup"]:  # type: ignore[operator]
            return normal
        if day in self.spec["off"]:  # type: ignore[operator]
            return ()
        return weekly[day.weekday()]  # type: ignore[index,no-any-return]

    def working_minute(self, minute_start: datetime) -> bool:
        local = minute_start.astimezone(self.zone)
        seconds = local.hour * 3600 + local.minute * 60
        return any(s <= seconds < e for s, e in self.hours(local.date()))

    def add(self, start: datetime, minutes: int) -> datetime | None:
        t = start
        for _ in range(REFERENCE_DAYS * 1440):
            if minutes == 0:
                return t
            if self.working_minute(t):
                minutes -= 1
            t += timedelta(minutes=1)
        return t if minutes == 0 else None

    def subtract(self, start: datetime, minutes: int) -> datetime | None:
        t = start
        for _ in range(REFERENCE_DAYS * 1440):
            if minutes == 0:
                return t
            t -= timedelta(minutes=1)
            if self.working_minute(t):
                minutes -= 1
        return t if minutes == 0 else None

    def between(self, a: datetime, b: datetime) -> int:
        count, t = 0, a
        while t < b:
            count += self.working_minute(t)
            t += timedelta(minutes=1)
        return count * 60


@st.composite
def starts(draw: st.DrawFn) -> datetime:
    """A whole-minute UTC instant: anywhere in the window, or within two days of a DST change."""
    if draw(st.booleans()):
        anchor = draw(st.sampled_from(DST_CHANGES))
        return anchor + timedelta(minutes=draw(st.integers(-2 * 1440, 2 * 1440)))
    return WINDOW_START + timedelta(minutes=draw(st.integers(0, (WINDOW_DAYS - 20) * 1440)))


@PROPERTY_SETTINGS
@given(spec=calendars(), start=starts(), minutes=st.integers(0, 30 * 60))
def test_add_matches_the_reference(spec, start, minutes):
    expected = Reference(spec).add(start, minutes)
    assume(expected is not None)
    assert build(spec).add(start, minutes * 60) == expected


@PROPERTY_SETTINGS
@given(spec=calendars(), start=starts(), minutes=st.integers(0, 30 * 60))
def test_subtract_matches_the_reference(spec, start, minutes):
    expected = Reference(spec).subtract(start, minutes)
    assume(expected is not None)
    assert build(spec).add(start, -minutes * 60) == expected


@PROPERTY_SETTINGS
@given(spec=calendars(), a=starts(), span=st.integers(0, 6 * 1440))
def test_working_seconds_matches_the_reference(spec, a, span):
    b = a + timedelta(minutes=span)
    calendar = build(spec)
    expected = Reference(spec).between(a, b)
    assert calendar.working_seconds(a, b) == expected
    assert calendar.working_seconds(b, a) == -expected


@PROPERTY_SETTINGS
@given(
    spec=calendars(),
    start=starts(),
    minutes=st.integers(1, 20 * 60),
    pauses=st.lists(st.tuples(st.integers(0, 3 * 1440), st.integers(0, 2 * 1440)), max_size=3),
)
def test_paused_clock_matches_the_reference(spec, start, minutes, pauses):
    """A clock paused and resumed: the due time counts only the working minutes not paused."""
    reference = Reference(spec)
    calendar = build(spec)
    # Pauses as absolute [pause, resume) intervals in order, not overlapping.
    intervals, cursor = [], start
    for gap, length in pauses:
        paused = cursor + timedelta(minutes=gap)
        resumed = paused + timedelta(minutes=length)
        intervals.append((paused, resumed))
        cursor = resumed

    # The engine, as the timer services use it: anchor + remaining, re-anchored on resume.
    anchor, remaining = start, minutes * 60
    expected_due = None
    for paused, resumed in intervals:
        left = remaining_at(calendar, anchor=anchor, remaining=remaining, at=paused)
        if left <= 0:
            break
        anchor, remaining = resumed, left
    due = due_from(calendar, anchor=anchor, remaining=remaining)

    # The reference: walk minutes, skip paused ones, stop at the last working minute needed.
    t, left = start, minutes
    for _ in range(REFERENCE_DAYS * 1440 + sum(length for _g, length in pauses)):
        if left == 0:
            expected_due = t
            break
        in_pause = any(p <= t < r for p, r in intervals)
        if not in_pause and reference.working_minute(t):
            left -= 1
        t += timedelta(minutes=1)
    assume(expected_due is not None)
    # A clock that ran out before a pause is due when it ran out.
    assert due == expected_due


def test_no_working_time_is_an_error():
    calendar = WorkCalendar(tz="UTC", weekly=[(), (), (), (), (), (), ((0, HOUR),)])
    closed = WorkCalendar(
        tz="UTC",
        weekly=[((0, HOUR),)] + [()] * 6,
        country_days=lambda year: (
            frozenset(date(year, 1, 1) + timedelta(d) for d in range(366)),
            frozenset(),
        ),
    )
    assert calendar.add(datetime(2026, 1, 1, tzinfo=UTC), HOUR) == datetime(
        2026, 1, 4, 1, tzinfo=UTC
    )
    with pytest.raises(NoWorkingTime):
        closed.add(datetime(2026, 1, 1, tzinfo=UTC), HOUR)


def test_naive_instants_are_refused():
    calendar = WorkCalendar(tz="UTC", always_open=True)
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.add(datetime(2026, 1, 1), 60)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("4h", 4 * HOUR),
        ("90m", 90 * 60),
        ("2d", 2 * 8 * HOUR),
        ("1h30m", 90 * 60),
        ("45s", 45),
        (" 2D ", 2 * 8 * HOUR),
        ("0h", 0),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text, day_seconds=8 * HOUR) == seconds


@pytest.mark.parametrize("text", ["", "4", "h", "4x", "-4h", "4.5h", "4h ago", "P1D"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text, day_seconds=8 * HOUR)


def test_weekly_needs_seven_days_and_valid_intervals():
    with pytest.raises(ValueError, match="seven"):
        WorkCalendar(tz="UTC", weekly=[((0, HOUR),)])
    with pytest.raises(ValueError, match="inside one day"):
        WorkCalendar(tz="UTC", weekly=[((HOUR, 0),)] * 7)
