"""What a customer may see and do in the portal. Views and template flags all ask here.

Cases are loaded through `afterdesk.cases.permissions.get_case_for_user`, so a customer reaches
only the cases of their own customer record; everything else is a 404, alike for unknown
numbers and other customers' cases.
"""

from __future__ import annotations

from collections.abc import Collection

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.utils.translation import gettext as _

from afterdesk.accounts.choices import Role
from afterdesk.accounts.models import User
from afterdesk.cases.choices import Status
from afterdesk.cases.models import Attachment, Case
from afterdesk.cases.permissions import can_reply_case, get_case_for_user
from afterdesk.cases.services import allowed_transitions
from afterdesk.core.errors import NotFound

# Statuses in which the customer may still write; a closed case is reopened first.
REPLY_STATUSES = frozenset(
    {
        Status.NEW,
        Status.OPEN,
        Status.PENDING_CUSTOMER,
        Status.PENDING_INTERNAL,
        Status.RESOLVED,
    }
)


def is_portal_customer(user: User | AnonymousUser) -> bool:
    """Signed in, active, and a customer (staff use the workspace, not the portal)."""
    return bool(user.is_authenticated and user.is_active and user.role == Role.CUSTOMER)


def get_portal_case(user: User | AnonymousUser, number: str) -> Case:
    """The customer's own case with this number; NotFound for anything else."""
    if not isinstance(user, User) or not is_portal_customer(user):
        raise NotFound(_("No case %s.") % number)
    return get_case_for_user(user, number)


def get_submitted_case(
    user: User | AnonymousUser, number: str, *, submitted: Collection[str]
) -> Case:
    """The case whose confirmation page this visitor may see: one this session submitted
    (`submitted` holds their numbers), or one of the signed-in customer's own cases."""
    if number in submitted:
        case = Case.objects.filter(number=number).first()
        if case is not None:
            return case
    return get_portal_case(user, number)


def get_portal_attachment(
    user: User | AnonymousUser, number: str, attachment_id: int
) -> Attachment:
    """A file of the customer's own case that is not internal (nor on an internal note)."""
    case = get_portal_case(user, number)
    attachment = (
        Attachment.objects.filter(case=case, pk=attachment_id, internal=False)
        .filter(Q(message__isnull=True) | Q(message__internal=False))
        .first()
    )
    if attachment is None:
        raise NotFound(_("No such file."))
    return attachment


def can_reply_in_portal(user: User, case: Case) -> bool:
    return is_portal_customer(user) and can_reply_case(user, case) and case.status in REPLY_STATUSES


def can_confirm_resolution(user: User, case: Case) -> bool:
    return (
        is_portal_customer(user)
        and case.status == Status.RESOLVED
        and Status.CLOSED in allowed_transitions(case, for_customer=True)
    )


def can_reopen_case(user: User, case: Case) -> bool:
    return is_portal_customer(user) and Status.OPEN in allowed_transitions(case, for_customer=True)
