"""Choosing the owner of a new case inside its department.

In order: owner continuity (the agent of the customer's open case, or of an earlier case
about the same order or serial number — R8); the customer's dedicated VIP agent (R23); then
the pool of agents on shift (R17), not away and under their cap — those whose skills
(language, product line) fit first — the least loaded of them, ties to the one who got a case
longest ago (round robin, kept as a turn number on the profile). Continuity and the VIP agent
ignore shifts (the case waits for its person) but not the away flag or the cap.

Atomic: the candidates' profile rows are locked (`SELECT … FOR UPDATE`, in id order) before
their loads are counted, so two cases arriving at once are assigned one after the other and
never push an agent past the cap. On SQLite the write lock of the case insert already
serialises case creation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Q
from django.utils import timezone

from afterdesk.cases.choices import OPEN_STATUSES
from afterdesk.cases.models import Case
from afterdesk.triage.cache import Agent, Snapshot
from afterdesk.triage.choices import AssignmentMode, Strategy
from afterdesk.triage.engine import on_shift
from afterdesk.triage.models import AgentProfile


@dataclass(frozen=True)
class Choice:
    agent: Agent
    strategy: str
    # The agent's next round-robin turn.
    turn: int


def _loads(user_ids: list[int]) -> dict[int, int]:
    rows = (
        Case.objects.filter(owner_id__in=user_ids, status__in=OPEN_STATUSES)
        .values("owner_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["owner_id"]: row["n"] for row in rows}


def _previous_owner(case: Case, candidates: dict[int, Agent]) -> int | None:
    """The owner of the customer's latest open case, or of a case about the same order or
    serial, if that person is one of the department's agents."""
    match = Q(status__in=OPEN_STATUSES)
    if case.order_ref:
        match |= Q(order_ref=case.order_ref)
    if case.serial:
        match |= Q(serial=case.serial)
    owner_ids = (
        Case.objects.filter(match, customer_id=case.customer_id, owner__isnull=False)
        .exclude(pk=case.pk)
        .order_by("-created_at", "-id")
        .values_list("owner_id", flat=True)[:5]
    )
    return next((oid for oid in owner_ids if oid in candidates), None)


def assign_pick(
    *,
    case: Case,
    snap: Snapshot,
    department_id: int | None,
    product_line: str,
    at: datetime,
) -> Choice | None:
    """The agent for `case` (and how they were chosen), or None: nobody may take it now.

    Call inside the transaction that saves the owner: the lock taken here is what keeps the
    cap under concurrency.
    """
    if snap.mode == AssignmentMode.OFF or department_id is None:
        return None
    agents = [a for a in snap.agents.get(department_id, []) if not a.away]
    if not agents:
        return None
    by_id = {a.user_id: a for a in agents}
    customer = case.customer
    sticky = _previous_owner(case, by_id)
    vip = customer.dedicated_agent_id if customer.is_vip else None
    local = timezone.localtime(at)
    pool = [a for a in agents if on_shift(a.shifts, local)]
    wanted = {i for i in (sticky, vip) if i in by_id} | {a.user_id for a in pool}
    if not wanted:
        return None
    # The lock: in id order, so concurrent assignments cannot deadlock.
    locked = dict(
        AgentProfile.objects.select_for_update()
        .filter(user_id__in=sorted(wanted))
        .order_by("user_id")
        .values_list("user_id", "turn")
    )
    loads = _loads(sorted(wanted))

    def has_room(agent: Agent) -> bool:
        return agent.user_id in locked and (
            agent.cap is None or loads.get(agent.user_id, 0) < agent.cap
        )

    next_turn = max(locked.values(), default=0) + 1
    if sticky is not None and has_room(by_id[sticky]):
        return Choice(by_id[sticky], Strategy.CONTINUITY, next_turn)
    if vip is not None and vip in by_id and has_room(by_id[vip]):
        return Choice(by_id[vip], Strategy.VIP_AGENT, next_turn)
    free = [a for a in pool if has_room(a)]
    if not free:
        return None
    strategy = (
        Strategy.ROUND_ROBIN if snap.mode == AssignmentMode.ROUND_ROBIN else Strategy.LEAST_LOADED
    )
    skilled = [
        a
        for a in free
        if (not a.languages or customer.language in a.languages)
        and (not a.product_lines or not product_line or product_line in a.product_lines)
    ]
    if skilled and any(a.languages or a.product_lines for a in skilled):
        free = skilled
        if strategy == Strategy.LEAST_LOADED:
            strategy = Strategy.SKILLS

    def round_robin(agent: Agent) -> tuple[int, int]:
        return (locked.get(agent.user_id, 0), agent.user_id)

    if snap.mode == AssignmentMode.ROUND_ROBIN:
        chosen = min(free, key=round_robin)
    else:
        chosen = min(free, key=lambda a: (loads.get(a.user_id, 0), *round_robin(a)))
    return Choice(chosen, strategy, next_turn)


def assign_mark(*, user_id: int, at: datetime, turn: int | None = None) -> None:
    """Move the agent to the back of the round-robin order and remember when."""
    if turn is None:
        turn = (AgentProfile.objects.aggregate(m=Max("turn"))["m"] or 0) + 1
    AgentProfile.objects.filter(user_id=user_id).update(last_assigned_at=at, turn=turn)
