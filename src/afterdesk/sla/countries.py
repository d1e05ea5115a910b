"""Public holidays and make-up working days of a country, per year, from the packages.

`cn` is mainland China from `chinese-calendar`: the State Council's holidays and 调休 make-up
working days, for the years the installed version knows. For other years (the next year's
schedule is usually published in November) `cn` falls back to the `holidays` package's China
data; admins add what is missing as calendar dates. Any other source is an ISO 3166 country
code for `holidays`, optionally with a subdivision (``DE-BE``, ``US-NY``); its "weekend
workdays" are make-up working days.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import chinese_calendar
import holidays
from chinese_calendar import constants as cn_constants

from afterdesk.sla.worktime import YearDays

CHINA = "cn"


def _split(source: str) -> tuple[str, str]:
    country, _sep, subdivision = source.partition("-")
    return country.upper(), subdivision.upper()


def source_is_valid(source: str) -> bool:
    """Whether `source` names a known country (and subdivision) or is empty."""
    if source in ("", CHINA):
        return True
    country, subdivision = _split(source)
    supported = holidays.list_supported_countries()
    if country not in supported:
        return False
    return not subdivision or subdivision in supported[country]


@lru_cache(maxsize=8)
def _chinese_calendar_years() -> frozenset[int]:
    return frozenset(day.year for day in cn_constants.holidays)


@lru_cache(maxsize=1024)
def country_year(source: str, year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(days off, make-up working days) of `source` in `year`; both empty for no source."""
    if not source:
        return frozenset(), frozenset()
    if source == CHINA and year in _chinese_calendar_years():
        off = frozenset(day for day in chinese_calendar.holidays if day.year == year)
        makeup = frozenset(day for day in chinese_calendar.workdays if day.year == year)
        return off, makeup
    country, subdivision = ("CN", "") if source == CHINA else _split(source)
    data = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    off = frozenset(day for day in data if day.year == year)
    makeup = frozenset(day for day in getattr(data, "weekend_workdays", ()) if day.year == year)
    return off, makeup


def country_days_for(source: str) -> YearDays | None:
    """A `year -> (days off, make-up days)` function for WorkCalendar, or None."""
    if not source:
        return None

    def year_days(year: int) -> tuple[frozenset[date], frozenset[date]]:
        return country_year(source, year)

    return year_days
