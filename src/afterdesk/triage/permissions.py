"""Who may see and change triage configuration, suggestions and collaboration.

Customers never reach any of it. Staff see rules, routes, skills and the needs-triage view;
supervisors and admins (and integrations, through the API) change the configuration and
train models. Sub-tasks and the task force follow the parent case's permissions.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from afterdesk.accounts.choices import MANAGER_ROLES, Role
from afterdesk.accounts.models import User
from afterdesk.cases.models import Case
from afterdesk.cases.permissions import can_edit_case, can_view_case
from afterdesk.core.errors import NotFound, PermissionDenied
from afterdesk.triage.models import SubTask


def can_view_triage(user: User) -> bool:
    return user.is_active and user.is_staff_member


def can_manage_triage(user: User) -> bool:
    return user.is_active and user.role in MANAGER_ROLES


def can_set_own_away(user: User) -> bool:
    return can_view_triage(user) and user.role != Role.INTEGRATION


def can_view_collaboration(user: User, case: Case) -> bool:
    """Sub-tasks and the task force are internal: staff who can see the case."""
    return user.is_staff_member and can_view_case(user, case)


def can_collaborate(user: User, case: Case) -> bool:
    """Create sub-tasks, add collaborators, escalate: staff who may change the case."""
    return user.is_staff_member and can_edit_case(user, case)


def can_change_subtask(user: User, task: SubTask) -> bool:
    """The task's owner, members of its department, and whoever may change the case."""
    if not (user.is_active and user.is_staff_member):
        return False
    if task.owner_id == user.pk or can_edit_case(user, task.case):
        return True
    return user.departments.filter(pk=task.department_id).exists()


def require_view_triage(user: User) -> None:
    if not can_view_triage(user):
        # Customers are not told the feature exists.
        raise NotFound(_("Not found."))


def require_manage_triage(user: User) -> None:
    require_view_triage(user)
    if not can_manage_triage(user):
        raise PermissionDenied(_("Only supervisors and administrators may change triage."))


def get_subtask_for_user(user: User, case: Case, task_id: int, *, write: bool = False) -> SubTask:
    task = (
        SubTask.objects.select_related("case", "department", "owner")
        .filter(pk=task_id, case=case)
        .first()
    )
    if task is None or not can_view_collaboration(user, case):
        raise NotFound(_("No such sub-task."))
    if write and not can_change_subtask(user, task):
        raise PermissionDenied(_("You may not change this sub-task."))
    return task
