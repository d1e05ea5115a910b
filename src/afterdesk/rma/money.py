"""Amounts across currencies (the admin-edited rate table, CNY the base) and coupon codes."""

from __future__ import annotations

import secrets
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from afterdesk.rma.errors import RmaInvalid
from afterdesk.rma.models import BASE_CURRENCY, ExchangeRate

CENT = Decimal("0.01")
# No 0/O, 1/I/L: a code read out on the phone or typed from a screenshot stays unambiguous.
COUPON_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
COUPON_GROUPS = 3
COUPON_GROUP_LENGTH = 4


def rates_for(currencies: set[str]) -> dict[str, Decimal]:
    """CNY per unit of each currency asked for (one query); CNY itself is always 1."""
    rates = {BASE_CURRENCY: Decimal(1)}
    wanted = {c for c in currencies if c != BASE_CURRENCY}
    if wanted:
        rates.update(
            ExchangeRate.objects.filter(currency__in=wanted).values_list("currency", "rate")
        )
    return rates


def convert(amount: Decimal, source: str, target: str, rates: dict[str, Decimal]) -> Decimal:
    """`amount` in `source` expressed in `target`, to the cent; refuses an unknown currency."""
    for currency in (source, target):
        if currency not in rates:
            raise RmaInvalid(
                _("There is no exchange rate for %s; an administrator can add one.") % currency,
                fields={"currency": _("no exchange rate")},
            )
    if source == target:
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)
    in_base = amount * rates[source]
    return (in_base / rates[target]).quantize(CENT, rounding=ROUND_HALF_UP)


def at_most(
    amount: Decimal, currency: str, limit: Decimal, limit_currency: str, rates: dict[str, Decimal]
) -> bool:
    """Whether `amount` is no more than `limit`, compared exactly in the base currency (no
    rounding: 177.51 CNY is above 25 USD at 7.10 even though it rounds to 25.00 USD)."""
    return amount * rates[currency] <= limit * rates[limit_currency]


def coupon_code_new() -> str:
    """A fresh coupon code from the OS's cryptographic random source, e.g. AD-7KQ2-M9XP-4HTW
    (60 bits: codes cannot be guessed or enumerated)."""
    groups = [
        "".join(secrets.choice(COUPON_ALPHABET) for _ in range(COUPON_GROUP_LENGTH))
        for _ in range(COUPON_GROUPS)
    ]
    return "AD-" + "-".join(groups)
