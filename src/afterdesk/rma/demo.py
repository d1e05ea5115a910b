"""RMAs for `afterdesk demo`: authorisations on the demo's repair, return and exchange cases,
driven through the real services to a spread of states with back-dated milestones, plus a
product-line policy, an abuse flag and compensation (approved coupons, a waiting proposal).

Every milestone lies between the case's creation and its resolution (or now), so the case
timelines stay in order. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from afterdesk.accounts.models import User
from afterdesk.cases.choices import OPEN_STATUSES
from afterdesk.cases.models import Case
from afterdesk.rma import services
from afterdesk.rma.choices import RMA_KINDS, Reason, State
from afterdesk.rma.models import AbuseFlag, Rma, RmaPolicy

DEMO_RMAS = 90
MARGIN = timedelta(minutes=5)
CARRIERS = ("SF Express", "JD Logistics", "ZTO Express", "YTO Express", "EMS")
REASONS_BY_KIND = {
    "repair": [Reason.QUALITY_DEFECT] * 5 + [Reason.DOA] * 2 + [Reason.OTHER],
    "return": [Reason.DOA] * 3
    + [Reason.WRONG_ITEM] * 2
    + [Reason.NOT_AS_DESCRIBED, Reason.CHANGED_MIND, Reason.DAMAGED_IN_TRANSIT],
    "exchange": [Reason.WRONG_ITEM] * 2
    + [Reason.MISSING_PARTS] * 2
    + [Reason.DOA, Reason.DAMAGED_IN_TRANSIT],
}
# The path of each kind and the delay (hours, low–high) before each step.
PATHS: dict[str, list[tuple[str, float, float]]] = {
    "repair": [
        (State.APPROVED, 1, 20),
        (State.AWAITING_RETURN, 0.2, 2),
        (State.IN_TRANSIT, 4, 30),
        (State.RECEIVED, 24, 72),
        (State.INSPECTED, 1, 12),
        (State.DIAGNOSED, 2, 22),
        (State.REPAIRING, 1, 20),
        (State.REPAIRED, 24, 96),
        (State.SHIPPED_BACK, 2, 20),
        (State.DELIVERED, 20, 60),
        (State.CONFIRMED, 2, 30),
        (State.CLOSED, 0.5, 4),
    ],
    "return": [
        (State.APPROVED, 1, 20),
        (State.AWAITING_RETURN, 0.2, 2),
        (State.IN_TRANSIT, 4, 30),
        (State.RECEIVED, 24, 72),
        (State.INSPECTED, 1, 20),
        (State.REFUNDED, 2, 48),
        (State.CLOSED, 0.5, 4),
    ],
    "exchange": [
        (State.APPROVED, 1, 20),
        (State.AWAITING_RETURN, 0.2, 2),
        (State.IN_TRANSIT, 4, 30),
        (State.RECEIVED, 24, 72),
        (State.INSPECTED, 1, 20),
        (State.REPLACEMENT_SHIPPED, 2, 30),
        (State.DELIVERED, 20, 60),
        (State.CONFIRMED, 2, 30),
        (State.CLOSED, 0.5, 4),
    ],
}


def _staff(role: str) -> User | None:
    return User.objects.filter(role=role, is_active=True).order_by("username").first()


def rma_demo_load(*, seed: int, count: int = DEMO_RMAS, now: datetime | None = None) -> int:
    """Add RMAs to up to `count` demo cases of the RMA kinds; returns how many."""
    rng = random.Random(f"{seed}:rma")
    now = now or timezone.now()
    supervisor = _staff("supervisor")
    if supervisor is None:
        return 0
    technician = _staff("technician") or supervisor
    warehouse = _staff("warehouse") or supervisor
    admin = _staff("admin")
    with transaction.atomic():
        RmaPolicy.objects.update_or_create(
            product_line="phones",
            defaults={
                "return_days": 7,
                "exchange_days": 15,
                "out_of_warranty": "paid_quote",
                "confirm_receipt_days": 3,
                "return_address": "极光售后维修中心\n上海市浦东新区张江路 88 号\n邮编 201203",
                "return_instructions": "请带上全部配件并将退货单放入包裹内；包装外写上 RMA 编号。",
            },
        )
    candidates = list(
        Case.objects.filter(kind__in=RMA_KINDS, rma__isnull=True)
        .exclude(status="cancelled")
        .select_related("customer")
        .order_by("created_at", "pk")
    )
    # Every open case (the warehouse and the queues show them), then finished ones at random.
    open_cases = [c for c in candidates if c.status in OPEN_STATUSES]
    finished = [c for c in candidates if c.status not in OPEN_STATUSES]
    rng.shuffle(finished)
    cases = (open_cases + finished)[:count]
    made = 0
    for case in cases:
        with transaction.atomic():
            _play(case, rng=rng, now=now, staff=(supervisor, technician, warehouse))
        made += 1
    # One customer with a history of abusive returns: quick close is not offered to them.
    flagged = candidates[-1].customer if candidates else None
    if flagged is not None:
        AbuseFlag.objects.get_or_create(
            customer=flagged,
            defaults={"reason": "9 returns of worn items in 3 months", "flagged_by": admin},
        )
    return made


def _play(case: Case, *, rng: random.Random, now: datetime, staff: tuple[User, ...]) -> None:
    """One RMA: a finished case gets its whole path, its delays scaled to fit between the
    case's creation and resolution; an open case stops somewhere short of closing."""
    supervisor, _technician, warehouse = staff
    finished = case.status not in OPEN_STATUSES
    end = (case.resolved_at or now - MARGIN) if finished else now - MARGIN
    at = case.created_at + timedelta(minutes=rng.uniform(3, 20))
    if at >= end:
        return
    reason = rng.choice(REASONS_BY_KIND[case.kind])
    rma = services.rma_create(
        actor=None,
        case=case,
        reason=reason,
        reason_detail=case.description[:500],
        items=[] if case.product_sku else [services.ItemInput(sku="ACC-MISC", description="配件")],
        by_customer=True,
        at=at,
    )
    draw = rng.random()
    if draw < 0.2 and services.quick_close_check(rma=rma, outcome="refund").rule is not None:
        services.rma_quick_close(
            actor=supervisor, rma=rma, outcome="refund", at=at + (end - at) * 0.3
        )
        return
    if draw > 0.94:
        services.rma_transition(
            actor=supervisor,
            rma=rma,
            to=State.REJECTED,
            note="超出七天无理由退货期限",
            at=at + (end - at) * 0.3,
        )
        return
    path = PATHS[case.kind]
    steps = path if finished else path[: rng.randint(0, len(path) - 1)]
    delays = [timedelta(hours=rng.uniform(low, high)) for _to, low, high in steps]
    total = sum(delays, timedelta())
    scale = min(1.0, (end - at) / total * 0.95) if total else 1.0
    for n, ((to, _low, _high), delay) in enumerate(zip(steps, delays, strict=True)):
        at += delay * scale
        if at >= end:
            return
        rma = _step(rma, to, n=n, at=at, rng=rng, staff=staff)
        if to == State.RECEIVED and rng.random() < 0.6:
            services.rma_set_disposition(
                actor=warehouse,
                rma=rma,
                disposition=rng.choice(["restock", "refurbish", "repair", "vendor"]),
                at=at + delay * scale * 0.01,
            )
        if to == State.INSPECTED and rng.random() < 0.3:
            _compensate(rma, rng=rng, at=at + delay * scale * 0.01, actor=supervisor)


def _step(
    rma: Rma, to: str, *, n: int, at: datetime, rng: random.Random, staff: tuple[User, ...]
) -> Rma:
    supervisor, technician, warehouse = staff
    tracking = f"SF{rng.randrange(10**11, 10**12)}"
    if to == State.RECEIVED:
        return services.rma_receive(actor=warehouse, rma=rma, code=tracking, at=at)
    if to == State.INSPECTED:
        damaged = rng.random() < 0.1
        services.rma_inspect(
            actor=warehouse,
            rma=rma,
            data=services.InspectionInput(
                packaging_ok=rng.random() > 0.15,
                function_ok=rma.reason not in ("doa", "quality_defect"),
                matches_description=rng.random() > 0.1,
                accessories_complete=rng.random() > 0.1,
                customer_damage=damaged,
                notes="外壳有磕碰" if damaged else "与客户描述一致",
            ),
            at=at,
        )
        return Rma.objects.select_related("case", "policy").get(pk=rma.pk)
    if to == State.DIAGNOSED:
        paid = rma.warranty_status != "in_warranty"
        services.rma_diagnose(
            actor=technician,
            rma=rma,
            fault="主板供电模块损坏",
            repair_plan="更换主板供电模块并做整机测试",
            repair_eta=(timezone.localtime(at) + timedelta(days=rng.randint(2, 5))).date(),
            cost=Decimal(rng.choice(["199.00", "299.00", "459.00"])) if paid else None,
            at=at,
        )
        return Rma.objects.select_related("case", "policy").get(pk=rma.pk)
    if to == State.REPAIRING and rma.quote_status == "pending":
        services.rma_quote_answer(
            user=rma.case.customer.user or supervisor,
            rma=rma,
            accept=True,
            by_customer=rma.case.customer.user is not None,
            at=at - timedelta(minutes=30),
        )
    if to == State.CONFIRMED:
        return services.rma_confirm_receipt(
            user=rma.case.customer.user, rma=rma, by_customer=True, at=at
        )
    actor = technician if to in (State.REPAIRING, State.REPAIRED) else supervisor
    return services.rma_transition(
        actor=actor,
        rma=rma,
        to=to,
        carrier=rng.choice(CARRIERS),
        tracking_number=tracking,
        at=at,
    )


def _quick_close(rma: Rma, *, rng: random.Random, at: datetime, actor: User) -> None:
    check = services.quick_close_check(rma=rma, outcome="refund")
    if check.rule is not None:
        services.rma_quick_close(actor=actor, rma=rma, outcome="refund", at=at)


def _compensate(rma: Rma, *, rng: random.Random, at: datetime, actor: User) -> None:
    agent = User.objects.filter(role="agent", is_active=True).order_by("username").first()
    proposer = agent or actor
    if rng.random() < 0.5:
        data = services.CompensationInput(
            type="coupon",
            value=Decimal(rng.choice(["30", "50", "80"])),
            currency="CNY",
            note="致歉优惠券",
            coupon_min_order=Decimal("199"),
        )
    else:
        data = services.CompensationInput(
            type="fixed_amount",
            value=Decimal(rng.choice(["150", "300", "800"])),
            currency="CNY",
            note="补偿客户等待时间",
        )
    services.compensation_propose(actor=proposer, case=rma.case, data=data, at=at)
