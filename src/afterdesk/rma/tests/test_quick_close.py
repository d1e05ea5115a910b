"""Quick close (R15): the rules, currency conversion through the rate table, the abuse flag,
and the one action that refunds or reships without a return."""

from __future__ import annotations

from decimal import Decimal

import pytest

from afterdesk.cases.choices import EventType
from afterdesk.cases.models import CaseEvent
from afterdesk.rma import money, services
from afterdesk.rma.choices import State
from afterdesk.rma.errors import QuickCloseRefused, RmaInvalid, RmaTransitionNotAllowed
from afterdesk.rma.models import AbuseFlag, ExchangeRate, QuickCloseRule, Rma, Shipment

pytestmark = pytest.mark.django_db


def test_seeded_rule_refunds_a_small_doa_in_one_action(make_rma, agent) -> None:
    rma = make_rma(kind="return", reason="doa", amount=Decimal("120.00"), currency="CNY")
    rma = services.rma_quick_close(actor=agent, rma=rma, outcome="refund")
    assert rma.state == State.REFUNDED
    assert rma.quick_close_rule.name == "Small amount, clear fault"
    assert (rma.refund_amount, rma.refund_currency) == (Decimal("120.00"), "CNY")
    event = CaseEvent.objects.get(case=rma.case, type=EventType.RMA_QUICK_CLOSED)
    assert event.payload["rule"] == "Small amount, clear fault"
    assert event.payload["outcome"] == "refund"
    assert services.allowed_steps(rma) == [State.CLOSED]


def test_limit_is_converted_with_the_rate_table(make_rma, agent) -> None:
    # 25 USD at 7.10 = 177.50 CNY: 177.50 passes, 177.51 does not.
    at_limit = make_rma(amount=Decimal("177.50"), currency="CNY")
    assert services.quick_close_check(rma=at_limit, outcome="refund").rule is not None
    above = make_rma(amount=Decimal("177.51"), currency="CNY", order_ref="", product_sku="B")
    check = services.quick_close_check(rma=above, outcome="refund")
    assert check.rule is None
    assert "above 25.00 USD" in check.refusals["Small amount, clear fault"]
    ExchangeRate.objects.filter(currency="USD").update(rate=Decimal("7.20"))
    assert services.quick_close_check(rma=above, outcome="refund").rule is not None


def test_amount_in_another_currency(make_rma) -> None:
    eur = make_rma(amount=Decimal("23.00"), currency="EUR")  # 23 × 7.70 / 7.10 = 24.94 USD
    assert services.quick_close_check(rma=eur, outcome="refund").rule is not None
    big = make_rma(amount=Decimal("23.10"), currency="EUR", order_ref="", product_sku="C")
    assert services.quick_close_check(rma=big, outcome="refund").rule is None


def test_unknown_currency_is_named(make_rma) -> None:
    rma = make_rma(amount=Decimal("1.00"), currency="XAF")
    check = services.quick_close_check(rma=rma, outcome="refund")
    assert check.rule is None
    assert check.refusals["Small amount, clear fault"] == "no exchange rate for XAF"


@pytest.mark.parametrize("reason", ["changed_mind", "quality_defect", "other"])
def test_reason_outside_the_list_is_refused(make_rma, agent, reason) -> None:
    rma = make_rma(reason=reason, amount=Decimal("10.00"))
    with pytest.raises(QuickCloseRefused, match="not for this reason"):
        services.rma_quick_close(actor=agent, rma=rma, outcome="refund")
    assert Rma.objects.get(pk=rma.pk).state == State.REQUESTED
    assert not CaseEvent.objects.filter(type=EventType.RMA_QUICK_CLOSED).exists()


def test_flagged_customer_gets_no_quick_close(make_rma, agent, customer_a) -> None:
    AbuseFlag.objects.create(customer=customer_a, reason="12 returns in a month")
    rma = make_rma(amount=Decimal("10.00"))
    with pytest.raises(QuickCloseRefused, match="flagged for abuse") as info:
        services.rma_quick_close(actor=agent, rma=rma, outcome="refund")
    assert info.value.code == "quick_close_refused"
    assert Rma.objects.get(pk=rma.pk).quick_close_rule is None


def test_unknown_amount_is_refused(make_rma, agent) -> None:
    # No case amount and no price: an item outside any order.
    rma = make_rma(amount=None, currency="", order_ref="", product_sku="LOOSE-1")
    with pytest.raises(QuickCloseRefused, match="amount is not known"):
        services.rma_quick_close(actor=agent, rma=rma, outcome="refund")


def test_order_line_price_counts_when_the_case_has_no_amount(make_rma) -> None:
    rma = make_rma(amount=None, currency="")  # SO-1001 sells PHN-X1 at 120.00
    check = services.quick_close_check(rma=rma, outcome="refund")
    assert (check.amount, check.rule is not None) == (Decimal("120.00"), True)


def test_item_prices_count_when_the_case_has_no_amount(make_rma) -> None:
    rma = make_rma(
        amount=None,
        currency="",
        items=[services.ItemInput(sku="PHN-X1", quantity=2, unit_price=Decimal("50.00"))],
    )
    check = services.quick_close_check(rma=rma, outcome="refund")
    assert (check.amount, check.currency, check.rule is not None) == (
        Decimal("100.00"),
        "CNY",
        True,
    )


def test_reship_records_the_parcel_and_rule_order_picks_the_first(make_rma, agent) -> None:
    QuickCloseRule.objects.create(
        name="Wrong item reship",
        position=1,
        max_amount=Decimal("100"),
        max_amount_currency="USD",
        reasons=["wrong_item"],
        outcomes=["reship"],
    )
    rma = make_rma(kind="exchange", reason="wrong_item", amount=Decimal("500.00"))
    rma = services.rma_quick_close(
        actor=agent, rma=rma, outcome="reship", carrier="SF", tracking_number="SF777"
    )
    assert (rma.state, rma.quick_close_rule.name) == (
        State.REPLACEMENT_SHIPPED,
        "Wrong item reship",
    )
    assert Shipment.objects.get(rma=rma).tracking_number == "SF777"
    assert services.allowed_steps(rma) == [State.DELIVERED]


def test_outcome_limited_rule_does_not_refund(make_rma, agent) -> None:
    QuickCloseRule.objects.all().update(outcomes=["reship"])
    rma = make_rma(amount=Decimal("10.00"))
    with pytest.raises(QuickCloseRefused, match="not for this outcome"):
        services.rma_quick_close(actor=agent, rma=rma, outcome="refund")


def test_inactive_rules_do_not_apply(make_rma, agent) -> None:
    QuickCloseRule.objects.update(active=False)
    with pytest.raises(QuickCloseRefused, match="No quick-close rule is active"):
        services.rma_quick_close(actor=agent, rma=make_rma(amount=Decimal("1")), outcome="refund")


def test_quick_close_after_the_goods_are_on_their_way_is_refused(make_rma, agent, drive) -> None:
    rma = drive(make_rma(amount=Decimal("10.00")), State.AWAITING_RETURN, agent)
    with pytest.raises(RmaTransitionNotAllowed, match="Quick close is for requests"):
        services.rma_quick_close(actor=agent, rma=rma, outcome="refund")


def test_reship_needs_both_carrier_and_tracking(make_rma, agent) -> None:
    with pytest.raises(RmaInvalid):
        services.rma_quick_close(actor=agent, rma=make_rma(), outcome="reship", carrier="SF")


def test_convert_rounds_to_the_cent() -> None:
    rates = {"CNY": Decimal(1), "USD": Decimal("7.10"), "EUR": Decimal("7.70")}
    assert money.convert(Decimal("10"), "USD", "CNY", rates) == Decimal("71.00")
    assert money.convert(Decimal("100"), "CNY", "USD", rates) == Decimal("14.08")
    assert money.convert(Decimal("10"), "EUR", "USD", rates) == Decimal("10.85")
    with pytest.raises(RmaInvalid, match="no exchange rate for GBP"):
        money.convert(Decimal("1"), "GBP", "CNY", rates)
