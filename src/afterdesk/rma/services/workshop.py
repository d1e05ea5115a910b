"""Inspection (R18), diagnosis and the paid repair quote."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from afterdesk.accounts.models import User
from afterdesk.cases.choices import EventType
from afterdesk.rma.choices import (
    OutOfWarranty,
    QuoteStatus,
    State,
    WarrantyStatus,
)
from afterdesk.rma.errors import (
    RmaInvalid,
    RmaTransitionNotAllowed,
)
from afterdesk.rma.models import (
    Inspection,
    Rma,
)
from afterdesk.rma.services.common import (
    PHOTOS_MAX,
    TEXT_MAX,
    _currency,
    _event,
    _lock,
    _money,
    _text,
)
from afterdesk.rma.services.lifecycle import (
    DIAGNOSIS_STEP,
    INSPECTION_STEP,
    _move,
    _refuse,
    allowed_steps,
)
from afterdesk.rma.warranty import local_date

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
