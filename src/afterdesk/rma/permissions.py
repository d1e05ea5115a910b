"""Who may see and change which RMA: the case's rules (an agent outside the department gets
404, customers only their own), plus the compensation authority of each role (R14)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from afterdesk.accounts.choices import Role
from afterdesk.accounts.models import User
from afterdesk.cases.models import Case
from afterdesk.cases.permissions import can_edit_case, get_case_for_user, visibility_filter
from afterdesk.core.errors import NotFound
from afterdesk.rma.choices import AUTHORITY_RANK
from afterdesk.rma.models import CompensationProposal, Rma

# Roles that see the RMA report.
REPORT_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


def restrict_rmas(queryset: QuerySet[Rma], user: User) -> QuerySet[Rma]:
    """The RMAs whose case `user` may see."""
    condition = visibility_filter(user)
    if condition is None:
        return queryset
    # visibility_filter speaks of Case fields: apply it to the cases, join by key.
    return queryset.filter(case__in=Case.objects.filter(condition).values("pk"))


def get_rma_for_user(user: User, number: str, *, write: bool = False) -> Rma:
    """The RMA of case `number` if the user may see it (and work on it, with write=True).

    NotFound alike for unknown numbers, cases the user may not see, and cases without an RMA.
    """
    case = get_case_for_user(user, number, write=write)
    rma = Rma.objects.select_related("policy", "quick_close_rule").filter(case=case).first()
    if rma is None:
        raise NotFound(_("Case %s has no RMA.") % number)
    rma.case = case
    return rma


def can_operate_rma(user: User, rma: Rma) -> bool:
    """Take staff steps (approve, receive, inspect, diagnose, ship, quick close)."""
    return can_edit_case(user, rma.case)


def can_answer_quote(user: User, rma: Rma) -> bool:
    return user.role == Role.CUSTOMER and rma.case.customer.user_id == user.pk


def can_see_report(user: User) -> bool:
    return user.is_active and user.role in REPORT_ROLES


def can_propose_compensation(user: User, rma_or_case_editable: bool) -> bool:
    return user.is_staff_member and rma_or_case_editable


def can_decide_proposal(user: User, proposal: CompensationProposal) -> bool:
    """Whether `user` has the authority the proposal's tier needs ("director" = admin)."""
    return (
        user.is_active
        and user.is_staff_member
        and AUTHORITY_RANK.get(user.role, 0) >= AUTHORITY_RANK[proposal.required_role]
    )


def approvable_roles(user: User) -> list[str]:
    """The tier roles whose proposals `user` may decide."""
    rank = AUTHORITY_RANK.get(user.role, 0) if user.is_staff_member else 0
    return [role for role in ("agent", "supervisor", "admin") if AUTHORITY_RANK[role] <= rank]


def get_proposal_for_user(user: User, proposal_id: int, number: str) -> CompensationProposal:
    """A proposal on case `number` that the user may see; NotFound otherwise."""
    case = get_case_for_user(user, number)
    proposal = (
        CompensationProposal.objects.select_related("case", "tier", "proposed_by", "coupon")
        .filter(pk=proposal_id, case=case)
        .first()
    )
    if proposal is None:
        raise NotFound(_("No such compensation proposal."))
    return proposal
