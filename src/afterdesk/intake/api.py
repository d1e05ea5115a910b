"""Intake endpoints of API v1: signed webhooks in, and the e-mail quarantine for admins."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.security import APIKeyHeader

from afterdesk.core.api_auth import request_user as _user
from afterdesk.core.schemas import error_responses
from afterdesk.intake import selectors
from afterdesk.intake.models import InboundMessage, WebhookSource
from afterdesk.intake.permissions import get_inbound_for_user, require_quarantine_access
from afterdesk.intake.schemas import QuarantinedOut, QuarantinePageOut, WebhookIn, WebhookOut
from afterdesk.intake.services import inbound_retry
from afterdesk.intake.webhooks import webhook_receive, webhook_verify

router = Router()

ERRORS = error_responses(400, 401, 403, 404, 413, 422)

WEBHOOK_DESCRIPTION = """
Events from shops, marketplaces, social-media and chat platforms. Each source (`{source}`,
configured in the admin) has its own secret. Sign every request:

- `X-Afterdesk-Timestamp`: the current time in Unix seconds;
- `X-Afterdesk-Signature`: `sha256=` + hex of HMAC-SHA256(secret, timestamp + "." + raw body).

A missing or bad signature, an unknown source, or a timestamp more than 5 minutes off → 401,
nothing read or saved. `type` is `case.create` (needs `case.kind` and `case.subject`; opens a
case for the customer, with the order when given) or `message.create` (needs `case.number` of
one of this customer's cases and `message.body`). The customer is matched by `external_ref`,
else by e-mail or phone, else created. A payload that does not map → 422 naming the field,
nothing saved. The first delivery of an `event_id` → 201; a replay → 200 with the same body.
When the order or product is known, `policy` tells whether the request is inside the return,
exchange, warranty or complaint window (it is recorded either way).
"""


class WebhookSignature(APIKeyHeader):
    """HMAC-SHA256 over timestamp + "." + body with the source's secret (see the operation)."""

    param_name = "X-Afterdesk-Signature"

    def authenticate(self, request: HttpRequest, key: str | None) -> WebhookSource:
        match = request.resolver_match
        slug = str(match.kwargs.get("source", "")) if match is not None else ""
        return webhook_verify(
            slug=slug,
            timestamp=request.headers.get("X-Afterdesk-Timestamp", ""),
            signature=key or "",
            body=request.body,
        )


def _quarantined_out(inbound: InboundMessage) -> dict[str, Any]:
    return {
        "id": inbound.pk,
        "mailbox": inbound.mailbox.address,
        "source": inbound.source,
        "state": inbound.state,
        "reason": inbound.reason,
        "error": inbound.error,
        "message_id": inbound.message_id,
        "sender": inbound.sender,
        "subject": inbound.subject,
        "size": inbound.size,
        "attempts": inbound.attempts,
        "received_at": inbound.received_at,
    }


class QuarantineQuery(Schema):
    limit: int = Field(default=50, ge=1, le=selectors.MAX_LIMIT)
    cursor: str | None = Field(default=None, max_length=200)


@router.get(
    "/quarantine",
    response={200: QuarantinePageOut, **ERRORS},
    summary="Quarantined e-mail (supervisors and admins; keyset pages)",
)
def list_quarantine(request: HttpRequest, filters: Query[QuarantineQuery]) -> dict[str, Any]:
    require_quarantine_access(_user(request))
    page = selectors.quarantine_list(cursor=filters.cursor, limit=filters.limit)
    return {"items": [_quarantined_out(m) for m in page.items], "next_cursor": page.next_cursor}


@router.post(
    "/quarantine/{inbound_id}/retry",
    response={202: QuarantinedOut, **ERRORS},
    summary="Process a quarantined message again",
)
def retry_quarantined(request: HttpRequest, inbound_id: int) -> Status[dict[str, Any]]:
    inbound = get_inbound_for_user(_user(request), inbound_id)
    return Status(202, _quarantined_out(inbound_retry(inbound=inbound)))


# Registered last: "/{source}" would otherwise shadow "/quarantine".
@router.post(
    "/{source}",
    auth=WebhookSignature(),
    response={200: WebhookOut, 201: WebhookOut, **ERRORS},
    summary="Receive a signed webhook event",
    description=WEBHOOK_DESCRIPTION,
    openapi_extra={
        "parameters": [
            {
                "in": "header",
                "name": "X-Afterdesk-Timestamp",
                "required": True,
                "schema": {"type": "string"},
                "description": "Unix seconds; at most 300 s away from our clock.",
            }
        ]
    },
)
def receive_webhook(request: HttpRequest, source: str, payload: WebhookIn) -> Status[Any]:
    verified: WebhookSource = request.auth  # type: ignore[attr-defined]
    applied, response = webhook_receive(source=verified, event=payload)
    return Status(201 if applied else 200, response)
