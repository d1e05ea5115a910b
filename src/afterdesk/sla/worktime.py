"""Working time on business calendars: the one module that does the arithmetic (STYLE 14).

Pure Python, no database. A `WorkCalendar` says which wall-clock intervals of each *local* date
in its time zone are working time:

1. an explicit date (an admin's extra holiday or working day) wins;
2. a 24×7 calendar works all day, every day;
3. the country source's make-up working days (调休) work, its holidays are off;
4. otherwise the weekly schedule of that weekday applies.

A working day without hours of its own (a make-up Saturday, an extra working date without
intervals) takes the *standard day*: the weekly hours of the first weekday, from Monday, that
has any. `standard_day_seconds` is also the length of one working day in durations such as
``2d`` (see `parse_duration`).

Working time is the set of UTC instants whose local wall-clock reading falls inside an interval
of its local date. Days are never assumed to be 24 hours long: each local date is mapped to UTC
through the zone's actual offsets, so on a daylight-saving day an interval that spans the
change is an hour shorter (spring) or longer (autumn), a wall-clock time that does not exist
is skipped, and a repeated one counts twice.

Instants are handled as whole seconds (microseconds are dropped). The per-day UTC interval
lists are computed once and kept in an LRU cache on the calendar object; callers keep one
object per calendar version (see `afterdesk.sla.selectors.work_calendar`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

DAY = 86_400
HOUR = 3_600
MINUTE = 60
# No calendar may go this long without working time; a due time beyond it is an error.
HORIZON_DAYS = 3_660

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_ONE_SECOND = timedelta(seconds=1)
# UTC offsets lie within [-12 h, +14 h], so the instants of a local date lie in this window
# around its naive midnight (with an hour to spare on each side).
_WINDOW_BEFORE = 15 * HOUR
_WINDOW_AFTER = DAY + 13 * HOUR
_SAMPLE_STEP = 3 * HOUR

Interval = tuple[int, int]
DayHours = tuple[Interval, ...]
# year -> (days off, make-up working days) of a country source
YearDays = Callable[[int], tuple[frozenset[date], frozenset[date]]]

FULL_DAY: DayHours = ((0, DAY),)


class NoWorkingTime(ValueError):
    """The calendar has no working time within the horizon."""


def normalize_hours(intervals: Iterable[Sequence[int]]) -> DayHours:
    """Sort and merge intervals of one day, given in seconds after local midnight.

    Each interval is [start, end) with 0 <= start < end <= 86400; overlapping or touching
    intervals are merged. Raises ValueError on an interval outside the day or empty.
    """
    cleaned: list[list[int]] = []
    for item in sorted((int(s), int(e)) for s, e in intervals):
        start, end = item
        if not 0 <= start < end <= DAY:
            raise ValueError(f"interval {start}-{end} is not inside one day")
        if cleaned and start <= cleaned[-1][1]:
            cleaned[-1][1] = max(cleaned[-1][1], end)
        else:
            cleaned.append([start, end])
    return tuple((s, e) for s, e in cleaned)


def to_timestamp(instant: datetime) -> int:
    """Whole seconds since the epoch (floor); the instant must be timezone-aware."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("a timezone-aware instant is required")
    return (instant - _EPOCH) // _ONE_SECOND


def from_timestamp(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


class WorkCalendar:
    """A business calendar compiled for arithmetic; immutable once built.

    `weekly` holds seven day schedules, Monday first, each a sequence of (start, end) seconds
    after local midnight. `dates` maps local dates to their hours: an empty tuple is a day off,
    None is a working day with the normal hours. `country_days` gives a year's holidays and
    make-up working days (see `afterdesk.sla.countries`).
    """

    def __init__(
        self,
        *,
        tz: str,
        weekly: Sequence[Iterable[Sequence[int]]] = (),
        always_open: bool = False,
        dates: Mapping[date, Iterable[Sequence[int]] | None] | None = None,
        country_days: YearDays | None = None,
        cache_days: int = 8_192,
    ) -> None:
        self.tz = tz
        self.zone = ZoneInfo(tz)
        self.always_open = always_open
        if always_open:
            self.weekly: tuple[DayHours, ...] = (FULL_DAY,) * 7
        else:
            if len(weekly) != 7:
                raise ValueError("weekly needs seven day schedules, Monday first")
            self.weekly = tuple(normalize_hours(day) for day in weekly)
        self.standard_day: DayHours = next((day for day in self.weekly if day), ())
        self.standard_day_seconds = sum(e - s for s, e in self.standard_day)
        self.dates: dict[date, DayHours | None] = {
            day: None if hours is None else normalize_hours(hours)
            for day, hours in (dates or {}).items()
        }
        self._country_days = lru_cache(maxsize=64)(country_days) if country_days else None
        self._fixed_offset = _fixed_offset(self.zone)
        self._bucket = lru_cache(maxsize=cache_days)(self._compute_bucket)
        self._date_pieces = lru_cache(maxsize=cache_days)(self._compute_date_pieces)

    # -- what a local date looks like ---------------------------------------------------------

    def hours_on(self, day: date) -> DayHours:
        """The working intervals of a local date (seconds after local midnight)."""
        if day in self.dates:
            explicit = self.dates[day]
            return self._normal_hours(day) if explicit is None else explicit
        if self.always_open:
            return FULL_DAY
        if self._country_days is not None:
            off, makeup = self._country_days(day.year)
            if day in makeup:
                return self._normal_hours(day)
            if day in off:
                return ()
        return self.weekly[day.weekday()]

    def is_working_day(self, day: date) -> bool:
        return bool(self.hours_on(day))

    def _normal_hours(self, day: date) -> DayHours:
        return self.weekly[day.weekday()] or self.standard_day

    # -- local dates to UTC ---------------------------------------------------------------------

    def _offset(self, ts: int) -> int:
        offset = datetime.fromtimestamp(ts, self.zone).utcoffset()
        assert offset is not None
        return int(offset.total_seconds())

    def _segments(self, lo: int, hi: int) -> list[tuple[int, int, int]]:
        """[start, end, utc offset) pieces of [lo, hi) over which the zone's offset is constant."""
        if self._fixed_offset is not None:
            return [(lo, hi, self._fixed_offset)]
        segments: list[tuple[int, int, int]] = []
        start, offset = lo, self._offset(lo)
        probe = lo
        while probe < hi:
            nxt = min(probe + _SAMPLE_STEP, hi)
            nxt_offset = self._offset(nxt)
            if nxt_offset != offset:
                # Bisect to the first second with the new offset.
                good, bad = probe, nxt
                while bad - good > 1:
                    mid = (good + bad) // 2
                    if self._offset(mid) == offset:
                        good = mid
                    else:
                        bad = mid
                segments.append((start, bad, offset))
                start, offset = bad, self._offset(bad)
            probe = nxt
        segments.append((start, hi, offset))
        return segments

    def _compute_date_pieces(self, ordinal: int) -> DayHours:
        """The UTC [start, end) intervals (epoch seconds) of the working time of a local date."""
        hours = self.hours_on(date.fromordinal(ordinal))
        if not hours:
            return ()
        midnight = (ordinal - _EPOCH_ORDINAL) * DAY  # the local midnight read as if it were UTC
        pieces: list[Interval] = []
        for seg_start, seg_end, offset in self._segments(
            midnight - _WINDOW_BEFORE, midnight + _WINDOW_AFTER
        ):
            for start, end in hours:
                a = max(seg_start, midnight + start - offset)
                b = min(seg_end, midnight + end - offset)
                if a < b:
                    pieces.append((a, b))
        return _merge(pieces)

    def _compute_bucket(self, day_index: int) -> tuple[DayHours, int]:
        """Working time inside the UTC day `day_index` (days since the epoch) and its length."""
        lo, hi = day_index * DAY, (day_index + 1) * DAY
        pieces: list[Interval] = []
        # Instants of one UTC day belong to the local dates of the day before, itself, or after.
        for ordinal in range(_EPOCH_ORDINAL + day_index - 1, _EPOCH_ORDINAL + day_index + 2):
            for a, b in self._date_pieces(ordinal):
                a, b = max(a, lo), min(b, hi)
                if a < b:
                    pieces.append((a, b))
        merged = _merge(pieces)
        return merged, sum(b - a for a, b in merged)

    # -- arithmetic -------------------------------------------------------------------------------

    def add(self, start: datetime, seconds: int) -> datetime:
        """The instant `seconds` of working time after `start` (before it, if negative).

        Forward: the earliest instant T >= start with working_seconds(start, T) == seconds, so a
        target that ends exactly at closing time is due at closing time, not the next morning.
        Backward: the latest T <= start with working_seconds(T, start) == -seconds.
        Zero returns `start` (truncated to the second).
        """
        return from_timestamp(self.add_ts(to_timestamp(start), seconds))

    def add_ts(self, ts: int, seconds: int) -> int:
        """`add` on epoch seconds."""
        seconds = int(seconds)
        if seconds > 0:
            return self._forward(ts, seconds)
        if seconds < 0:
            return self._backward(ts, -seconds)
        return ts

    def _forward(self, ts: int, remaining: int) -> int:
        bucket = self._bucket
        index = ts // DAY
        limit = index + HORIZON_DAYS
        while index < limit:
            pieces, total = bucket(index)
            if total:
                if ts <= index * DAY and total < remaining:
                    remaining -= total
                else:
                    for a, b in pieces:
                        if b <= ts:
                            continue
                        if a < ts:
                            a = ts
                        span = b - a
                        if span >= remaining:
                            return a + remaining
                        remaining -= span
            index += 1
        raise NoWorkingTime(f"no working time within {HORIZON_DAYS} days")

    def _backward(self, ts: int, remaining: int) -> int:
        bucket = self._bucket
        index = (ts - 1) // DAY
        limit = index - HORIZON_DAYS
        while index > limit:
            pieces, total = bucket(index)
            if total:
                if ts >= (index + 1) * DAY and total < remaining:
                    remaining -= total
                else:
                    for a, b in reversed(pieces):
                        if a >= ts:
                            continue
                        if b > ts:
                            b = ts
                        span = b - a
                        if span >= remaining:
                            return b - remaining
                        remaining -= span
            index -= 1
        raise NoWorkingTime(f"no working time within {HORIZON_DAYS} days")

    def working_seconds(self, start: datetime, end: datetime) -> int:
        """Working seconds in [start, end); negative when end is before start."""
        return self.working_seconds_ts(to_timestamp(start), to_timestamp(end))

    def working_seconds_ts(self, a: int, b: int) -> int:
        """`working_seconds` on epoch seconds."""
        if b < a:
            return -self.working_seconds_ts(b, a)
        total = 0
        bucket = self._bucket
        for index in range(a // DAY, (b - 1) // DAY + 1):
            pieces, day_total = bucket(index)
            if not day_total:
                continue
            if index * DAY >= a and (index + 1) * DAY <= b:
                total += day_total
                continue
            for x, y in pieces:
                x, y = max(x, a), min(y, b)
                if x < y:
                    total += y - x
        return total

    def is_working(self, instant: datetime) -> bool:
        """Whether `instant` lies in working time."""
        ts = to_timestamp(instant)
        pieces, _total = self._bucket(ts // DAY)
        return any(a <= ts < b for a, b in pieces)


def remaining_at(calendar: WorkCalendar, *, anchor: datetime, remaining: int, at: datetime) -> int:
    """Working seconds left at `at` on a clock that had `remaining` left at `anchor` and has
    run since; negative once the clock has run out."""
    return remaining - calendar.working_seconds(anchor, at)


def due_from(calendar: WorkCalendar, *, anchor: datetime, remaining: int) -> datetime:
    """When a clock with `remaining` working seconds left at `anchor` runs out (in the past for
    a negative `remaining`)."""
    return calendar.add(anchor, remaining)


def _merge(pieces: list[Interval]) -> DayHours:
    pieces.sort()
    merged: list[list[int]] = []
    for a, b in pieces:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return tuple((a, b) for a, b in merged)


def _fixed_offset(zone: ZoneInfo) -> int | None:
    """The zone's offset if it has not changed since 1980 and will not change (e.g. UTC)."""
    offsets = set()
    for year in range(1980, 2041):
        for month in (1, 4, 7, 10):
            offset = datetime(year, month, 1, tzinfo=zone).utcoffset()
            assert offset is not None
            offsets.add(int(offset.total_seconds()))
            if len(offsets) > 1:
                return None
    return offsets.pop()


_DURATION_PART = re.compile(r"(\d+)([dhms])")
_DURATION_WHOLE = re.compile(r"(?:\d+[dhms])+")
_UNIT_SECONDS = {"h": HOUR, "m": MINUTE, "s": 1}


def parse_duration(text: str, *, day_seconds: int) -> int:
    """Working seconds of a duration such as ``4h``, ``90m``, ``2d`` or ``1h30m``.

    ``d`` is a working day of the calendar: `day_seconds`, the length of its standard day
    (8 h in cn-business, 24 h in a 24×7 calendar). From Friday 16:30 in cn-business, ``2d``
    (16 working hours) is therefore due Tuesday 16:30: the same time of day two working days
    later, whatever holidays lie between. Raises ValueError on anything else.
    """
    cleaned = text.strip().lower().replace(" ", "")
    if not cleaned or not _DURATION_WHOLE.fullmatch(cleaned):
        raise ValueError(f"not a duration: {text!r} (use e.g. 4h, 90m, 2d or 1h30m)")
    total = 0
    for amount, unit in _DURATION_PART.findall(cleaned):
        if unit == "d":
            if day_seconds <= 0:
                raise ValueError("this calendar has no working day to count days in")
            total += int(amount) * day_seconds
        else:
            total += int(amount) * _UNIT_SECONDS[unit]
    return total
