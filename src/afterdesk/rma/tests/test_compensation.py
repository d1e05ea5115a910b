"""Compensation (R14): tiers, authority by role (director = admin), the approval queue, and
coupon codes from the cryptographic random source."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from afterdesk.cases.choices import EventType
from afterdesk.cases.models import CaseEvent
from afterdesk.core.errors import PermissionDenied
from afterdesk.rma import money, services
from afterdesk.rma.errors import ProposalNotPending, RmaInvalid
from afterdesk.rma.models import CompensationProposal, CompensationTier, Coupon, Rma

pytestmark = pytest.mark.django_db

CODE = re.compile(
    r"^AD-[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{4}(-[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{4}){2}$"
)


def _propose(user, case, type_, value=None, currency="", **extra):
    return services.compensation_propose(
        actor=user,
        case=case,
        data=services.CompensationInput(type=type_, value=value, currency=currency, **extra),
    )


@pytest.mark.parametrize(
    ("type_", "value", "currency", "role", "tier_role"),
    [
        ("fixed_amount", "100.00", "CNY", "agent", "agent"),
        ("fixed_amount", "100.01", "CNY", "agent", "supervisor"),
        ("fixed_amount", "14.00", "USD", "agent", "agent"),  # 99.40 CNY
        ("fixed_amount", "15.00", "USD", "agent", "supervisor"),  # 106.50 CNY
        ("fixed_amount", "500.00", "CNY", "supervisor", "supervisor"),
        ("fixed_amount", "501.00", "CNY", "supervisor", "admin"),
        ("refund_percent", "10", "", "agent", "agent"),
        ("refund_percent", "30", "", "agent", "supervisor"),
        ("refund_percent", "31", "", "supervisor", "admin"),
        ("extended_warranty", "3", "", "agent", "agent"),
        ("extended_warranty", "24", "", "supervisor", "admin"),
        ("expedited_shipping", None, "", "agent", "agent"),
        ("free_upgrade", None, "", "agent", "supervisor"),
    ],
)
def test_tier_and_authority(
    make_case, customer_a, agent, supervisor, type_, value, currency, role, tier_role
) -> None:
    case = make_case(customer=customer_a, kind="return")
    user = {"agent": agent, "supervisor": supervisor}[role]
    proposal = _propose(user, case, type_, value, currency)
    assert proposal.required_role == tier_role
    within = {"agent": 1, "supervisor": 2, "admin": 3}[tier_role] <= {"agent": 1, "supervisor": 2}[
        role
    ]
    assert proposal.status == ("approved" if within else "pending")
    types = list(
        CaseEvent.objects.filter(case=case, type__startswith="compensation.").values_list(
            "type", flat=True
        )
    )
    expected = [EventType.COMPENSATION_PROPOSED] + (
        [EventType.COMPENSATION_APPROVED] if within else []
    )
    assert types == expected


def test_pending_proposal_waits_for_the_right_authority(
    make_case, customer_a, agent, supervisor, admin_user
):
    case = make_case(customer=customer_a, kind="return")
    proposal = _propose(agent, case, "fixed_amount", "800", "CNY")
    assert (proposal.status, proposal.required_role) == ("pending", "admin")
    with pytest.raises(PermissionDenied, match="Director"):
        services.compensation_decide(actor=supervisor, proposal=proposal, approve=True)
    assert CompensationProposal.objects.get(pk=proposal.pk).status == "pending"
    decided = services.compensation_decide(
        actor=admin_user, proposal=proposal, approve=True, note="VIP, long history"
    )
    assert (decided.status, decided.decided_by, decided.decision_note) == (
        "approved",
        admin_user,
        "VIP, long history",
    )
    with pytest.raises(ProposalNotPending):
        services.compensation_decide(actor=admin_user, proposal=decided, approve=False)


def test_rejection_is_recorded(make_case, customer_a, agent, supervisor) -> None:
    case = make_case(customer=customer_a, kind="return")
    proposal = _propose(agent, case, "refund_percent", "25")
    services.compensation_decide(
        actor=supervisor, proposal=proposal, approve=False, note="Too much"
    )
    proposal.refresh_from_db()
    assert proposal.status == "rejected"
    event = CaseEvent.objects.get(case=case, type=EventType.COMPENSATION_REJECTED)
    assert event.payload["note"] == "Too much"


def test_coupon_is_issued_on_approval_with_its_conditions(make_case, customer_a, agent, supervisor):
    case = make_case(customer=customer_a, kind="return")
    proposal = _propose(
        agent, case, "coupon", "200", "CNY", coupon_min_order="300", coupon_valid_days=30
    )
    assert proposal.status == "pending" and proposal.coupon is None
    assert not Coupon.objects.exists()
    services.compensation_decide(actor=supervisor, proposal=proposal, approve=True)
    proposal.refresh_from_db()
    coupon = proposal.coupon
    assert CODE.match(coupon.code)
    assert (coupon.value, coupon.currency, coupon.min_order_amount, coupon.customer) == (
        Decimal("200.00"),
        "CNY",
        Decimal("300.00"),
        customer_a,
    )
    assert (coupon.valid_until - proposal.decided_at.date()).days in (30, 31)
    event = CaseEvent.objects.get(case=case, type=EventType.COMPENSATION_APPROVED)
    assert event.payload["coupon"] == coupon.code


def test_coupon_codes_are_random_and_unambiguous(monkeypatch) -> None:
    codes = {money.coupon_code_new() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(CODE.match(c) for c in codes)
    assert not any(ch in "".join(codes) for ch in "01OIL")
    # Drawn from `secrets` (the OS's CSPRNG), not `random`.
    calls = []
    import secrets

    real = secrets.choice
    monkeypatch.setattr(secrets, "choice", lambda seq: calls.append(1) or real(seq))
    money.coupon_code_new()
    assert len(calls) == 12


def test_extended_warranty_adds_months_to_the_rma(make_rma, agent) -> None:
    rma = make_rma(kind="repair")
    _propose(agent, rma.case, "extended_warranty", "3")
    assert Rma.objects.get(pk=rma.pk).extended_warranty_months == 3


@pytest.mark.parametrize(
    ("type_", "value", "field"),
    [
        ("fixed_amount", None, "value"),
        ("refund_percent", "101", "value"),
        ("extended_warranty", "1.5", "value"),
        ("free_upgrade", "5", "value"),
        ("gift", "5", "type"),
        ("fixed_amount", "-1", "value"),
    ],
)
def test_bad_proposals_are_refused_and_write_nothing(
    make_case, customer_a, agent, type_, value, field
):
    case = make_case(customer=customer_a, kind="return")
    events = CaseEvent.objects.count()
    with pytest.raises(RmaInvalid) as info:
        _propose(agent, case, type_, value, "CNY")
    assert field in info.value.fields
    assert not CompensationProposal.objects.exists()
    assert CaseEvent.objects.count() == events


def test_no_tier_covers_the_value(make_case, customer_a, agent) -> None:
    CompensationTier.objects.filter(type="fixed_amount", up_to__isnull=True).delete()
    case = make_case(customer=customer_a, kind="return")
    with pytest.raises(RmaInvalid, match="No compensation tier covers"):
        _propose(agent, case, "fixed_amount", "9999", "CNY")


def test_customers_cannot_propose(make_case, customer_a) -> None:
    case = make_case(customer=customer_a, kind="return")
    with pytest.raises(PermissionDenied):
        _propose(customer_a.user, case, "fixed_amount", "10", "CNY")
