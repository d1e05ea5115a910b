"""The state machine: the allowed steps, the one path that changes a state, the steps
with their data, shipments both ways, receiving, receipt confirmation and sorting."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext as _

from afterdesk.accounts.models import User
from afterdesk.cases.choices import OPEN_STATUSES, EventType, Kind
from afterdesk.cases.choices import Status as CaseStatus
from afterdesk.cases.models import Case
from afterdesk.core.text import has_control_characters, single_line
from afterdesk.rma.choices import (
    ALLOWED,
    CUSTOMER_STEPS,
    MILESTONE_FIELDS,
    RECEIVABLE_STATES,
    Direction,
    Disposition,
    QuoteStatus,
    State,
)
from afterdesk.rma.errors import (
    RmaInvalid,
    RmaTransitionNotAllowed,
)
from afterdesk.rma.models import (
    Rma,
    Shipment,
)
from afterdesk.rma.services.common import (
    TEXT_MAX,
    _choice,
    _event,
    _lock,
    _money,
    _text,
)
from afterdesk.sla import services as sla
from afterdesk.sla.choices import Metric
from afterdesk.sla.errors import SlaTimerNotLive

INSPECTION_STEP = State.INSPECTED
DIAGNOSIS_STEP = State.DIAGNOSED
SHIPPING_STEPS = frozenset({State.IN_TRANSIT, State.SHIPPED_BACK, State.REPLACEMENT_SHIPPED})


def allowed_steps(rma: Rma, *, for_customer: bool = False) -> list[str]:
    """The states `rma` may move to now (in the order of the lifecycle)."""
    table = ALLOWED.get(rma.state, {})
    allowed = {to for to, kinds in table.items() if rma.kind in kinds}
    if for_customer:
        allowed &= CUSTOMER_STEPS.get(rma.state, frozenset())
    if rma.state == State.DIAGNOSED and rma.quote_status in (
        QuoteStatus.PENDING,
        QuoteStatus.DECLINED,
    ):
        allowed.discard(State.REPAIRING)
    return [s for s in State.values if s in allowed]


def _refuse(rma: Rma, to: str, for_customer: bool = False) -> RmaTransitionNotAllowed:
    allowed = allowed_steps(rma, for_customer=for_customer)
    if rma.state == State.DIAGNOSED and to == State.REPAIRING:
        if rma.quote_status == QuoteStatus.PENDING:
            message = _("The repair can start once the customer accepts the quote.")
        else:
            message = _("The customer declined the quote; ship the goods back instead.")
    else:
        message = _("An RMA that is “%(state)s” cannot move to “%(to)s”.") % {
            "state": State(rma.state).label,
            "to": State(to).label,
        }
    return RmaTransitionNotAllowed(message, extra={"allowed": allowed, "state": rma.state})


def _move(
    rma: Rma,
    to: str,
    *,
    now: datetime,
    actor: User | None,
    by_customer: bool = False,
    data: dict[str, Any] | None = None,
    fields: Sequence[str] = (),
    check: bool = True,
) -> None:
    """Change the state of a locked RMA, stamp the milestone and record the step."""
    if check and to not in allowed_steps(rma, for_customer=by_customer):
        raise _refuse(rma, to, by_customer)
    old = rma.state
    rma.state = to
    setattr(rma, MILESTONE_FIELDS[to], now)
    rma.updated_at = now
    rma.version = F("version") + 1
    rma.save(update_fields=["state", MILESTONE_FIELDS[to], "updated_at", "version", *fields])
    rma.refresh_from_db(fields=["version"])
    _event(
        rma,
        EventType.RMA_STATE_CHANGED,
        now,
        actor,
        by_customer=by_customer,
        field="rma_state",
        old=old,
        new=to,
        payload=data or {},
    )
    _after_step(rma, to, now=now, actor=actor)


def _meet(case: Case, metric: str, now: datetime, actor: User | None) -> None:
    with contextlib.suppress(SlaTimerNotLive):
        sla.timer_meet(case=case, metric=metric, at=now, actor=actor)


def _after_step(rma: Rma, to: str, *, now: datetime, actor: User | None) -> None:
    """The clocks and the case status that follow a step (same transaction)."""
    # Imported here: the case services import the intake and SLA apps, which import nothing
    # of the RMA app; keeping it local avoids an import cycle through the demo command.
    from afterdesk.cases.services import case_transition

    case = rma.case
    staff = actor if actor is not None and actor.is_staff_member else None
    if to == State.RECEIVED and rma.kind == Kind.REPAIR:
        sla.timer_start(case=case, metric=Metric.DIAGNOSIS, at=now, actor=staff)
    elif to == State.DIAGNOSED:
        _meet(case, Metric.DIAGNOSIS, now, staff)
    elif to == State.DELIVERED:
        timer = sla.timer_start(case=case, metric=Metric.RECEIPT_CONFIRMATION, at=now, actor=staff)
        days = rma.policy.confirm_receipt_days if rma.policy else 3
        rma.confirm_due_at = timer.due_at if timer is not None else now + timedelta(days=days)
        rma.save(update_fields=["confirm_due_at"])
    elif to == State.CONFIRMED:
        _meet(case, Metric.RECEIPT_CONFIRMATION, now, staff)
    case.refresh_from_db(fields=["status", "version"])
    if to in (State.APPROVED, State.REJECTED) and case.status == CaseStatus.NEW:
        case_transition(actor=staff, case=case, to=CaseStatus.OPEN, at=now)
    elif to in (State.CLOSED, State.CANCELLED) and case.status in OPEN_STATUSES:
        case_transition(actor=staff, case=case, to=CaseStatus.RESOLVED, at=now)


def rma_transition(
    *,
    actor: User | None,
    rma: Rma,
    to: str,
    note: str = "",
    carrier: str = "",
    tracking_number: str = "",
    return_address: str = "",
    return_instructions: str = "",
    refund_amount: Any = None,
    by_customer: bool = False,
    at: datetime | None = None,
) -> Rma:
    """Take one step of the lifecycle if the state machine allows it; a no-op if already there.

    Each step takes its own data: a rejection its reason (`note`), the return instructions an
    address (default: the policy's), shipping steps a carrier and tracking number, a refund its
    amount. Inspection and diagnosis have their own services (`rma_inspect`, `rma_diagnose`).
    """
    _choice("to", to, State.values)
    note = _text("note", note, max_length=TEXT_MAX)
    if to == INSPECTION_STEP:
        raise RmaInvalid(
            _("Record the inspection checklist to mark the goods inspected."),
            fields={"to": _("use the inspection")},
        )
    if to == DIAGNOSIS_STEP:
        raise RmaInvalid(
            _("Record the diagnosis (fault, repair plan, ETA) to mark the repair diagnosed."),
            fields={"to": _("use the diagnosis")},
        )
    if to in SHIPPING_STEPS:
        direction = Direction.INBOUND if to == State.IN_TRANSIT else Direction.OUTBOUND
        return rma_shipment_add(
            actor=actor,
            rma=rma,
            direction=direction,
            carrier=carrier,
            tracking_number=tracking_number,
            to=to,
            by_customer=by_customer,
            at=at,
        )
    if to == State.REJECTED and not note:
        raise RmaInvalid(_("Give the reason for the rejection."), fields={"note": _("required")})
    refund = _money("refund_amount", refund_amount)
    address = _text("return_address", return_address, max_length=TEXT_MAX)
    instructions = _text("return_instructions", return_instructions, max_length=TEXT_MAX)
    now = at or timezone.now()
    with transaction.atomic():
        locked = _lock(rma)
        if locked.state == to:
            return locked
        data: dict[str, Any] = {"note": note} if note else {}
        fields: list[str] = []
        if to == State.REJECTED:
            locked.rejection_reason = note
            fields.append("rejection_reason")
        elif to == State.AWAITING_RETURN:
            policy = locked.policy
            locked.return_address = address or (policy.return_address if policy else "")
            locked.return_instructions = instructions or (
                policy.return_instructions if policy else ""
            )
            if not locked.return_address:
                raise RmaInvalid(
                    _("Give the return address (the policy has none)."),
                    fields={"return_address": _("required")},
                )
            fields += ["return_address", "return_instructions"]
            data["return_address"] = locked.return_address
        elif to == State.REFUNDED:
            locked.refund_amount = refund if refund is not None else locked.case.amount
            locked.refund_currency = locked.case.currency or "CNY"
            fields += ["refund_amount", "refund_currency"]
            data["refund_amount"] = (
                str(locked.refund_amount) if locked.refund_amount is not None else None
            )
            data["currency"] = locked.refund_currency
        elif to == State.RECEIVED:
            Shipment.objects.filter(
                rma=locked, direction=Direction.INBOUND, delivered_at__isnull=True
            ).update(delivered_at=now)
        elif to == State.DELIVERED:
            Shipment.objects.filter(
                rma=locked, direction=Direction.OUTBOUND, delivered_at__isnull=True
            ).update(delivered_at=now)
        _move(locked, to, now=now, actor=actor, by_customer=by_customer, data=data, fields=fields)
    return locked


def rma_shipment_add(
    *,
    actor: User | None,
    rma: Rma,
    direction: str,
    carrier: str,
    tracking_number: str,
    to: str = "",
    by_customer: bool = False,
    at: datetime | None = None,
) -> Rma:
    """Record a parcel (R20) and the step it means: the customer's parcel puts the RMA in
    transit, ours ships the repaired goods back or the replacement (`to` chooses when both
    could apply). Another tracking number for a parcel already on its way is recorded only."""
    _choice("direction", direction, Direction.values)
    carrier = single_line(_text("carrier", carrier, max_length=60, required=True))
    tracking = _text("tracking_number", tracking_number, max_length=60, required=True)
    if " " in tracking:
        raise RmaInvalid(
            _("A tracking number has no spaces."), fields={"tracking_number": _("no spaces")}
        )
    now = at or timezone.now()
    with transaction.atomic():
        locked = _lock(rma)
        step = to or _shipping_step(locked, direction)
        expected = State.IN_TRANSIT if direction == Direction.INBOUND else None
        if (direction == Direction.INBOUND) != (step == State.IN_TRANSIT) or (
            expected is None and step not in SHIPPING_STEPS
        ):
            raise RmaInvalid(
                _("A parcel to us puts the RMA in transit; a parcel to the customer ships it."),
                fields={"direction": _("does not match the step")},
            )
        resend = locked.state == step
        if not resend and step not in allowed_steps(locked, for_customer=by_customer):
            raise _refuse(locked, step, by_customer)
        shipment = Shipment.objects.create(
            rma=locked,
            direction=direction,
            carrier=carrier,
            tracking_number=tracking,
            shipped_at=now,
            recorded_by=actor if actor is not None and actor.is_authenticated else None,
        )
        data = {
            "shipment": shipment.pk,
            "direction": direction,
            "carrier": carrier,
            "tracking_number": tracking,
        }
        if resend:
            _event(
                locked,
                EventType.RMA_SHIPMENT_ADDED,
                now,
                actor,
                by_customer=by_customer,
                payload=data,
            )
        else:
            _move(locked, step, now=now, actor=actor, by_customer=by_customer, data=data)
    return locked


def _shipping_step(rma: Rma, direction: str) -> str:
    if direction == Direction.INBOUND:
        return State.IN_TRANSIT
    if rma.state == State.REPLACEMENT_SHIPPED or (
        rma.kind == Kind.EXCHANGE and rma.state == State.INSPECTED
    ):
        return State.REPLACEMENT_SHIPPED
    return State.SHIPPED_BACK


def rma_find_for_scan(*, rmas: Any, code: str) -> Rma | None:
    """The RMA a scanned code names, among `rmas` (already scoped to the user): its number, or
    the tracking number of a parcel sent to us."""
    code = code.strip()
    if not code or has_control_characters(code) or len(code) > 64:
        return None
    # Exact comparisons that indexes serve (a case-insensitive LIKE reads the whole table):
    # service numbers are upper case, tracking numbers are indexed upper-cased.
    rma = rmas.filter(case__number__in={code, code.upper()}).first()
    if rma is not None:
        return rma
    # Both sides upper-cased by the database, which may upper fewer letters than Python.
    parcels = Shipment.objects.alias(tracking=Upper("tracking_number")).filter(
        tracking=Upper(Value(code)), direction=Direction.INBOUND
    )
    return rmas.filter(pk__in=parcels.values("rma_id")).order_by("-requested_at").first()


def rma_receive(*, actor: User, rma: Rma, code: str = "", at: datetime | None = None) -> Rma:
    """The warehouse has the parcel in hand (scanned `code`): the RMA is received."""
    now = at or timezone.now()
    with transaction.atomic():
        locked = _lock(rma)
        if locked.state not in RECEIVABLE_STATES:
            if locked.received_at is not None:
                raise RmaTransitionNotAllowed(
                    _("%(number)s was already received on %(when)s.")
                    % {
                        "number": locked.case.number,
                        "when": timezone.localtime(locked.received_at).strftime("%Y-%m-%d %H:%M"),
                    },
                    code="already_received",
                    extra={"state": locked.state},
                )
            raise _refuse(locked, State.RECEIVED)
        Shipment.objects.filter(
            rma=locked, direction=Direction.INBOUND, delivered_at__isnull=True
        ).update(delivered_at=now)
        _move(locked, State.RECEIVED, now=now, actor=actor, data={"scanned": code[:64]})
    return locked


def rma_confirm_receipt(
    *,
    user: User | None,
    rma: Rma,
    by_customer: bool = False,
    auto: bool = False,
    at: datetime | None = None,
) -> Rma:
    """The customer confirms the goods arrived (or the window ran out: `auto`)."""
    now = at or timezone.now()
    with transaction.atomic():
        locked = _lock(rma)
        if locked.state == State.CONFIRMED:
            return locked
        if locked.state != State.DELIVERED:
            raise _refuse(locked, State.CONFIRMED, by_customer)
        locked.auto_confirmed = auto
        _move(
            locked,
            State.CONFIRMED,
            now=now,
            actor=user,
            by_customer=by_customer,
            data={"auto": auto},
            fields=["auto_confirmed"],
        )
    return locked


def rma_auto_confirm_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Confirm receipt of delivered RMAs whose confirmation window has run out; returns how
    many. Each RMA is its own transaction, so one failure does not hold back the rest."""
    now = now or timezone.now()
    due = list(
        Rma.objects.filter(state=State.DELIVERED, confirm_due_at__lte=now)
        .order_by("confirm_due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for pk in due:
        with transaction.atomic():
            locked = (
                Rma.objects.select_for_update(of=("self",), skip_locked=True)
                .filter(pk=pk, state=State.DELIVERED, confirm_due_at__lte=now)
                .select_related("case", "policy")
                .first()
            )
            if locked is None:
                continue
            locked.auto_confirmed = True
            _move(
                locked,
                State.CONFIRMED,
                now=now,
                actor=None,
                data={"auto": True},
                fields=["auto_confirmed"],
            )
            done += 1
    return done


def rma_set_disposition(
    *, actor: User, rma: Rma, disposition: str, at: datetime | None = None
) -> Rma:
    """Sort arrived goods (R19): restock, refurbish, repair, scrap, vendor, quarantine."""
    _choice("disposition", disposition, Disposition.values)
    now = at or timezone.now()
    with transaction.atomic():
        locked = _lock(rma)
        if locked.received_at is None:
            raise RmaTransitionNotAllowed(
                _("Only goods that arrived can be sorted."),
                code="not_received",
                extra={"state": locked.state},
            )
        if locked.disposition == disposition:
            return locked
        old = locked.disposition or None
        locked.disposition = disposition
        locked.updated_at = now
        locked.save(update_fields=["disposition", "updated_at"])
        _event(
            locked,
            EventType.RMA_DISPOSITION_SET,
            now,
            actor,
            field="disposition",
            old=old,
            new=disposition,
        )
    return locked
