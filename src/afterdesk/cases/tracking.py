"""Tracking a case without logging in: the number plus one of the customer's contacts."""

from __future__ import annotations

from django.utils.translation import gettext as _

from afterdesk.cases.models import Case
from afterdesk.core.errors import NotFound
from afterdesk.customers.choices import ContactKind
from afterdesk.customers.models import ContactPoint
from afterdesk.customers.services import normalize_email, normalize_phone


def case_track(*, number: str, contact: str) -> Case:
    """The case if `contact` is an e-mail or phone of its customer; else NotFound, alike."""
    case = Case.objects.select_related("customer").filter(number=number.strip().upper()).first()
    not_found = NotFound(_("No case matches this number and contact."))
    if case is None:
        raise not_found
    value = contact.strip()
    if "@" in value:
        kind, normalized = ContactKind.EMAIL, normalize_email(value)
    else:
        kind, normalized = ContactKind.PHONE, normalize_phone(value)
    if (
        not normalized
        or not ContactPoint.objects.filter(
            customer_id=case.customer_id, kind=kind, normalized=normalized
        ).exists()
    ):
        raise not_found
    return case
