"""Who may use which part of the staff side."""

from __future__ import annotations

from afterdesk.accounts.choices import STAFF_ROLES, Role
from afterdesk.accounts.models import User

# The agent workspace is for people on the service team: not customers, not integrations.
WORKSPACE_ROLES = STAFF_ROLES - {Role.INTEGRATION}


def can_use_workspace(user: User) -> bool:
    return user.is_authenticated and user.is_active and user.role in WORKSPACE_ROLES


def can_edit_profile(user: User) -> bool:
    """Staff change their own preferences here; customers have the portal."""
    return can_use_workspace(user)
