"""What the case services call, inside their own transaction, when a case comes in or staff
reply: the policy-window check and the e-mail to the customer (the outbox).

Called explicitly from `afterdesk.cases.services` (no signals), so every path that opens a
case — API, portal, workspace, e-mail, webhooks — gets the same treatment.
"""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from afterdesk.cases.models import Case, Message
from afterdesk.core import fastsql
from afterdesk.customers.models import Order, Product
from afterdesk.customers.selectors import product_by_sku
from afterdesk.intake.models import IntakePolicy, PolicyCheck
from afterdesk.intake.outbox import outbox_ack, outbox_reply, policy_rule
from afterdesk.intake.policies import Periods, check_windows


def intake_case_created(
    *, case: Case, acknowledge: bool = True, check: PolicyCheck | None = None
) -> None:
    """A case was just opened (same transaction): record its policy-window `check` (made by
    `policy_check_plan` before the transaction), and queue the acknowledgement unless
    `acknowledge` is False (loop protection for automated mail)."""
    if check is not None:
        _policy_check_save(case=case, check=check)
    if acknowledge:
        outbox_ack(case=case)


def intake_message_added(*, message: Message) -> None:
    """A message was added (same transaction): a public staff reply goes to the customer."""
    outbox_reply(message=message)


def _product_of(case: Case, order: Order | None) -> Product | None:
    if case.product_sku:
        product = product_by_sku(case.product_sku)
        if product is not None:
            return product
    if order is None:
        return None
    lines = list(order.lines.select_related("product").order_by("id"))
    if case.serial:
        for line in lines:
            if line.serial == case.serial and line.product is not None:
                return line.product
    return next((line.product for line in lines if line.product is not None), None)


# Every case that names a product or order is checked: the policy look-up is a prepared
# statement (core.fastsql), not compiled by the ORM each time.
def _policy_for(product: Product | None) -> IntakePolicy | None:
    lines = [product.product_line, ""] if product is not None and product.product_line else [""]
    placeholders = ", ".join(["%s"] * len(lines))
    found = fastsql.select(
        IntakePolicy,
        "i",
        f"FROM {fastsql.table(IntakePolicy)} i WHERE i.product_line IN ({placeholders})",
        lines,
    )
    policies = {policy.product_line: policy for policy in found}
    return next((policies[line] for line in lines if line in policies), None)


def _local_date(value: datetime | None) -> date | None:
    return timezone.localtime(value).date() if value is not None else None


def policy_check_record(*, case: Case, at: datetime | None = None) -> PolicyCheck | None:
    """Check a saved case against the periods of its product when its order or product is
    known, and record the outcome (see `policy_check_plan`)."""
    check = policy_check_plan(case=case, at=at)
    if check is not None:
        _policy_check_save(case=case, check=check)
    return check


def policy_check_plan(*, case: Case, at: datetime | None = None) -> PolicyCheck | None:
    """The outcome (unsaved) of checking the case against the periods of its product when its
    order or product is known. Reads only: case creation runs it before its transaction.

    A request outside a window is still a case: it is flagged (a PolicyCheck with the
    reason codes, and an internal note the agents see on the timeline) and the
    acknowledgement tells the customer the policy that applies.
    """
    order = case.order
    product = _product_of(case, order)
    if order is None and product is None:
        return None
    policy = _policy_for(product)
    warranty = product.warranty_months if product is not None else None
    periods = (
        Periods(
            complaint_days_after_delivery=policy.complaint_days_after_delivery,
            return_days=policy.return_days,
            exchange_days=policy.exchange_days,
            warranty_months=warranty,
        )
        if policy is not None
        else Periods(warranty_months=warranty)
    )
    now = at or timezone.now()
    outcome = check_windows(
        kind=case.kind,
        today=timezone.localtime(now).date(),
        periods=periods,
        delivered_on=_local_date(order.delivered_at if order else None),
        purchased_on=_local_date(order.placed_at if order else None),
    )
    if outcome is None:
        return None
    windows = {
        "window": outcome.window,
        "starts": outcome.starts.isoformat(),
        "ends": outcome.ends.isoformat(),
        "days": outcome.days,
        "months": outcome.months,
        "product_sku": product.sku if product is not None else "",
        "order": order.reference if order is not None else "",
    }
    return PolicyCheck(
        case=case,
        checked_at=now,
        policy=policy,
        within=outcome.within,
        flags=list(outcome.flags),
        windows=windows,
    )


def _policy_check_save(*, case: Case, check: PolicyCheck) -> None:
    check.case_id = case.pk
    fastsql.insert([check])
    if not check.within:
        _flag_note(case=case, check=check)


def _flag_note(*, case: Case, check: PolicyCheck) -> None:
    # Imported here: the case services import this module.
    from afterdesk.cases.services import case_add_message

    with translation.override(settings.LANGUAGE_CODE):
        body = _("Outside the policy window at intake: %(reason)s") % {"reason": policy_rule(check)}
    case_add_message(actor=None, case=case, body=body, internal=True)
