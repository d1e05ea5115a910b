"""Reads of the RMA app, already scoped to the user: the RMA panel, warehouse lists, the
approval queue, the customer's milestones and the RMA report (R21, R29)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from afterdesk.accounts.models import User
from afterdesk.rma.choices import (
    MILESTONE_FIELDS,
    RECEIVABLE_STATES,
    ProposalStatus,
    Reason,
    State,
)
from afterdesk.rma.models import (
    CompensationProposal,
    Coupon,
    Inspection,
    Rma,
    RmaItem,
    Shipment,
)
from afterdesk.rma.permissions import approvable_roles, restrict_rmas

LIST_MAX = 100


def rma_items(*, rma: Rma) -> list[RmaItem]:
    return list(rma.items.all())


def rma_shipments(*, rma: Rma) -> list[Shipment]:
    return list(rma.shipments.all())


def rma_inspection(*, rma: Rma) -> Inspection | None:
    return Inspection.objects.filter(rma=rma).select_related("inspected_by").first()


def case_proposals(*, case_id: int) -> list[CompensationProposal]:
    return list(
        CompensationProposal.objects.filter(case_id=case_id)
        .select_related("proposed_by", "decided_by", "coupon", "tier")
        .order_by("proposed_at", "id")
    )


def case_coupons(*, case_id: int) -> list[Coupon]:
    """The coupons issued on a case (approved proposals): what the customer may see of its
    compensation."""
    return list(
        Coupon.objects.filter(
            proposal__case_id=case_id, proposal__status=ProposalStatus.APPROVED
        ).order_by("created_at", "pk")
    )


def rma_for_case(*, case_id: int) -> Rma | None:
    return Rma.objects.select_related("policy", "quick_close_rule").filter(case_id=case_id).first()


def milestones(rma: Rma) -> list[tuple[str, datetime]]:
    """(state, when) of every milestone the RMA passed, in time order."""
    passed = [
        (state, getattr(rma, column))
        for state, column in MILESTONE_FIELDS.items()
        if getattr(rma, column) is not None
    ]
    return sorted(passed, key=lambda pair: pair[1])


def _visible(user: User) -> QuerySet[Rma]:
    return restrict_rmas(Rma.objects.all(), user)


def rmas_for_scan(*, user: User) -> QuerySet[Rma]:
    """The RMAs a scan may find for this user."""
    return _visible(user).select_related("case", "policy")


def expected_parcels(*, user: User) -> list[Rma]:
    """Parcels on their way to the warehouse (or announced), oldest first."""
    return list(
        _visible(user)
        .filter(state__in=RECEIVABLE_STATES)
        .select_related("case", "case__customer")
        .order_by("awaiting_return_at", "pk")[:LIST_MAX]
    )


def arrivals(*, user: User) -> list[Rma]:
    """Goods in the warehouse still to inspect or to sort (R19), oldest arrival first."""
    return list(
        _visible(user)
        .filter(received_at__isnull=False, disposition="")
        .exclude(state__in=[State.CLOSED, State.CANCELLED])
        .select_related("case", "case__customer", "inspection")
        .prefetch_related("items")
        .order_by("received_at", "pk")[:LIST_MAX]
    )


def recently_received(*, user: User, limit: int = 10) -> list[Rma]:
    return list(
        _visible(user)
        .filter(received_at__isnull=False)
        .select_related("case")
        .order_by("-received_at", "-pk")[:limit]
    )


def approval_queue(*, user: User) -> list[CompensationProposal]:
    """Waiting proposals the user has the authority to decide, on cases they may see."""
    roles = approvable_roles(user)
    if not roles:
        return []
    from afterdesk.cases.models import Case
    from afterdesk.cases.permissions import restrict_cases

    visible = restrict_cases(Case.objects.all(), user).values("pk")
    return list(
        CompensationProposal.objects.filter(
            status=ProposalStatus.PENDING, required_role__in=roles, case__in=visible
        )
        .select_related("case", "case__customer", "proposed_by", "tier")
        .order_by("proposed_at", "id")[:LIST_MAX]
    )


def rmas_list(*, user: User, state: str = "", limit: int = 50) -> list[Rma]:
    qs = _visible(user).select_related("case", "case__customer")
    if state:
        qs = qs.filter(state=state)
    return list(qs.order_by("-requested_at", "-pk")[:limit])


# -- the report (R21, R29) --------------------------------------------------------------------


@dataclass
class Figures:
    """The RMA metrics of one group (a period, a product line, a reason)."""

    requests: int = 0
    authorised: int = 0
    hours_to_authorise: list[float] = field(default_factory=list)
    repair_days: list[float] = field(default_factory=list)
    return_wait_days: list[float] = field(default_factory=list)
    inspections: int = 0
    passed: int = 0

    @staticmethod
    def _mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 1) if values else None

    @property
    def authorise_hours(self) -> float | None:
        return self._mean(self.hours_to_authorise)

    @property
    def repair_cycle_days(self) -> float | None:
        return self._mean(self.repair_days)

    @property
    def return_wait(self) -> float | None:
        return self._mean(self.return_wait_days)

    @property
    def pass_rate(self) -> float | None:
        return round(100 * self.passed / self.inspections, 1) if self.inspections else None


@dataclass
class ParetoRow:
    reason: str
    count: int
    share: float
    cumulative: float


@dataclass
class Report:
    start: date
    end: date
    total: Figures
    by_period: list[tuple[str, Figures]]
    by_line: list[tuple[str, Figures]]
    by_reason: list[tuple[str, Figures]]
    pareto: list[ParetoRow]


def _days(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() / 86400 if a is not None and b is not None else None


def _add(figures: Figures, row: dict[str, Any]) -> None:
    figures.requests += 1
    if row["approved_at"] is not None:
        figures.authorised += 1
        figures.hours_to_authorise.append(
            (row["approved_at"] - row["requested_at"]).total_seconds() / 3600
        )
    if row["kind"] == "repair":
        cycle = _days(row["received_at"], row["shipped_back_at"])
        if cycle is not None and row["repaired_at"] is not None:
            figures.repair_days.append(cycle)
    else:
        done = row["refunded_at"] or row["replacement_shipped_at"]
        wait = _days(row["requested_at"], done)
        if wait is not None:
            figures.return_wait_days.append(wait)
    if row["inspection__passed"] is not None:
        figures.inspections += 1
        figures.passed += 1 if row["inspection__passed"] else 0


def rma_report(*, start: date, end: date, period: str = "month") -> Report:
    """Metrics of the RMAs requested from `start` to `end` (local dates, inclusive) per
    period (month or week), product line and reason, and the Pareto of reasons.

    One query: every metric is a difference of two milestone columns of the RMA row.
    """
    tz = timezone.get_current_timezone()
    since = datetime.combine(start, datetime.min.time(), tzinfo=tz)
    until = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    first_line = RmaItem.objects.filter(rma=OuterRef("pk")).order_by("id").values("product_line")
    rows = (
        Rma.objects.filter(requested_at__gte=since, requested_at__lt=until)
        .annotate(line=Subquery(first_line[:1]))
        .values(
            "kind",
            "reason",
            "line",
            "requested_at",
            "approved_at",
            "received_at",
            "repaired_at",
            "shipped_back_at",
            "refunded_at",
            "replacement_shipped_at",
            "inspection__passed",
        )
        .order_by("requested_at")
    )
    total = Figures()
    periods: dict[str, Figures] = defaultdict(Figures)
    lines: dict[str, Figures] = defaultdict(Figures)
    reasons: dict[str, Figures] = defaultdict(Figures)
    counts: Counter[str] = Counter()
    for row in rows:
        local = timezone.localtime(row["requested_at"])
        if period == "week":
            year, week, _day = local.isocalendar()
            key = f"{year}-W{week:02d}"
        else:
            key = local.strftime("%Y-%m")
        for figures in (total, periods[key], lines[row["line"] or ""], reasons[row["reason"]]):
            _add(figures, row)
        counts[row["reason"]] += 1
    pareto: list[ParetoRow] = []
    running = 0
    whole = sum(counts.values())
    for reason, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        running += count
        pareto.append(
            ParetoRow(
                reason=reason,
                count=count,
                share=round(100 * count / whole, 1),
                cumulative=round(100 * running / whole, 1),
            )
        )
    return Report(
        start=start,
        end=end,
        total=total,
        by_period=sorted(periods.items()),
        by_line=sorted(lines.items(), key=lambda kv: -kv[1].requests),
        by_reason=sorted(
            reasons.items(),
            key=lambda kv: Reason.values.index(kv[0]) if kv[0] in Reason.values else 99,
        ),
        pareto=pareto,
    )


def money_text(amount: Decimal | None, currency: str) -> str:
    return f"{amount} {currency}" if amount is not None else ""
