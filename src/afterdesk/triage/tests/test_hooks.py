"""Triage at intake, through the real `case_create`: rules, precedence, urgency, the model,
routing, assignment strategies, events and the query budget."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from afterdesk.cases.choices import EventType
from afterdesk.cases.models import Case, CaseEvent
from afterdesk.cases.services import CaseInput, case_assign, case_create, case_transition
from afterdesk.customers.models import Customer, Product
from afterdesk.customers.services import CustomerInput
from afterdesk.triage.cache import snapshot
from afterdesk.triage.models import Suggestion
from afterdesk.triage.services import (
    RuleInput,
    model_train,
    rule_create,
    settings_update,
)
from afterdesk.triage.tests.conftest import labelled_samples

pytestmark = pytest.mark.django_db

# Monday 2026-11-23 10:00 in Asia/Shanghai.
MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
# Tuesday 2026-11-24 03:00 in Asia/Shanghai: inside Monday's night shift.
TUESDAY_03 = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)


def open_case(*, email: str = "carol@example.com", language: str = "", **fields: Any) -> Case:
    values: dict[str, Any] = {
        "kind": "complaint",
        "channel": "web",
        "subject": "A question",
        "description": "Something about my order.",
    }
    values.update(fields)
    customer = CustomerInput(name="Carol", email=email, language=language or "en")
    return case_create(actor=None, data=CaseInput(customer=customer, **values))


def events_of(case: Case, type: str) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case, type=type).order_by("id"))


def test_a_rule_sets_fields_and_records_an_event(admin_user) -> None:
    rule_create(
        actor=admin_user,
        data=RuleInput(
            name="DOA words",
            keywords=("dead on arrival", "开不了机"),
            set_category="product.doa",
            set_priority="high",
            add_tags=("doa",),
            set_complex=True,
        ),
    )

    case = open_case(subject="Tablet dead on arrival", tags=("tablet",))

    # What the create response shows: the caller's tag and the rule's.
    assert [t.name for t in case._prefetched_tags] == ["doa", "tablet"]
    case.refresh_from_db()
    assert (case.category.code, case.priority, case.is_complex) == ("product.doa", "high", True)
    assert list(case.tags.order_by("name").values_list("name", flat=True)) == ["doa", "tablet"]
    (event,) = events_of(case, EventType.TRIAGE_RULE_APPLIED)
    assert event.payload["name"] == "DOA words"
    assert event.payload["changes"] == {
        "category": [None, "product.doa"],
        "priority": ["normal", "high"],
        "tags": ["doa"],
        "is_complex": [False, True],
    }
    assert not Suggestion.objects.filter(case=case).exists()


def test_rules_apply_in_order_and_stop(admin_user) -> None:
    rule_create(
        actor=admin_user,
        data=RuleInput(name="b-second", position=20, keywords=("refund",), set_priority="low"),
    )
    rule_create(
        actor=admin_user,
        data=RuleInput(
            name="a-first", position=10, keywords=("refund",), set_category="transaction.refund"
        ),
    )
    rule_create(
        actor=admin_user,
        data=RuleInput(name="c-stop", position=30, keywords=("refund",), stop=True),
    )
    rule_create(
        actor=admin_user,
        data=RuleInput(name="d-never", position=40, keywords=("refund",), set_priority="urgent"),
    )

    case = open_case(subject="Where is my refund")

    case.refresh_from_db()
    assert (case.category.code, case.priority) == ("transaction.refund", "low")
    names = [e.payload["name"] for e in events_of(case, EventType.TRIAGE_RULE_APPLIED)]
    assert names == ["a-first", "b-second", "c-stop"]


def test_caller_values_win_unless_the_rule_overrides(admin_user) -> None:
    rule_create(
        actor=admin_user,
        data=RuleInput(name="soft", keywords=("broken",), set_priority="low"),
    )
    kept = open_case(subject="broken screen", priority="high")
    kept.refresh_from_db()
    assert kept.priority == "high"
    (event,) = events_of(kept, EventType.TRIAGE_RULE_APPLIED)
    assert event.payload["changes"] == {}

    rule_create(
        actor=admin_user,
        data=RuleInput(
            name="hard", keywords=("broken",), set_priority="urgent", overrides_caller=True
        ),
    )
    overridden = open_case(subject="broken screen", priority="high")
    overridden.refresh_from_db()
    assert overridden.priority == "urgent"


def test_rule_conditions_on_customer_amount_and_product(admin_user, departments) -> None:
    Product.objects.create(sku="HP-1", name="Headphones", product_line="audio")
    rule_create(
        actor=admin_user,
        data=RuleInput(
            name="big audio vip",
            vip="vip",
            amount_min=Decimal("100"),
            product_lines=("audio",),
            languages=("en",),
            set_department="product",
        ),
    )
    Customer.objects.all().delete()
    regular = open_case(email="r@example.com", product_sku="HP-1", amount=Decimal("150"))
    vip = open_case(email="v@example.com", product_sku="HP-1", amount=Decimal("150"))
    Customer.objects.filter(pk=vip.customer_id).update(vip_tier="gold")
    vip_again = open_case(email="v@example.com", product_sku="HP-1", amount=Decimal("150"))
    small = open_case(email="v@example.com", product_sku="HP-1", amount=Decimal("50"))

    def department(case: Case) -> str:
        case.refresh_from_db()
        return case.department.code

    assert department(regular) == "customer-service"
    assert department(vip_again) == "product"
    assert department(small) == "customer-service"


def test_urgent_words_grade_urgent_and_show_which(admin_user) -> None:
    case = open_case(subject="账号被盗了", description="有人用我的账号下单，我无法登录")

    case.refresh_from_db()
    assert case.priority == "urgent"
    (event,) = events_of(case, EventType.TRIAGE_URGENT)
    assert event.payload["words"] == ["账号被盗", "无法登录"]
    assert (event.old, event.new, event.payload["applied"]) == ("normal", "urgent", True)


def test_strongly_negative_wording_grades_urgent() -> None:
    case = open_case(
        subject="Worst service ever", description="This is a scam, I'll call my lawyer"
    )
    case.refresh_from_db()
    assert case.priority == "urgent"
    (event,) = events_of(case, EventType.TRIAGE_URGENT)
    assert event.payload["words"] == []
    assert set(event.payload["negative"]) == {"scam", "worst", "lawyer"}


def test_a_rule_priority_beats_urgent_words(admin_user) -> None:
    rule_create(
        actor=admin_user, data=RuleInput(name="smoke test", keywords=("冒烟",), set_priority="high")
    )
    case = open_case(subject="冒烟测试的问题", description="")
    case.refresh_from_db()
    assert case.priority == "high"
    (event,) = events_of(case, EventType.TRIAGE_URGENT)
    assert event.payload["applied"] is False


def test_routing_by_kind_and_category() -> None:
    repair = open_case(kind="repair", subject="Fix please")
    doa_return = open_case(kind="return", subject="Return it", category="product.doa")

    repair.refresh_from_db()
    doa_return.refresh_from_db()
    assert repair.department.code == "repair"
    # The caller gave a category, not a department: routing decides (return → logistics).
    assert doa_return.department.code == "logistics"


def test_routing_records_an_event_when_it_moves_a_case(admin_user) -> None:
    rule_create(
        actor=admin_user,
        data=RuleInput(name="missing", keywords=("missing",), set_category="product.missing_parts"),
    )
    from afterdesk.triage.services import route_save

    route_save(actor=admin_user, kind="", category="product.missing_parts", department="product")
    case = open_case(kind="complaint", subject="Charger missing")
    case.refresh_from_db()
    assert case.department.code == "product"
    (event,) = events_of(case, EventType.TRIAGE_ROUTED)
    assert (event.old, event.new) == ("customer-service", "product")


def test_an_explicit_department_is_not_routed(admin_user) -> None:
    case = open_case(kind="repair", subject="Fix", department="tech")
    case.refresh_from_db()
    assert case.department.code == "tech"
    assert not events_of(case, EventType.TRIAGE_ROUTED)


def test_back_dated_imports_are_not_triaged(admin_user) -> None:
    rule_create(actor=admin_user, data=RuleInput(name="all", keywords=("x",), set_priority="low"))
    case = case_create(
        actor=None,
        data=CaseInput(
            kind="complaint",
            channel="web",
            subject="x",
            customer=CustomerInput(name="A", email="a@x.com"),
        ),
        at=datetime(2026, 1, 5, tzinfo=UTC),
    )
    case.refresh_from_db()
    assert case.priority == "normal"
    assert not CaseEvent.objects.filter(case=case, type__startswith="triage.").exists()
    assert not Suggestion.objects.filter(case=case).exists()


# ---- the model --------------------------------------------------------------------------


@pytest.fixture
def model(admin_user):
    return model_train(actor=admin_user, samples=labelled_samples())


def test_a_confident_prediction_is_applied(model, admin_user) -> None:
    settings_update(actor=admin_user, confidence_threshold=0.2)
    case = open_case(
        subject="包裹丢了", description="物流显示已签收，但是我根本没收到包裹，快递柜也是空的"
    )
    case.refresh_from_db()
    assert case.category.code == "logistics.loss"
    (event,) = events_of(case, EventType.TRIAGE_CLASSIFIED)
    assert event.payload["model"] == model.version
    assert event.payload["category"] == "logistics.loss"
    assert "category" in event.payload["applied"]
    assert event.payload["category_p"] >= 0.2
    assert not Suggestion.objects.filter(case=case).exists()


def test_an_unsure_prediction_goes_to_needs_triage_with_three_suggestions(
    model, admin_user
) -> None:
    settings_update(actor=admin_user, confidence_threshold=0.99)
    case = open_case(subject="Hello", description="I have a question about something.")
    case.refresh_from_db()
    assert case.category is None
    suggestion = Suggestion.objects.get(case=case)
    assert suggestion.needs_triage
    assert suggestion.model_version == model.version
    assert len(suggestion.categories) == 3
    assert [s["p"] for s in suggestion.categories] == sorted(
        (s["p"] for s in suggestion.categories), reverse=True
    )
    (event,) = events_of(case, EventType.TRIAGE_CLASSIFIED)
    assert event.payload["applied"] == []


def test_rules_win_over_the_model(model, admin_user) -> None:
    settings_update(actor=admin_user, confidence_threshold=0.0)
    rule_create(
        actor=admin_user,
        data=RuleInput(
            name="lost means refund", keywords=("丢",), set_category="transaction.refund"
        ),
    )
    case = open_case(subject="包裹丢了", description="物流显示已签收，但是我没收到")
    case.refresh_from_db()
    assert case.category.code == "transaction.refund"


def test_a_caller_category_skips_the_model_for_the_category(model, admin_user) -> None:
    settings_update(actor=admin_user, confidence_threshold=0.0)
    case = open_case(subject="包裹丢了", description="没收到", category="service.attitude")
    case.refresh_from_db()
    assert case.category.code == "service.attitude"


# ---- assignment -------------------------------------------------------------------------


def owner_of(case: Case) -> str | None:
    case.refresh_from_db()
    return case.owner.username if case.owner else None


def strategy_of(case: Case) -> str:
    (event,) = events_of(case, EventType.ASSIGNED)
    return str(event.payload["strategy"])


def test_least_loaded_agent_gets_the_case(make_agent, clock) -> None:
    clock.set(MONDAY_10)
    busy = make_agent("busy")
    idle = make_agent("idle")
    first = open_case(email="1@example.com", subject="one")
    assert owner_of(first) == "busy"  # both empty: the lower id (round robin order)
    assert strategy_of(first) == "least_loaded"
    second = open_case(email="2@example.com", subject="two")
    assert owner_of(second) == "idle"
    assert busy.pk != idle.pk


def test_round_robin_mode_ignores_load(make_agent, admin_user, clock) -> None:
    clock.set(MONDAY_10)
    settings_update(actor=admin_user, assignment_mode="round_robin")
    make_agent("a1")
    make_agent("a2")
    owners = [owner_of(open_case(email=f"{i}@example.com", subject=str(i))) for i in range(4)]
    assert owners == ["a1", "a2", "a1", "a2"]


def test_off_mode_assigns_nobody(make_agent, admin_user) -> None:
    settings_update(actor=admin_user, assignment_mode="off")
    make_agent("a1")
    assert owner_of(open_case()) is None


def test_owner_continuity_for_the_customer_s_open_case(make_agent, clock) -> None:
    clock.set(MONDAY_10)
    make_agent("first")
    second = make_agent("second")
    earlier = open_case(email="loyal@example.com", subject="one")
    case_assign(actor=None, case=earlier, owner=second)
    # "first" is less loaded, but the customer's open case is with "second".
    later = open_case(email="loyal@example.com", subject="two")
    assert owner_of(later) == "second"
    assert strategy_of(later) == "continuity"


def test_continuity_for_a_case_about_the_same_order_even_when_closed(make_agent, clock) -> None:
    clock.set(MONDAY_10)
    make_agent("first")
    keeper = make_agent("keeper")
    rma = open_case(email="rma@example.com", subject="repair", order_ref="TM-1")
    case_assign(actor=None, case=rma, owner=keeper)
    case_transition(actor=None, case=rma, to="resolved")
    follow_up = open_case(email="rma@example.com", subject="again", order_ref="TM-1")
    assert owner_of(follow_up) == "keeper"


def test_vip_customers_go_to_their_dedicated_agent(make_agent, clock) -> None:
    clock.set(MONDAY_10)
    make_agent("pool")
    dedicated = make_agent("dedicated")
    first = open_case(email="vip@example.com", subject="one")
    case_transition(actor=None, case=first, to="cancelled")
    Customer.objects.filter(pk=first.customer_id).update(vip_tier="gold", dedicated_agent=dedicated)
    case = open_case(email="vip@example.com", subject="two")
    assert owner_of(case) == "dedicated"
    assert strategy_of(case) == "vip_agent"


def test_skills_pick_an_agent_who_speaks_the_language(make_agent, clock) -> None:
    clock.set(MONDAY_10)
    make_agent("zh", languages=("zh-hans",))
    make_agent("en", languages=("en",))
    english = open_case(email="e@example.com", language="en")
    chinese = open_case(email="c@example.com", language="zh-hans")
    assert owner_of(english) == "en"
    assert owner_of(chinese) == "zh"
    assert strategy_of(english) == "skills"


def test_skills_by_product_line(make_agent, clock) -> None:
    clock.set(MONDAY_10)
    Product.objects.create(sku="K-1", name="Kettle", product_line="kitchen")
    make_agent("audio", product_lines=("audio",))
    make_agent("kitchen", product_lines=("kitchen",))
    case = open_case(product_sku="K-1")
    assert owner_of(case) == "kitchen"


def test_only_agents_on_shift_get_cases_night_shift_across_midnight(make_agent, clock) -> None:
    make_agent("day", shifts=[(0, "09:00", "18:00"), (1, "09:00", "18:00")])
    make_agent("night", shifts=[(0, "22:00", "06:00")])
    clock.set(MONDAY_10)
    assert owner_of(open_case(email="1@example.com")) == "day"
    clock.set(TUESDAY_03)
    assert owner_of(open_case(email="2@example.com")) == "night"


def test_nobody_on_shift_leaves_the_case_in_the_department_queue(make_agent, clock) -> None:
    make_agent("day", shifts=[(0, "09:00", "18:00")])
    clock.set(TUESDAY_03)
    case = open_case()
    assert owner_of(case) is None
    case.refresh_from_db()
    assert case.department.code == "customer-service"


def test_away_agents_get_nothing(make_agent, admin_user, clock) -> None:
    from afterdesk.triage.services import away_set

    clock.set(MONDAY_10)
    away = make_agent("away")
    make_agent("here")
    away_set(actor=away, user=away, away=True)
    assert owner_of(open_case(email="1@example.com")) == "here"
    assert owner_of(open_case(email="2@example.com")) == "here"


def test_the_cap_is_never_exceeded(make_agent, clock) -> None:
    clock.set(MONDAY_10)
    make_agent("capped", max_open=2)
    owners = [owner_of(open_case(email=f"{i}@example.com")) for i in range(3)]
    assert owners == ["capped", "capped", None]


def test_a_rule_can_assign_an_agent_or_a_team(make_agent, admin_user, clock) -> None:
    clock.set(MONDAY_10)
    tech = make_agent("techie", department="tech")
    make_agent("cs")
    rule_create(
        actor=admin_user,
        data=RuleInput(name="to tech", keywords=("firmware",), assign_team="tech"),
    )
    rule_create(
        actor=admin_user,
        data=RuleInput(name="to cs", keywords=("invoice",), assign_to="cs"),
    )
    firmware = open_case(email="1@example.com", subject="firmware bug")
    firmware.refresh_from_db()
    assert (firmware.department.code, owner_of(firmware)) == ("tech", tech.username)
    invoice = open_case(email="2@example.com", subject="invoice please")
    assert owner_of(invoice) == "cs"
    assert strategy_of(invoice) == "rule"


def test_staff_without_a_profile_are_not_assigned(agent, clock) -> None:
    clock.set(MONDAY_10)
    assert owner_of(open_case()) is None


# ---- cost -------------------------------------------------------------------------------


def test_query_count_of_a_create_with_rules_model_and_assignment(
    make_agent, model, admin_user, clock, monkeypatch
) -> None:
    from afterdesk.cases import services as case_services

    clock.set(MONDAY_10)
    settings_update(actor=admin_user, confidence_threshold=0.0)
    for i in range(30):
        rule_create(
            actor=admin_user,
            data=RuleInput(name=f"rule {i}", keywords=(f"word{i}",), set_priority="high"),
        )
    make_agent("a1")
    make_agent("a2")
    open_case(email="warm@example.com")  # caches and counters as a running server has them
    snapshot()
    # The customer exists; each agent's queue counter rows exist.
    for _ in range(2):
        case_transition(actor=None, case=open_case(email="other@example.com"), to="cancelled")

    with monkeypatch.context() as patch:
        patch.setattr(case_services, "triage_case_decide", lambda **kwargs: None)
        open_case(email="other@example.com")  # the unassigned bucket's counter row exists
        with CaptureQueriesContext(connection) as without:
            open_case(email="other@example.com", subject="word3 包裹丢了", description="没收到")
    with CaptureQueriesContext(connection) as triaged:
        case = open_case(email="other@example.com", subject="word3 包裹丢了", description="没收到")

    extra = [q["sql"][:90] for q in triaged.captured_queries]
    base = [q["sql"][:90] for q in without.captured_queries]
    # Thirty rules, the model and automatic assignment cost: the continuity look-up, the
    # lock of the candidates, their loads and the round-robin stamp — and no query per rule,
    # none for the model. The decisions go into the case's INSERT and its triage events into
    # the INSERT of its other events.
    assert len(triaged.captured_queries) - len(without.captured_queries) == 4, (base, extra)
    assert not any("triage_rule" in sql for sql in extra)
    assert not any("triage_classifiermodel" in sql for sql in extra)
    case.refresh_from_db()
    assert (case.priority, case.owner is not None, case.category is not None) == (
        "high",
        True,
        True,
    )
