"""Every write to an RMA: validate, write, record the case event — one transaction each.

The RMA's state machine is data (`choices.ALLOWED`); `_move` is the one place a state changes:
it checks the table, stamps the milestone column, saves with update_fields and records
`rma.state_changed` on the case timeline with the step's data. The public services lock the
RMA row first (`select_for_update`), so two scans of one parcel cannot both receive it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from afterdesk.accounts.models import User
from afterdesk.cases.choices import OPEN_STATUSES, EventType, Kind
from afterdesk.cases.choices import Status as CaseStatus
from afterdesk.cases.events import event_record
from afterdesk.cases.models import Case
from afterdesk.core.errors import NotFound, PermissionDenied
from afterdesk.core.text import has_control_characters, single_line
from afterdesk.customers.models import Order, Product
from afterdesk.rma import money
from afterdesk.rma.choices import (
    ALLOWED,
    AUTHORITY_RANK,
    MILESTONE_FIELDS,
    MONEY_TYPES,
    RECEIVABLE_STATES,
    RMA_KINDS,
    CompensationType,
    Direction,
    Disposition,
    OutOfWarranty,
    ProposalStatus,
    QuickCloseOutcome,
    QuoteStatus,
    Reason,
    State,
    WarrantyStatus,
)
from afterdesk.rma.errors import (
    ProposalNotPending,
    QuickCloseRefused,
    RmaExists,
    RmaInvalid,
    RmaTransitionNotAllowed,
)
from afterdesk.rma.models import (
    AbuseFlag,
    CompensationProposal,
    CompensationTier,
    Coupon,
    Inspection,
    QuickCloseRule,
    Rma,
    RmaItem,
    RmaPolicy,
    Shipment,
)
from afterdesk.rma.warranty import ItemDates, evaluate, local_date
from afterdesk.sla import services as sla
from afterdesk.sla.choices import Metric
from afterdesk.sla.errors import SlaTimerNotLive

TEXT_MAX = 5_000
ITEMS_MAX = 50
QUANTITY_MAX = 9_999
PHOTOS_MAX = 10
COUPON_DAYS_DEFAULT = 90
COUPON_DAYS_MAX = 730
# Steps that need their own data and therefore their own service.
INSPECTION_STEP = State.INSPECTED
DIAGNOSIS_STEP = State.DIAGNOSED
SHIPPING_STEPS = frozenset({State.IN_TRANSIT, State.SHIPPED_BACK, State.REPLACEMENT_SHIPPED})
# What a customer may do to their own RMA: tell us the tracking number, confirm receipt.
CUSTOMER_STEPS: dict[str, frozenset[str]] = {
    State.AWAITING_RETURN: frozenset({State.IN_TRANSIT}),
    State.DELIVERED: frozenset({State.CONFIRMED}),
}


# -- input ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemInput:
    sku: str
    quantity: int = 1
    serial: str = ""
    description: str = ""
    order_ref: str = ""
    purchased_on: date | None = None
    delivered_on: date | None = None
    unit_price: Decimal | None = None


def _text(name: str, value: str, *, max_length: int, required: bool = False) -> str:
    if has_control_characters(value):
        raise RmaInvalid(
            _("%s contains control characters.") % name, fields={name: _("control characters")}
        )
    value = value.strip()
    if required and not value:
        raise RmaInvalid(_("%s may not be empty.") % name, fields={name: _("required")})
    if len(value) > max_length:
        raise RmaInvalid(
            _("%(field)s is longer than %(max)d characters.") % {"field": name, "max": max_length},
            fields={name: _("at most %d characters") % max_length},
        )
    return value


def _choice(name: str, value: str, choices: list[str]) -> str:
    if value not in choices:
        raise RmaInvalid(
            _("%(field)s must be one of: %(choices)s")
            % {"field": name, "choices": ", ".join(choices)},
            fields={name: _("unknown value %r") % value},
        )
    return value


def _money(name: str, value: Any, *, required: bool = False) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise RmaInvalid(_("%s is required.") % name, fields={name: _("required")})
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise RmaInvalid(
            _("%s is not a number.") % name, fields={name: _("must be a number")}
        ) from exc
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e10"):
        raise RmaInvalid(
            _("%s must be between 0 and 9,999,999,999.99.") % name, fields={name: _("range")}
        )
    if amount != amount.quantize(money.CENT):
        raise RmaInvalid(_("%s has more than two decimals.") % name, fields={name: _("2 dp")})
    return amount.quantize(money.CENT)


def _currency(value: str, default: str = "CNY") -> str:
    code = (value or default).upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise RmaInvalid(
            _("currency must be a three-letter ISO 4217 code."), fields={"currency": _("ISO 4217")}
        )
    return code


# -- creation ---------------------------------------------------------------------------------


def policy_for(product_line: str) -> RmaPolicy | None:
    """The RMA policy of a product line, else the default one ("")."""
    lines = [product_line, ""] if product_line else [""]
    policies = {p.product_line: p for p in RmaPolicy.objects.filter(product_line__in=lines)}
    return next((policies[line] for line in lines if line in policies), None)


def _clean_items(items: Sequence[ItemInput]) -> list[ItemInput]:
    if not items:
        raise RmaInvalid(_("An RMA needs at least one item."), fields={"items": _("required")})
    if len(items) > ITEMS_MAX:
        raise RmaInvalid(
            _("At most %d items.") % ITEMS_MAX, fields={"items": _("at most %d") % ITEMS_MAX}
        )
    cleaned = []
    for item in items:
        quantity = item.quantity
        if not isinstance(quantity, int) or not 1 <= quantity <= QUANTITY_MAX:
            raise RmaInvalid(
                _("quantity must be between 1 and %d.") % QUANTITY_MAX,
                fields={"quantity": _("range")},
            )
        if (
            item.purchased_on is not None
            and item.delivered_on is not None
            and item.delivered_on < item.purchased_on
        ):
            raise RmaInvalid(
                _("The delivery date is before the purchase date."),
                fields={"delivered_on": _("before the purchase")},
            )
        cleaned.append(
            ItemInput(
                sku=_text("sku", item.sku, max_length=64, required=True),
                quantity=quantity,
                serial=_text("serial", item.serial, max_length=100),
                description=single_line(_text("description", item.description, max_length=200)),
                order_ref=_text("order_ref", item.order_ref, max_length=64),
                purchased_on=item.purchased_on,
                delivered_on=item.delivered_on,
                unit_price=_money("unit_price", item.unit_price),
            )
        )
    return cleaned


def _order_price(order: Order | None, sku: str) -> Decimal | None:
    if order is None:
        return None
    return next((line.unit_price for line in order.lines.all() if line.sku == sku), None)


def _build_items(case: Case, items: list[ItemInput]) -> list[RmaItem]:
    """Items with their product, the customer's own order and its price (three queries)."""
    products = {p.sku: p for p in Product.objects.filter(sku__in={i.sku for i in items})}
    refs = {i.order_ref for i in items if i.order_ref}
    if case.order_ref and not refs:
        refs = {case.order_ref}
    orders = {
        o.reference: o
        for o in Order.objects.filter(
            reference__in=refs, customer=case.customer_id
        ).prefetch_related("lines")
    }
    built = []
    for item in items:
        product = products.get(item.sku)
        order = orders.get(item.order_ref or case.order_ref)
        built.append(
            RmaItem(
                product=product,
                sku=item.sku,
                description=item.description or (product.name if product else ""),
                serial=item.serial,
                quantity=item.quantity,
                order=order,
                order_ref=item.order_ref or (order.reference if order else ""),
                purchased_on=item.purchased_on or local_date(order.placed_at if order else None),
                delivered_on=item.delivered_on or local_date(order.delivered_at if order else None),
                unit_price=item.unit_price
                if item.unit_price is not None
                else _order_price(order, item.sku),
                product_line=product.product_line if product else "",
            )
        )
    return built


def _evaluate(
    rma: Rma, items: list[RmaItem], policy: RmaPolicy | None, today: date
) -> dict[str, Any]:
    def months(item: RmaItem) -> int | None:
        if policy is not None and policy.warranty_months is not None:
            return policy.warranty_months
        return item.product.warranty_months if item.product is not None else None

    outcome = evaluate(
        kind=rma.kind,
        today=today,
        items=[ItemDates(i.purchased_on, i.delivered_on, months(i)) for i in items],
        return_days=policy.return_days if policy else 7,
        exchange_days=policy.exchange_days if policy else 15,
        extra_months=rma.extended_warranty_months,
    )
    for item, ends in zip(items, outcome.item_warranty_ends, strict=True):
        item.warranty_ends = ends
    return {
        "warranty_status": outcome.warranty_status,
        "warranty_ends": outcome.warranty_ends,
        "window_ends": outcome.window_ends,
        "within_window": outcome.within_window,
    }


def _items_from_case(case: Case) -> list[ItemInput]:
    if not case.product_sku:
        return []
    return [ItemInput(sku=case.product_sku, serial=case.serial, order_ref=case.order_ref)]


def _event(
    rma: Rma,
    type: str,
    at: datetime,
    actor: User | None,
    *,
    by_customer: bool = False,
    field: str = "",
    old: Any = None,
    new: Any = None,
    payload: dict[str, Any] | None = None,
) -> None:
    event_record(
        case=rma.case,
        type=type,
        at=at,
        actor=actor if actor is not None and actor.is_authenticated else None,
        by_customer=by_customer,
        field=field,
        old=old,
        new=new,
        payload=payload or {},
    )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def rma_create(
    *,
    actor: User | None,
    case: Case,
    reason: str,
    reason_detail: str = "",
    items: Sequence[ItemInput] = (),
    by_customer: bool = False,
    at: datetime | None = None,
) -> Rma:
    """Authorisation request for the repair, return or exchange of `case` (one per case).

    Without items, the case's own product SKU, serial and order make the one item. Warranty
    and policy window are computed now from the items' dates and the product line's policy;
    a request outside its window is still recorded (an agent decides) and says so.
    """
    if case.kind not in RMA_KINDS:
        raise RmaInvalid(
            _("Only repair, return and exchange cases have an RMA; this case is a %s.")
            % case.get_kind_display(),
            fields={"case": _("wrong kind")},
        )
    _choice("reason", reason, Reason.values)
    detail = _text("reason_detail", reason_detail, max_length=TEXT_MAX)
    cleaned = _clean_items(list(items) or _items_from_case(case))
    now = at or timezone.now()
    with transaction.atomic():
        if Rma.objects.filter(case=case).exists():
            raise RmaExists(_("Case %s already has an RMA.") % case.number)
        built = _build_items(case, cleaned)
        line = next((i.product_line for i in built if i.product_line), "")
        policy = policy_for(line)
        rma = Rma(
            case=case,
            kind=case.kind,
            state=State.REQUESTED,
            reason=reason,
            reason_detail=detail,
            policy=policy,
            requested_at=now,
            updated_at=now,
        )
        for name, value in _evaluate(rma, built, policy, local_date(now) or now.date()).items():
            setattr(rma, name, value)
        try:
            with transaction.atomic():
                rma.save()
        except IntegrityError as exc:
            raise RmaExists(_("Case %s already has an RMA.") % case.number) from exc
        for item in built:
            item.rma = rma
        RmaItem.objects.bulk_create(built)
        _event(
            rma,
            EventType.RMA_CREATED,
            now,
            actor,
            by_customer=by_customer,
            payload={
                "kind": rma.kind,
                "reason": reason,
                "items": [
                    {"sku": i.sku, "serial": i.serial, "quantity": i.quantity} for i in built
                ],
                "warranty_status": rma.warranty_status,
                "warranty_ends": _iso(rma.warranty_ends),
                "window_ends": _iso(rma.window_ends),
                "within_window": rma.within_window,
                "policy": policy.product_line if policy else None,
            },
        )
    rma.case = case
    return rma


def rma_item_add(*, actor: User, rma: Rma, item: ItemInput) -> RmaItem:
    """Add an item while the RMA is still a request; warranty and window are re-evaluated."""
    cleaned = _clean_items([item])
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(rma)
        if locked.state != State.REQUESTED:
            raise RmaTransitionNotAllowed(
                _("Items can be added only while the RMA is requested (it is “%s”).")
                % State(locked.state).label,
                extra={"state": locked.state},
            )
        built = _build_items(locked.case, cleaned)[0]
        built.rma = locked
        items = [*locked.items.select_related("product"), built]
        values = _evaluate(locked, items, locked.policy, local_date(now) or now.date())
        for name, value in values.items():
            setattr(locked, name, value)
        built.save()
        for existing in items[:-1]:
            existing.save(update_fields=["warranty_ends"])
        locked.updated_at = now
        locked.version = F("version") + 1
        locked.save(update_fields=[*values, "updated_at", "version"])
        _event(
            locked,
            EventType.RMA_ITEM_ADDED,
            now,
            actor,
            payload={"sku": built.sku, "serial": built.serial, "quantity": built.quantity},
        )
    return built


# -- the state machine ------------------------------------------------------------------------


def _lock(rma: Rma) -> Rma:
    return (
        Rma.objects.select_for_update(of=("self",))
        .select_related("case", "case__customer", "policy")
        .get(pk=rma.pk)
    )


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
    rma = rmas.filter(case__number__iexact=code).first()
    if rma is not None:
        return rma
    return (
        rmas.filter(shipments__tracking_number__iexact=code, shipments__direction=Direction.INBOUND)
        .order_by("-requested_at")
        .first()
    )


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


# -- inspection, diagnosis, quote, disposition --------------------------------------------------


@dataclass(frozen=True)
class InspectionInput:
    packaging_ok: bool
    function_ok: bool
    matches_description: bool
    accessories_complete: bool
    customer_damage: bool
    notes: str = ""


def inspection_passed(data: InspectionInput) -> bool:
    """Whether the goods qualify for what was asked: as described, complete, and not damaged
    by the customer. A failed function test is what a fault claim expects, so it does not fail
    the inspection; it is recorded for the repair and the report."""
    return data.matches_description and data.accessories_complete and not data.customer_damage


def rma_inspect(
    *,
    actor: User,
    rma: Rma,
    data: InspectionInput,
    photos: Sequence[UploadedFile] = (),
    at: datetime | None = None,
) -> Inspection:
    """Record the receiving inspection (R18) with its photos; the RMA becomes inspected."""
    from afterdesk.cases.services import case_add_attachment

    notes = _text("notes", data.notes, max_length=TEXT_MAX)
    if len(photos) > PHOTOS_MAX:
        raise RmaInvalid(
            _("At most %d photos.") % PHOTOS_MAX, fields={"photos": _("at most %d") % PHOTOS_MAX}
        )
    for photo in photos:
        if not (photo.content_type or "").startswith("image/"):
            raise RmaInvalid(
                _("%s is not a photo.") % photo.name, fields={"photos": _("images only")}
            )
    now = at or timezone.now()
    with transaction.atomic():
        locked = _lock(rma)
        if INSPECTION_STEP not in allowed_steps(locked):
            raise _refuse(locked, INSPECTION_STEP)
        passed = inspection_passed(data)
        inspection = Inspection.objects.create(
            rma=locked,
            packaging_ok=data.packaging_ok,
            function_ok=data.function_ok,
            matches_description=data.matches_description,
            accessories_complete=data.accessories_complete,
            customer_damage=data.customer_damage,
            notes=notes,
            passed=passed,
            inspected_by=actor,
            inspected_at=now,
        )
        stored = [
            case_add_attachment(actor=actor, case=locked.case, upload=photo, internal=True)
            for photo in photos
        ]
        if stored:
            inspection.photos.set(stored)
        checklist = {
            "packaging_ok": data.packaging_ok,
            "function_ok": data.function_ok,
            "matches_description": data.matches_description,
            "accessories_complete": data.accessories_complete,
            "customer_damage": data.customer_damage,
            "passed": passed,
            "photos": [a.pk for a in stored],
        }
        _event(locked, EventType.RMA_INSPECTED, now, actor, payload=checklist)
        _move(locked, INSPECTION_STEP, now=now, actor=actor, data={"passed": passed})
    return inspection


def rma_diagnose(
    *,
    actor: User,
    rma: Rma,
    fault: str,
    repair_plan: str,
    repair_eta: date | None,
    cost: Any = None,
    currency: str = "",
    at: datetime | None = None,
) -> Rma:
    """The technician's diagnosis (R11: within 24 h of receipt): fault, plan and ETA. Out of
    warranty it carries the price of the repair, which the customer accepts or declines."""
    fault = _text("fault", fault, max_length=TEXT_MAX, required=True)
    plan = _text("repair_plan", repair_plan, max_length=TEXT_MAX, required=True)
    amount = _money("cost", cost)
    now = at or timezone.now()
    today = local_date(now) or now.date()
    if repair_eta is None:
        raise RmaInvalid(_("Give the date the repair will be ready."), fields={"repair_eta": "?"})
    if repair_eta < today:
        raise RmaInvalid(
            _("The repair ETA is in the past."), fields={"repair_eta": _("in the past")}
        )
    with transaction.atomic():
        locked = _lock(rma)
        if DIAGNOSIS_STEP not in allowed_steps(locked):
            raise _refuse(locked, DIAGNOSIS_STEP)
        in_warranty = locked.warranty_status == WarrantyStatus.IN_WARRANTY
        policy = locked.policy
        if in_warranty:
            if amount:
                raise RmaInvalid(
                    _("The repair is under warranty: it has no cost for the customer."),
                    fields={"cost": _("in warranty")},
                )
            quote_status = QuoteStatus.NOT_REQUIRED
            amount = None
        else:
            if policy is not None and policy.out_of_warranty == OutOfWarranty.REFUSE:
                raise RmaInvalid(
                    _("The policy refuses repairs out of warranty; ship the goods back."),
                    fields={"cost": _("policy refuses")},
                )
            if not amount:
                raise RmaInvalid(
                    _("Out of warranty the repair is paid: give its cost for the quote."),
                    fields={"cost": _("required out of warranty")},
                )
            quote_status = QuoteStatus.PENDING
        locked.fault, locked.repair_plan, locked.repair_eta = fault, plan, repair_eta
        locked.quote_amount = amount
        locked.quote_currency = _currency(currency, locked.case.currency or "CNY") if amount else ""
        locked.quote_status = quote_status
        fields = ["fault", "repair_plan", "repair_eta", "quote_amount", "quote_currency"]
        fields.append("quote_status")
        payload = {
            "fault": fault,
            "repair_plan": plan,
            "repair_eta": repair_eta.isoformat(),
            "cost": str(amount) if amount is not None else None,
            "currency": locked.quote_currency,
            "quote_status": quote_status,
        }
        _event(locked, EventType.RMA_DIAGNOSED, now, actor, payload=payload)
        _move(locked, DIAGNOSIS_STEP, now=now, actor=actor, fields=fields, data=payload)
    return locked


def rma_quote_answer(
    *, user: User, rma: Rma, accept: bool, by_customer: bool = True, at: datetime | None = None
) -> Rma:
    """The customer accepts or declines the paid repair quote (portal or API)."""
    now = at or timezone.now()
    with transaction.atomic():
        locked = _lock(rma)
        if locked.state != State.DIAGNOSED or locked.quote_status != QuoteStatus.PENDING:
            raise RmaTransitionNotAllowed(
                _("There is no repair quote waiting for an answer."),
                code="no_pending_quote",
                extra={"state": locked.state, "quote_status": locked.quote_status},
            )
        locked.quote_status = QuoteStatus.ACCEPTED if accept else QuoteStatus.DECLINED
        locked.quote_answered_at = now
        locked.updated_at = now
        locked.save(update_fields=["quote_status", "quote_answered_at", "updated_at"])
        _event(
            locked,
            EventType.RMA_QUOTE_ANSWERED,
            now,
            user,
            by_customer=by_customer,
            field="quote_status",
            old=QuoteStatus.PENDING,
            new=locked.quote_status,
            payload={"amount": str(locked.quote_amount), "currency": locked.quote_currency},
        )
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


# -- quick close (R15) ------------------------------------------------------------------------


QUICK_CLOSE_STATES = frozenset({State.REQUESTED, State.APPROVED})


@dataclass(frozen=True)
class QuickCloseCheck:
    rule: QuickCloseRule | None
    amount: Decimal | None
    currency: str
    # Why each rule did not apply, rule name -> reason (shown to the agent).
    refusals: dict[str, str]


def _rma_amount(rma: Rma, items: list[RmaItem]) -> tuple[Decimal | None, str]:
    """What is at stake: the case amount, else the items' prices."""
    currency = rma.case.currency or "CNY"
    if rma.case.amount is not None:
        return rma.case.amount, currency
    priced = [i.unit_price * i.quantity for i in items if i.unit_price is not None]
    if priced and len(priced) == len(items):
        return sum(priced, Decimal(0)), currency
    return None, currency


def quick_close_check(
    *,
    rma: Rma,
    outcome: str,
    rules: list[QuickCloseRule] | None = None,
    items: list[RmaItem] | None = None,
    flagged: bool | None = None,
) -> QuickCloseCheck:
    """The first active rule that allows `outcome` for this RMA now, and why the others don't."""
    items = items if items is not None else list(rma.items.all())
    rules = rules if rules is not None else list(QuickCloseRule.objects.filter(active=True))
    if flagged is None:
        flagged = AbuseFlag.objects.filter(customer_id=rma.case.customer_id).exists()
    amount, currency = _rma_amount(rma, items)
    rates = money.rates_for({currency, *(r.max_amount_currency for r in rules)})
    refusals: dict[str, str] = {}
    for rule in rules:
        if rule.kinds and rma.kind not in rule.kinds:
            refusals[rule.name] = _("not for this kind of request")
        elif rule.reasons and rma.reason not in rule.reasons:
            refusals[rule.name] = _("not for this reason")
        elif rule.outcomes and outcome not in rule.outcomes:
            refusals[rule.name] = _("not for this outcome")
        elif rule.exclude_flagged and flagged:
            refusals[rule.name] = _("the customer is flagged for abuse")
        elif amount is None:
            refusals[rule.name] = _("the amount is not known")
        elif currency not in rates or rule.max_amount_currency not in rates:
            refusals[rule.name] = _("no exchange rate for %s") % (
                currency if currency not in rates else rule.max_amount_currency
            )
        elif not money.at_most(amount, currency, rule.max_amount, rule.max_amount_currency, rates):
            refusals[rule.name] = _("%(amount)s %(currency)s is above %(max)s %(max_currency)s") % {
                "amount": amount,
                "currency": currency,
                "max": rule.max_amount,
                "max_currency": rule.max_amount_currency,
            }
        else:
            return QuickCloseCheck(rule, amount, currency, refusals)
    return QuickCloseCheck(None, amount, currency, refusals)


def rma_quick_close(
    *,
    actor: User,
    rma: Rma,
    outcome: str,
    carrier: str = "",
    tracking_number: str = "",
    note: str = "",
    at: datetime | None = None,
) -> Rma:
    """Refund or reship without a return, in one action, when a quick-close rule allows it; the
    rule is recorded. A reship may name its parcel (carrier and tracking number) at once."""
    _choice("outcome", outcome, QuickCloseOutcome.values)
    note = _text("note", note, max_length=TEXT_MAX)
    carrier = single_line(_text("carrier", carrier, max_length=60))
    tracking = _text("tracking_number", tracking_number, max_length=60)
    if bool(carrier) != bool(tracking):
        raise RmaInvalid(
            _("Give both the carrier and the tracking number, or neither."),
            fields={"tracking_number": _("with the carrier")},
        )
    now = at or timezone.now()
    with transaction.atomic():
        locked = _lock(rma)
        if locked.state not in QUICK_CLOSE_STATES:
            raise RmaTransitionNotAllowed(
                _("Quick close is for requests not yet on their way back (this one is “%s”).")
                % State(locked.state).label,
                extra={"state": locked.state},
            )
        check = quick_close_check(rma=locked, outcome=outcome)
        if check.rule is None:
            reasons = "; ".join(f"{name}: {why}" for name, why in check.refusals.items())
            raise QuickCloseRefused(
                (_("No quick-close rule allows this: %s") % reasons)
                if reasons
                else _("No quick-close rule is active."),
                extra={"refusals": check.refusals},
            )
        rule = check.rule
        locked.quick_close_rule = rule
        locked.quick_close_outcome = outcome
        fields = ["quick_close_rule", "quick_close_outcome"]
        payload = {
            "rule": rule.name,
            "rule_id": rule.pk,
            "outcome": outcome,
            "amount": str(check.amount),
            "currency": check.currency,
            "note": note,
        }
        _event(locked, EventType.RMA_QUICK_CLOSED, now, actor, payload=payload)
        if outcome == QuickCloseOutcome.REFUND:
            locked.refund_amount, locked.refund_currency = check.amount, check.currency
            fields += ["refund_amount", "refund_currency"]
            _move(
                locked,
                State.REFUNDED,
                now=now,
                actor=actor,
                data=payload,
                fields=fields,
                check=False,
            )
        else:
            if tracking:
                Shipment.objects.create(
                    rma=locked,
                    direction=Direction.OUTBOUND,
                    carrier=carrier,
                    tracking_number=tracking,
                    shipped_at=now,
                    recorded_by=actor,
                )
                payload.update(carrier=carrier, tracking_number=tracking)
            _move(
                locked,
                State.REPLACEMENT_SHIPPED,
                now=now,
                actor=actor,
                data=payload,
                fields=fields,
                check=False,
            )
    return locked


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
                    value=proposal.value,
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
            % dict(CompensationProposal._meta.get_field("required_role").choices)[
                proposal.required_role
            ]
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
