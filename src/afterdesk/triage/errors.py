from __future__ import annotations

from afterdesk.core.errors import Conflict, ValidationFailed


class TriageInvalid(ValidationFailed):
    code = "validation_error"


class TrainingRefused(ValidationFailed):
    code = "training_refused"


class SubTaskTransitionNotAllowed(Conflict):
    code = "transition_not_allowed"
