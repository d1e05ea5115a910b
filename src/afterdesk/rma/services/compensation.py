"""Compensation (R14): tiers, authority by role, the approval queue, coupons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from afterdesk.accounts.models import User
from afterdesk.cases.choices import EventType
from afterdesk.cases.events import event_record
from afterdesk.cases.models import Case
from afterdesk.core.errors import NotFound, PermissionDenied
from afterdesk.rma import money
from afterdesk.rma.choices import (
    AUTHORITY_RANK,
    MONEY_TYPES,
    ApproverRole,
    CompensationType,
    ProposalStatus,
)
from afterdesk.rma.errors import (
    ProposalNotPending,
    RmaInvalid,
)
from afterdesk.rma.models import (
    CompensationProposal,
    CompensationTier,
    Coupon,
    Rma,
)
from afterdesk.rma.services.common import (
    COUPON_DAYS_DEFAULT,
    COUPON_DAYS_MAX,
    TEXT_MAX,
    _choice,
    _currency,
    _money,
    _text,
)
from afterdesk.rma.warranty import local_date

# -- compensation (R14) -----------------------------------------------------------------------


def authority_of(user: User) -> int:
    return AUTHORITY_RANK.get(user.role, 0) if user.is_staff_member else 0


def tier_for(
    *, type: str, value: Decimal | None, tiers: list[CompensationTier] | None = None
) -> CompensationTier:
    """The tier a compensation of `type` and `value` (base currency for money) falls in."""
    candidates = tiers if tiers is not None else list(CompensationTier.objects.filter(type=type))
    candidates = sorted(
        (t for t in candidates if t.type == type),
        key=lambda t: (t.up_to is None, t.up_to or Decimal(0)),
    )
    for tier in candidates:
        if tier.up_to is None or value is None or value <= tier.up_to:
            return tier
    raise RmaInvalid(
        _("No compensation tier covers %(type)s of %(value)s; an administrator can add one.")
        % {"type": CompensationType(type).label, "value": value},
        fields={"value": _("above every tier")},
    )


@dataclass(frozen=True)
class CompensationInput:
    type: str
    value: Any = None
    currency: str = ""
    note: str = ""
    coupon_min_order: Any = None
    coupon_valid_days: int = COUPON_DAYS_DEFAULT


def _clean_compensation(data: CompensationInput, case: Case) -> tuple[Decimal | None, str]:
    _choice("type", data.type, CompensationType.values)
    value = _money("value", data.value)
    if data.type in MONEY_TYPES or data.type in (
        CompensationType.REFUND_PERCENT,
        CompensationType.EXTENDED_WARRANTY,
    ):
        if not value:
            raise RmaInvalid(_("Give the value of the compensation."), fields={"value": "?"})
    elif value is not None:
        raise RmaInvalid(
            _("%s has no value.") % CompensationType(data.type).label,
            fields={"value": _("not used")},
        )
    if data.type == CompensationType.REFUND_PERCENT and value is not None and value > 100:
        raise RmaInvalid(_("A refund is at most 100 %."), fields={"value": _("at most 100")})
    if data.type == CompensationType.EXTENDED_WARRANTY and (
        value is not None and (value != value.to_integral_value() or value > 120)
    ):
        raise RmaInvalid(
            _("Extended warranty is whole months, at most 120."),
            fields={"value": _("whole months")},
        )
    currency = _currency(data.currency, case.currency or "CNY") if data.type in MONEY_TYPES else ""
    if data.type == CompensationType.COUPON and not (
        1 <= data.coupon_valid_days <= COUPON_DAYS_MAX
    ):
        raise RmaInvalid(
            _("A coupon is valid for 1 to %d days.") % COUPON_DAYS_MAX,
            fields={"coupon_valid_days": _("range")},
        )
    return value, currency


def compensation_propose(
    *, actor: User, case: Case, data: CompensationInput, at: datetime | None = None
) -> CompensationProposal:
    """Propose compensation on a case. Within the proposer's authority it is approved at once
    (and a coupon issued); above it, it waits in the approval queue of the tier's role."""
    if not actor.is_staff_member:
        raise PermissionDenied(_("Only staff propose compensation."))
    value, currency = _clean_compensation(data, case)
    min_order = _money("coupon_min_order", data.coupon_min_order) or Decimal(0)
    note = _text("note", data.note, max_length=TEXT_MAX)
    base_value = None
    if data.type in MONEY_TYPES and value is not None:
        base_value = money.convert(value, currency, "CNY", money.rates_for({currency}))
    tier = tier_for(type=data.type, value=base_value if data.type in MONEY_TYPES else value)
    now = at or timezone.now()
    with transaction.atomic():
        proposal = CompensationProposal.objects.create(
            case=case,
            type=data.type,
            value=value,
            currency=currency,
            base_value=base_value,
            note=note,
            tier=tier,
            required_role=tier.approver_role,
            proposed_by=actor,
            proposed_at=now,
            coupon_min_order=min_order,
            coupon_valid_days=data.coupon_valid_days,
        )
        payload = {
            "proposal": proposal.pk,
            "type": data.type,
            "value": str(value) if value is not None else None,
            "currency": currency,
            "tier": tier.name,
            "required_role": tier.approver_role,
        }
        event_record(
            case=case, type=EventType.COMPENSATION_PROPOSED, at=now, actor=actor, payload=payload
        )
        if authority_of(actor) >= AUTHORITY_RANK[tier.approver_role]:
            _approve(proposal, actor=actor, now=now, note=_("within own authority"))
    return proposal


def _approve(
    proposal: CompensationProposal,
    *,
    actor: User,
    now: datetime,
    note: str,
) -> None:
    case = proposal.case
    proposal.status = ProposalStatus.APPROVED
    proposal.decided_by = actor
    proposal.decided_at = now
    proposal.decision_note = note
    payload: dict[str, Any] = {"proposal": proposal.pk, "type": proposal.type}
    if proposal.type == CompensationType.COUPON:
        coupon = _coupon_issue(
            proposal,
            now=now,
            valid_days=proposal.coupon_valid_days,
            min_order=proposal.coupon_min_order,
        )
        proposal.coupon = coupon
        payload["coupon"] = coupon.code
        payload["valid_until"] = coupon.valid_until.isoformat()
    elif proposal.type == CompensationType.EXTENDED_WARRANTY and proposal.value:
        months = int(proposal.value)
        Rma.objects.filter(case=case).update(
            extended_warranty_months=F("extended_warranty_months") + months
        )
        payload["months"] = months
    proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "coupon"])
    event_record(
        case=case,
        type=EventType.COMPENSATION_APPROVED,
        at=now,
        actor=actor,
        payload=payload,
    )


def _coupon_issue(
    proposal: CompensationProposal, *, now: datetime, valid_days: int, min_order: Decimal
) -> Coupon:
    valid_until = (local_date(now) or now.date()) + timedelta(days=valid_days)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Coupon.objects.create(
                    code=money.coupon_code_new(),
                    customer_id=proposal.case.customer_id,
                    value=proposal.value or Decimal(0),
                    currency=proposal.currency,
                    min_order_amount=min_order,
                    valid_until=valid_until,
                    created_at=now,
                )
        except IntegrityError:  # a 60-bit collision: draw again
            continue
    raise RuntimeError("could not draw a unique coupon code")


def compensation_decide(
    *,
    actor: User,
    proposal: CompensationProposal,
    approve: bool,
    note: str = "",
    at: datetime | None = None,
) -> CompensationProposal:
    """Approve or reject a waiting proposal; only someone with the tier's authority may."""
    note = _text("note", note, max_length=TEXT_MAX)
    if authority_of(actor) < AUTHORITY_RANK[proposal.required_role]:
        raise PermissionDenied(
            _("This compensation needs the approval of: %s.")
            % ApproverRole(proposal.required_role).label
        )
    now = at or timezone.now()
    with transaction.atomic():
        locked = (
            CompensationProposal.objects.select_for_update(of=("self",))
            .select_related("case")
            .filter(pk=proposal.pk)
            .first()
        )
        if locked is None:
            raise NotFound(_("No such compensation proposal."))
        if locked.status != ProposalStatus.PENDING:
            raise ProposalNotPending(
                _("This proposal was already decided (%s).") % locked.get_status_display(),
                extra={"status": locked.status},
            )
        if approve:
            _approve(locked, actor=actor, now=now, note=note)
        else:
            locked.status = ProposalStatus.REJECTED
            locked.decided_by, locked.decided_at, locked.decision_note = actor, now, note
            locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
            event_record(
                case=locked.case,
                type=EventType.COMPENSATION_REJECTED,
                at=now,
                actor=actor,
                payload={"proposal": locked.pk, "type": locked.type, "note": note},
            )
    return locked
