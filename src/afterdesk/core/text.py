"""Checks for text that came from outside."""

from __future__ import annotations

import re
from datetime import datetime

# C0 controls except tab, newline and carriage return; PostgreSQL also refuses NUL in text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_characters(value: str) -> bool:
    return bool(_CONTROL.search(value))


def single_line(value: str) -> str:
    """Collapse a one-line field (subject, name): no line breaks may travel into headers."""
    return " ".join(value.split())


# Instants outside this range overflow date arithmetic in the database adapters (SQLite) or
# make no sense for an after-sales case.
EARLIEST_SUPPORTED_YEAR = 1900
LATEST_SUPPORTED_YEAR = 2200


def check_datetime_range(value: datetime) -> datetime:
    """Raise ValueError for a naive instant or one outside the supported years."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("the date-time needs a time zone (e.g. Z or +08:00)")
    if not EARLIEST_SUPPORTED_YEAR <= value.year <= LATEST_SUPPORTED_YEAR:
        raise ValueError(
            f"the year must be between {EARLIEST_SUPPORTED_YEAR} and {LATEST_SUPPORTED_YEAR}"
        )
    return value
