"""The pure rule engine, urgency words, routing table and shift arithmetic."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal

import pytest

from afterdesk.triage.engine import (
    Actions,
    CompiledRule,
    Facts,
    RouteRow,
    ShiftSpan,
    compile_pattern,
    on_shift,
    route_find,
    rules_evaluate,
    urgency_detect,
    word_list,
)

FACTS = Facts(
    kind="complaint",
    channel="email",
    subject="耳机收到就开不了机",
    body="The headphones are dead on arrival, order TM123.",
    segment="business",
    vip=True,
    amount=Decimal("120.00"),
    product_line="audio",
    language="zh-hans",
)


def rule(name: str = "r", **conditions: object) -> CompiledRule:
    return CompiledRule(id=1, name=name, **conditions)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("conditions", "matches"),
    [
        ({}, True),
        ({"kinds": frozenset({"complaint"})}, True),
        ({"kinds": frozenset({"repair", "return"})}, False),
        ({"channels": frozenset({"email"})}, True),
        ({"channels": frozenset({"phone"})}, False),
        ({"keywords": ("开不了机",)}, True),
        ({"keywords": ("dead on arrival",)}, True),
        ({"keywords": ("冒烟", "smoke")}, False),
        ({"pattern": compile_pattern(r"order\s+TM\d+")}, True),
        ({"pattern": compile_pattern(r"ORDER tm\d+")}, True),
        ({"pattern": compile_pattern(r"JD\d+")}, False),
        ({"segments": frozenset({"business"})}, True),
        ({"segments": frozenset({"consumer"})}, False),
        ({"vip": "vip"}, True),
        ({"vip": "regular"}, False),
        ({"amount_min": Decimal("100")}, True),
        ({"amount_min": Decimal("120.01")}, False),
        ({"amount_max": Decimal("120")}, True),
        ({"amount_max": Decimal("119.99")}, False),
        ({"product_lines": frozenset({"audio"})}, True),
        ({"product_lines": frozenset({"kitchen"})}, False),
        ({"languages": frozenset({"zh-hans"})}, True),
        ({"languages": frozenset({"en"})}, False),
        ({"kinds": frozenset({"complaint"}), "channels": frozenset({"phone"})}, False),
    ],
)
def test_each_condition(conditions: dict[str, object], matches: bool) -> None:
    assert bool(rules_evaluate([rule(**conditions)], FACTS)) is matches


def test_an_amount_condition_never_matches_a_case_without_amount() -> None:
    facts = Facts(kind="complaint", channel="web", subject="s", body="b")
    assert rules_evaluate([rule(amount_max=Decimal("25"))], facts) == []


def test_rules_match_in_order_and_stop_ends_the_list() -> None:
    first = CompiledRule(id=1, name="first", actions=Actions(priority="high"))
    stopper = CompiledRule(id=2, name="stopper", stop=True, kinds=frozenset({"complaint"}))
    skipped = CompiledRule(id=3, name="after stop")
    not_matching = CompiledRule(id=4, name="repair only", kinds=frozenset({"repair"}))

    matched = rules_evaluate([first, not_matching, stopper, skipped], FACTS)

    assert [r.name for r in matched] == ["first", "stopper"]


def test_a_stop_rule_that_does_not_match_does_not_stop() -> None:
    stopper = CompiledRule(id=1, name="stopper", stop=True, kinds=frozenset({"repair"}))
    later = CompiledRule(id=2, name="later")
    assert [r.name for r in rules_evaluate([stopper, later], FACTS)] == ["later"]


def test_actions_list_their_changes() -> None:
    actions = Actions(
        category="product.doa",
        priority="high",
        department="repair",
        tags=("doa",),
        complex=True,
        assign_to="li.na",
        assign_team="tech",
    )
    assert actions.changes() == {
        "category": "product.doa",
        "priority": "high",
        "department": "repair",
        "tags": ["doa"],
        "is_complex": True,
        "owner": "li.na",
        "team": "tech",
    }


URGENT = word_list("账号被盗\n冒烟\n起火\naccount stolen\nfire\nsmoke\nexplod")
NEGATIVE = word_list("骗子\n垃圾\nscam\nworst")


@pytest.mark.parametrize(
    ("text", "urgent", "words"),
    [
        ("我的账号被盗了，有人下了单", True, ("账号被盗",)),
        ("充电宝冒烟了，差点起火", True, ("冒烟", "起火")),
        ("My account stolen yesterday", True, ("account stolen",)),
        ("The adapter caught FIRE", True, ("fire",)),
        ("The battery exploded", True, ("explod",)),
        ("Firmware update failed", False, ()),
        ("物流有点慢", False, ()),
    ],
)
def test_urgent_words(text: str, urgent: bool, words: tuple[str, ...]) -> None:
    result = urgency_detect(text, urgent_words=URGENT, negative_words=NEGATIVE, negative_min=2)
    assert result.urgent is urgent
    assert result.words == words


def test_strongly_negative_wording_needs_the_threshold() -> None:
    one = urgency_detect("这就是垃圾", urgent_words=(), negative_words=NEGATIVE, negative_min=2)
    two = urgency_detect("骗子，垃圾商家", urgent_words=(), negative_words=NEGATIVE, negative_min=2)
    assert (one.urgent, one.negative) == (False, ("垃圾",))
    assert (two.urgent, two.negative) == (True, ("骗子", "垃圾"))


def test_word_list_drops_blanks_and_duplicates() -> None:
    assert word_list(" Fire \n\nfire\n冒烟\n") == ("fire", "冒烟")


ROUTES = [
    RouteRow("repair", "", "repair"),
    RouteRow("return", "", "logistics"),
    RouteRow("", "product.doa", "customer-service"),
    RouteRow("", "logistics", "logistics"),
    RouteRow("return", "product.doa", "product"),
]


@pytest.mark.parametrize(
    ("kind", "category", "department"),
    [
        ("repair", "product.quality", "repair"),
        ("return", "", "logistics"),
        ("complaint", "product.doa", "customer-service"),
        # Kind and category together beat either alone, whatever the order.
        ("return", "product.doa", "product"),
        # A top-level category matches its subcategories.
        ("complaint", "logistics.delay", "logistics"),
        ("inquiry", "service.attitude", None),
        ("inquiry", "", None),
    ],
)
def test_routing(kind: str, category: str, department: str | None) -> None:
    route = route_find(ROUTES, kind=kind, category=category)
    assert (route.department if route else None) == department


def test_a_category_prefix_is_not_a_parent() -> None:
    assert route_find([RouteRow("", "product.doa", "x")], kind="c", category="product.doax") is None


DAY = ShiftSpan(0, time(9), time(18))
NIGHT = ShiftSpan(0, time(22), time(6))  # Monday 22:00 to Tuesday 06:00


@pytest.mark.parametrize(
    ("shift", "moment", "covered"),
    [
        (DAY, datetime(2026, 11, 23, 9, 0), True),  # a Monday
        (DAY, datetime(2026, 11, 23, 17, 59), True),
        (DAY, datetime(2026, 11, 23, 18, 0), False),
        (DAY, datetime(2026, 11, 24, 10, 0), False),  # Tuesday
        (NIGHT, datetime(2026, 11, 23, 21, 59), False),
        (NIGHT, datetime(2026, 11, 23, 22, 0), True),
        (NIGHT, datetime(2026, 11, 23, 23, 59), True),
        (NIGHT, datetime(2026, 11, 24, 0, 0), True),  # past midnight, into Tuesday
        (NIGHT, datetime(2026, 11, 24, 5, 59), True),
        (NIGHT, datetime(2026, 11, 24, 6, 0), False),
        (NIGHT, datetime(2026, 11, 23, 3, 0), False),  # Monday early: Sunday's night shift
        (ShiftSpan(6, time(22), time(6)), datetime(2026, 11, 23, 3, 0), True),  # Sunday night
    ],
)
def test_shift_coverage_across_midnight(shift: ShiftSpan, moment: datetime, covered: bool) -> None:
    assert shift.covers(moment) is covered


def test_no_shifts_means_always_on() -> None:
    assert on_shift((), datetime(2026, 11, 23, 3, 0))
    assert not on_shift((DAY,), datetime(2026, 11, 23, 3, 0))
