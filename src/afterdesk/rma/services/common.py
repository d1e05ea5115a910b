"""Shared pieces of the RMA services: input checks, the event writer, the row lock."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from afterdesk.accounts.models import User
from afterdesk.cases.events import event_record
from afterdesk.core.text import has_control_characters
from afterdesk.rma import money
from afterdesk.rma.errors import (
    RmaInvalid,
)
from afterdesk.rma.models import (
    Rma,
)

TEXT_MAX = 5_000
ITEMS_MAX = 50
QUANTITY_MAX = 9_999
PHOTOS_MAX = 10
COUPON_DAYS_DEFAULT = 90
COUPON_DAYS_MAX = 730


def _text(name: str, value: str, *, max_length: int, required: bool = False) -> str:
    if has_control_characters(value):
        raise RmaInvalid(
            _("%s contains control characters.") % name, fields={name: _("control characters")}
        )
    value = value.strip()
    if required and not value:
        raise RmaInvalid(_("%s may not be empty.") % name, fields={name: _("required")})
    if len(value) > max_length:
        raise RmaInvalid(
            _("%(field)s is longer than %(max)d characters.") % {"field": name, "max": max_length},
            fields={name: _("at most %d characters") % max_length},
        )
    return value


def _choice(name: str, value: str, choices: list[str]) -> str:
    if value not in choices:
        raise RmaInvalid(
            _("%(field)s must be one of: %(choices)s")
            % {"field": name, "choices": ", ".join(choices)},
            fields={name: _("unknown value %r") % value},
        )
    return value


def _money(name: str, value: Any, *, required: bool = False) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise RmaInvalid(_("%s is required.") % name, fields={name: _("required")})
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise RmaInvalid(
            _("%s is not a number.") % name, fields={name: _("must be a number")}
        ) from exc
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e10"):
        raise RmaInvalid(
            _("%s must be between 0 and 9,999,999,999.99.") % name, fields={name: _("range")}
        )
    if amount != amount.quantize(money.CENT):
        raise RmaInvalid(_("%s has more than two decimals.") % name, fields={name: _("2 dp")})
    return amount.quantize(money.CENT)


def _currency(value: str, default: str = "CNY") -> str:
    code = (value or default).upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise RmaInvalid(
            _("currency must be a three-letter ISO 4217 code."), fields={"currency": _("ISO 4217")}
        )
    return code


def _event(
    rma: Rma,
    type: str,
    at: datetime,
    actor: User | None,
    *,
    by_customer: bool = False,
    field: str = "",
    old: Any = None,
    new: Any = None,
    payload: dict[str, Any] | None = None,
) -> None:
    event_record(
        case=rma.case,
        type=type,
        at=at,
        actor=actor if actor is not None and actor.is_authenticated else None,
        by_customer=by_customer,
        field=field,
        old=old,
        new=new,
        payload=payload or {},
    )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _lock(rma: Rma) -> Rma:
    return (
        Rma.objects.select_for_update(of=("self",))
        .select_related("case", "case__customer", "policy")
        .get(pk=rma.pk)
    )
