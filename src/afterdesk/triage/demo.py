"""Triage for `afterdesk demo`: default rules, the demo agents' skills and shifts (a night
shift included), and the first model, trained on the demo's closed cases and activated — so
`make run` ships an installation that triages new cases at once."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from afterdesk.accounts.models import User
from afterdesk.triage.errors import TrainingRefused
from afterdesk.triage.models import ClassifierModel, Rule
from afterdesk.triage.services import (
    ProfileInput,
    RuleInput,
    ShiftInput,
    model_train,
    profile_save,
    rule_create,
)

WEEKDAYS = range(0, 5)
ALL_DAYS = range(0, 7)

# Applied in this order; later rules override earlier ones, so the urgent classes come last.
DEMO_RULES: tuple[RuleInput, ...] = (
    RuleInput(
        name="VIP fast lane",
        position=10,
        vip="vip",
        set_priority="high",
        add_tags=("vip",),
    ),
    RuleInput(
        name="Small amount, quick close",
        position=20,
        amount_max=Decimal("150.00"),
        kinds=("complaint", "return", "dispute"),
        add_tags=("quick-close",),
    ),
    RuleInput(
        name="DOA words",
        position=30,
        keywords=("开不了机", "到货即坏", "收到就坏", "dead on arrival", "won't turn on", "doa"),
        set_category="product.doa",
    ),
    RuleInput(
        name="Counterfeit suspicion",
        position=40,
        keywords=("假货", "高仿", "防伪", "counterfeit", "fake"),
        set_category="product.counterfeit",
        set_priority="high",
        add_tags=("counterfeit",),
    ),
    RuleInput(
        name="Marketplace disputes",
        position=50,
        kinds=("dispute",),
        channels=("marketplace",),
        set_department="customer-service",
        add_tags=("marketplace",),
    ),
    RuleInput(
        name="Account security",
        position=90,
        keywords=("账号被盗", "盗刷", "被盗号", "account hacked", "account stolen", "unauthorised"),
        set_category="transaction.payment_security",
        set_priority="urgent",
        add_tags=("security",),
    ),
    RuleInput(
        name="Safety hazard",
        position=100,
        keywords=("冒烟", "起火", "漏电", "烧焦", "smoke", "caught fire", "sparks"),
        set_category="product.quality",
        set_priority="urgent",
        set_complex=True,
        add_tags=("safety",),
    ),
)

# username -> (languages, product lines, cap, shifts as (days, start, end))
DEMO_AGENTS: dict[
    str, tuple[tuple[str, ...], tuple[str, ...], int | None, list[tuple[range, str, str]]]
] = {
    "zhang.wei": (("zh-hans",), (), 40, [(WEEKDAYS, "09:00", "18:00")]),
    "li.na": (("zh-hans",), (), 40, [(WEEKDAYS, "09:00", "18:00")]),
    "wang.lei": (("zh-hans",), (), 40, [(range(1, 6), "12:00", "21:00")]),
    "liu.yang": (("zh-hans",), (), 40, [(ALL_DAYS, "22:00", "06:00")]),  # the night shift
    "chen.jing": (("zh-hans", "en"), (), 40, [(range(3, 7), "09:00", "18:00")]),
    "zhao.min": (("zh-hans",), (), 40, [(range(5, 7), "08:00", "20:00")]),
    "emma.wilson": (("en",), (), 35, [(WEEKDAYS, "09:00", "18:00")]),
    "james.brown": (("en", "zh-hans"), (), 35, [(WEEKDAYS, "14:00", "23:00")]),
    "sun.hao": (
        ("zh-hans",),
        ("phones", "watches", "earbuds"),
        25,
        [(range(0, 6), "09:00", "18:00")],
    ),
    "zhou.qiang": (
        ("zh-hans",),
        ("vacuums", "air purifiers", "routers"),
        25,
        [(range(0, 6), "09:00", "18:00")],
    ),
    "david.lee": (("en", "zh-hans"), (), 25, [(range(1, 7), "10:00", "19:00")]),
    "huang.li": (("zh-hans",), (), 50, [(range(0, 6), "08:00", "17:00")]),
    "wu.gang": (("zh-hans",), (), 50, [(range(0, 6), "08:00", "17:00")]),
    "sophie.martin": (("en", "zh-hans"), (), 50, [(range(0, 6), "10:00", "19:00")]),
    "lin.feng": (("zh-hans",), (), 30, [(WEEKDAYS, "10:00", "19:00")]),
    "he.xin": (("zh-hans",), (), 30, [(WEEKDAYS, "10:00", "19:00")]),
}


def triage_demo_load(*, staff: dict[str, User]) -> ClassifierModel | None:
    """Seed rules, agent profiles and shifts, and train the first model on the demo cases.

    Idempotent for the configuration: existing rules and profiles are left as they are.
    """
    admin = staff.get("admin")
    if admin is None:
        return None
    existing = set(Rule.objects.values_list("name", flat=True))
    for rule in DEMO_RULES:
        if rule.name not in existing:
            rule_create(actor=admin, data=rule)
    for username, (languages, lines, cap, shifts) in DEMO_AGENTS.items():
        user = staff.get(username)
        if user is None:
            continue
        spans = tuple(
            ShiftInput(day, time.fromisoformat(start), time.fromisoformat(end))
            for days, start, end in shifts
            for day in days
        )
        profile_save(
            actor=admin,
            user=user,
            data=ProfileInput(languages=languages, product_lines=lines, max_open=cap, shifts=spans),
        )
    if ClassifierModel.objects.filter(is_active=True).exists():
        return None
    try:
        return model_train(actor=admin)
    except TrainingRefused:
        # A tiny demo (`--cases 10`) has too few closed cases: rules and routing still work.
        return None
