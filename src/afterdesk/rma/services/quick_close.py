"""Quick close (R15): refund or reship without a return when a rule allows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from afterdesk.accounts.models import User
from afterdesk.cases.choices import EventType
from afterdesk.core.text import single_line
from afterdesk.rma import money
from afterdesk.rma.choices import (
    Direction,
    QuickCloseOutcome,
    State,
)
from afterdesk.rma.errors import (
    QuickCloseRefused,
    RmaInvalid,
    RmaTransitionNotAllowed,
)
from afterdesk.rma.models import (
    AbuseFlag,
    QuickCloseRule,
    Rma,
    RmaItem,
    Shipment,
)
from afterdesk.rma.services.common import TEXT_MAX, _choice, _event, _lock, _text
from afterdesk.rma.services.lifecycle import _move

# -- quick close (R15) ------------------------------------------------------------------------


QUICK_CLOSE_STATES = frozenset({State.REQUESTED, State.APPROVED})


@dataclass(frozen=True)
class QuickCloseCheck:
    rule: QuickCloseRule | None
    amount: Decimal | None
    currency: str
    # Why each rule did not apply, rule name -> reason (shown to the agent).
    refusals: dict[str, str]


def _rma_amount(rma: Rma, items: list[RmaItem]) -> tuple[Decimal | None, str]:
    """What is at stake: the case amount, else the items' prices."""
    currency = rma.case.currency or "CNY"
    if rma.case.amount is not None:
        return rma.case.amount, currency
    priced = [i.unit_price * i.quantity for i in items if i.unit_price is not None]
    if priced and len(priced) == len(items):
        return sum(priced, Decimal(0)), currency
    return None, currency


def quick_close_check(
    *,
    rma: Rma,
    outcome: str,
    rules: list[QuickCloseRule] | None = None,
    items: list[RmaItem] | None = None,
    flagged: bool | None = None,
) -> QuickCloseCheck:
    """The first active rule that allows `outcome` for this RMA now, and why the others don't."""
    items = items if items is not None else list(rma.items.all())
    rules = rules if rules is not None else list(QuickCloseRule.objects.filter(active=True))
    if flagged is None:
        flagged = AbuseFlag.objects.filter(customer_id=rma.case.customer_id).exists()
    amount, currency = _rma_amount(rma, items)
    rates = money.rates_for({currency, *(r.max_amount_currency for r in rules)})
    refusals: dict[str, str] = {}
    for rule in rules:
        if rule.kinds and rma.kind not in rule.kinds:
            refusals[rule.name] = _("not for this kind of request")
        elif rule.reasons and rma.reason not in rule.reasons:
            refusals[rule.name] = _("not for this reason")
        elif rule.outcomes and outcome not in rule.outcomes:
            refusals[rule.name] = _("not for this outcome")
        elif rule.exclude_flagged and flagged:
            refusals[rule.name] = _("the customer is flagged for abuse")
        elif amount is None:
            refusals[rule.name] = _("the amount is not known")
        elif currency not in rates or rule.max_amount_currency not in rates:
            refusals[rule.name] = _("no exchange rate for %s") % (
                currency if currency not in rates else rule.max_amount_currency
            )
        elif not money.at_most(amount, currency, rule.max_amount, rule.max_amount_currency, rates):
            refusals[rule.name] = _("%(amount)s %(currency)s is above %(max)s %(max_currency)s") % {
                "amount": amount,
                "currency": currency,
                "max": rule.max_amount,
                "max_currency": rule.max_amount_currency,
            }
        else:
            return QuickCloseCheck(rule, amount, currency, refusals)
    return QuickCloseCheck(None, amount, currency, refusals)


def rma_quick_close(
    *,
    actor: User,
    rma: Rma,
    outcome: str,
    carrier: str = "",
    tracking_number: str = "",
    note: str = "",
    at: datetime | None = None,
) -> Rma:
    """Refund or reship without a return, in one action, when a quick-close rule allows it; the
    rule is recorded. A reship may name its parcel (carrier and tracking number) at once."""
    _choice("outcome", outcome, QuickCloseOutcome.values)
    note = _text("note", note, max_length=TEXT_MAX)
    carrier = single_line(_text("carrier", carrier, max_length=60))
    tracking = _text("tracking_number", tracking_number, max_length=60)
    if bool(carrier) != bool(tracking):
        raise RmaInvalid(
            _("Give both the carrier and the tracking number, or neither."),
            fields={"tracking_number": _("with the carrier")},
        )
    now = at or timezone.now()
    with transaction.atomic():
        locked = _lock(rma)
        if locked.state not in QUICK_CLOSE_STATES:
            raise RmaTransitionNotAllowed(
                _("Quick close is for requests not yet on their way back (this one is “%s”).")
                % State(locked.state).label,
                extra={"state": locked.state},
            )
        check = quick_close_check(rma=locked, outcome=outcome)
        if check.rule is None:
            reasons = "; ".join(f"{name}: {why}" for name, why in check.refusals.items())
            raise QuickCloseRefused(
                (_("No quick-close rule allows this: %s") % reasons)
                if reasons
                else _("No quick-close rule is active."),
                extra={"refusals": check.refusals},
            )
        rule = check.rule
        locked.quick_close_rule = rule
        locked.quick_close_outcome = outcome
        fields = ["quick_close_rule", "quick_close_outcome"]
        payload = {
            "rule": rule.name,
            "rule_id": rule.pk,
            "outcome": outcome,
            "amount": str(check.amount),
            "currency": check.currency,
            "note": note,
        }
        _event(locked, EventType.RMA_QUICK_CLOSED, now, actor, payload=payload)
        if outcome == QuickCloseOutcome.REFUND:
            locked.refund_amount, locked.refund_currency = check.amount, check.currency
            fields += ["refund_amount", "refund_currency"]
            _move(
                locked,
                State.REFUNDED,
                now=now,
                actor=actor,
                data=payload,
                fields=fields,
                check=False,
            )
        else:
            if tracking:
                Shipment.objects.create(
                    rma=locked,
                    direction=Direction.OUTBOUND,
                    carrier=carrier,
                    tracking_number=tracking,
                    shipped_at=now,
                    recorded_by=actor,
                )
                payload.update(carrier=carrier, tracking_number=tracking)
            _move(
                locked,
                State.REPLACEMENT_SHIPPED,
                now=now,
                actor=actor,
                data=payload,
                fields=fields,
                check=False,
            )
    return locked
