from __future__ import annotations

from afterdesk.accounts.models import Department, User
from afterdesk.accounts.permissions import WORKSPACE_ROLES


def user_department_ids(user: User) -> list[int]:
    """The user's department ids, loaded once per user object."""
    cached = getattr(user, "_department_ids", None)
    if cached is None:
        cached = list(user.departments.values_list("id", flat=True))
        user._department_ids = cached  # type: ignore[attr-defined]
    return cached


def user_departments(*, user: User) -> list[Department]:
    return list(user.departments.filter(is_active=True).order_by("position", "code"))


def departments_active() -> list[Department]:
    return list(Department.objects.filter(is_active=True).order_by("position", "code"))


STAFF_LIST_MAX = 300


def staff_in_departments(*, department_ids: list[int] | None) -> list[User]:
    """Active people of the workspace roles, by name; in these departments, or all if None.

    What assignment and owner pickers list (at most STAFF_LIST_MAX).
    """
    qs = User.objects.filter(is_active=True, role__in=WORKSPACE_ROLES)
    if department_ids is not None:
        qs = qs.filter(departments__id__in=department_ids).distinct()
    return list(qs.order_by("first_name", "last_name", "username")[:STAFF_LIST_MAX])


def staff_member(*, username: str) -> User | None:
    """The active workspace user with this username, or None."""
    return User.objects.filter(username=username, is_active=True, role__in=WORKSPACE_ROLES).first()
