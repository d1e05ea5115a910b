"""Shared pieces of API schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from afterdesk.core.text import check_datetime_range, has_control_characters


def _no_controls(value: str) -> str:
    if has_control_characters(value):
        raise ValueError("contains control characters")
    return value


# A string from outside: no control characters (PostgreSQL refuses NUL, logs choke on the rest).
CleanStr = Annotated[str, AfterValidator(_no_controls)]
# An instant from outside: with a time zone, within the years the system supports.
SupportedDatetime = Annotated[datetime, AfterValidator(check_datetime_range)]


class StrictIn(BaseModel):
    """Input schemas refuse unknown fields, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The error statuses an endpoint documents, each with the common error body."""
    return dict.fromkeys(statuses, ErrorOut)
