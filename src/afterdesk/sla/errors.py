"""Refusals of the SLA engine, each with a stable code (see afterdesk.core.errors)."""

from __future__ import annotations

from afterdesk.core.errors import Conflict, ValidationFailed


class SlaInvalid(ValidationFailed):
    code = "sla_invalid"


class SlaTimerNotLive(Conflict):
    code = "sla_timer_not_live"
