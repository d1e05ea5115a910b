"""Refusals of the intake app, each with a stable code."""

from __future__ import annotations

from afterdesk.core.errors import DomainError, ValidationFailed


class WebhookUnauthorized(DomainError):
    """A webhook whose source, timestamp or signature does not check out (401)."""

    code = "invalid_signature"
    status = 401


class WebhookPayloadInvalid(ValidationFailed):
    """A signed webhook whose payload does not map to a customer and a case (422)."""

    code = "unmappable_payload"


class MessageTooLarge(ValidationFailed):
    code = "message_too_large"


class RetryNotAllowed(ValidationFailed):
    code = "retry_not_allowed"
