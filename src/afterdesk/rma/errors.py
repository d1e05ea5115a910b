from __future__ import annotations

from afterdesk.core.errors import Conflict, ValidationFailed


class RmaInvalid(ValidationFailed):
    code = "validation_error"


class RmaTransitionNotAllowed(Conflict):
    code = "transition_not_allowed"


class RmaExists(Conflict):
    code = "rma_exists"


class QuickCloseRefused(Conflict):
    code = "quick_close_refused"


class ProposalNotPending(Conflict):
    code = "proposal_not_pending"
