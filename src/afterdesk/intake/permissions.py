"""Who may see and act on intake's quarantine: supervisors and admins."""

from __future__ import annotations

from django.utils.translation import gettext as _

from afterdesk.accounts.choices import Role
from afterdesk.accounts.models import User
from afterdesk.core.errors import NotFound, PermissionDenied
from afterdesk.intake.models import InboundMessage

QUARANTINE_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


def can_manage_quarantine(user: User) -> bool:
    return user.is_active and (user.role in QUARANTINE_ROLES or user.is_superuser)


def require_quarantine_access(user: User) -> None:
    if not can_manage_quarantine(user):
        raise PermissionDenied(_("Only supervisors and admins may see the quarantine."))


def get_inbound_for_user(user: User, inbound_id: int) -> InboundMessage:
    """A stored message for a supervisor or admin; NotFound when there is none."""
    require_quarantine_access(user)
    inbound = (
        InboundMessage.objects.defer("raw", "html")
        .select_related("mailbox")
        .filter(pk=inbound_id)
        .first()
    )
    if inbound is None:
        raise NotFound(_("No such message."))
    return inbound
