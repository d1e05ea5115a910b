"""Opening an RMA: items, their product and order, warranty and policy window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from afterdesk.accounts.models import User
from afterdesk.cases.choices import EventType
from afterdesk.cases.models import Case
from afterdesk.core.text import single_line
from afterdesk.customers.models import Order, Product
from afterdesk.rma.choices import (
    RMA_KINDS,
    Reason,
    State,
)
from afterdesk.rma.errors import (
    RmaExists,
    RmaInvalid,
    RmaTransitionNotAllowed,
)
from afterdesk.rma.models import (
    Rma,
    RmaItem,
    RmaPolicy,
)
from afterdesk.rma.services.common import (
    ITEMS_MAX,
    QUANTITY_MAX,
    TEXT_MAX,
    _choice,
    _event,
    _iso,
    _lock,
    _money,
    _text,
)
from afterdesk.rma.warranty import ItemDates, evaluate, local_date

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
