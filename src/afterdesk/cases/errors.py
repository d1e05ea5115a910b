from __future__ import annotations

from afterdesk.core.errors import Conflict, ValidationFailed


class CaseTransitionNotAllowed(Conflict):
    code = "transition_not_allowed"


class CaseVersionConflict(Conflict):
    code = "version_conflict"


class CaseInvalid(ValidationFailed):
    code = "validation_error"
