"""Who may see and change which case. Views, API and templates all ask here."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from afterdesk.accounts.choices import Role
from afterdesk.accounts.models import User
from afterdesk.accounts.selectors import user_department_ids
from afterdesk.cases.models import Case, SavedView
from afterdesk.core.errors import NotFound, PermissionDenied
from afterdesk.core.text import has_control_characters


def visibility_filter(user: User) -> Q | None:
    """A filter for the cases `user` may see; None means every case."""
    if not user.is_active:
        return Q(pk__in=[])
    if user.sees_all_cases:
        return None
    if user.role == Role.CUSTOMER:
        return Q(customer__user=user)
    if user.is_staff_member:
        return Q(department_id__in=user_department_ids(user)) | Q(owner=user)
    return Q(pk__in=[])


def restrict_cases(queryset: QuerySet[Case], user: User) -> QuerySet[Case]:
    condition = visibility_filter(user)
    return queryset if condition is None else queryset.filter(condition)


def is_customer(user: User) -> bool:
    return user.role == Role.CUSTOMER


def can_view_case(user: User, case: Case) -> bool:
    if not user.is_active:
        return False
    if user.sees_all_cases:
        return True
    if user.role == Role.CUSTOMER:
        return case.customer.user_id == user.pk
    if user.is_staff_member:
        return case.owner_id == user.pk or case.department_id in user_department_ids(user)
    return False


def can_edit_case(user: User, case: Case) -> bool:
    """Change fields, assign, link: staff who can see the case."""
    return user.is_staff_member and can_view_case(user, case)


def can_reply_case(user: User, case: Case) -> bool:
    return can_view_case(user, case)


def can_add_internal_note(user: User, case: Case) -> bool:
    return can_edit_case(user, case)


def get_case_for_user(user: User, number: str, *, write: bool = False) -> Case:
    """The case with this number if `user` may see it (and change it, with write=True).

    Raises NotFound alike for unknown numbers and for cases the user may not see, so the
    answer never tells whether a number exists.
    """
    case = (
        None
        if has_control_characters(number)
        else Case.objects.select_related("customer", "owner", "department", "category")
        .filter(number=number)
        .first()
    )
    if case is None or not can_view_case(user, case):
        raise NotFound(_("No case %s.") % number)
    if write and not can_edit_case(user, case):
        raise PermissionDenied(_("You may not change this case."))
    return case


def get_saved_view_for_user(user: User, view_id: int) -> SavedView:
    """One of the user's own saved views; NotFound for anyone else's."""
    view = SavedView.objects.filter(pk=view_id, user_id=user.pk).first()
    if view is None:
        raise NotFound(_("No such saved view."))
    return view


def get_cases_for_user(
    user: User, numbers: list[str], *, write: bool = False
) -> tuple[list[Case], list[str]]:
    """The cases with these numbers that `user` may see (and change, with write=True), in the
    order given, and the numbers that are unknown or out of reach — alike, as for one case."""
    found = {
        c.number: c
        for c in restrict_cases(Case.objects.all(), user)
        .select_related("customer", "owner", "department", "category")
        .filter(number__in=numbers)
    }
    allowed: list[Case] = []
    refused: list[str] = []
    for number in dict.fromkeys(numbers):
        case = found.get(number)
        if case is None or (write and not can_edit_case(user, case)):
            refused.append(number)
        else:
            allowed.append(case)
    return allowed, refused
