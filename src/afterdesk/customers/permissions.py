from __future__ import annotations

from django.utils.translation import gettext as _

from afterdesk.accounts.choices import MANAGER_ROLES
from afterdesk.accounts.models import User
from afterdesk.core.errors import NotFound, PermissionDenied
from afterdesk.customers.models import Customer
from afterdesk.customers.selectors import customer_detail


def can_view_customers(user: User) -> bool:
    return user.is_active and user.is_staff_member


def can_import_customers(user: User) -> bool:
    return user.is_active and user.role in MANAGER_ROLES


def get_customer_for_user(user: User, customer_id: int) -> Customer:
    """The customer if `user` is staff, or the user's own profile; else NotFound."""
    customer = customer_detail(customer_id=customer_id)
    if customer is None:
        raise NotFound(_("No such customer."))
    if can_view_customers(user) or (customer.user_id is not None and customer.user_id == user.pk):
        return customer
    raise NotFound(_("No such customer."))


def require_import(user: User) -> None:
    if not can_import_customers(user):
        raise PermissionDenied(_("Only supervisors, admins and integrations may import data."))
