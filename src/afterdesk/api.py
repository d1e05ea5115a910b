"""The HTTP API v1: one NinjaAPI, its routers, and the one place errors become JSON."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from afterdesk import __version__
from afterdesk.cases.api import router as cases_router
from afterdesk.cases.api import track_router
from afterdesk.core.api_auth import API_AUTH
from afterdesk.core.errors import DomainError
from afterdesk.customers.api import router as customers_router
from afterdesk.intake.api import router as intake_router
from afterdesk.rma.api import router as rma_router
from afterdesk.sla.api import case_router as sla_case_router
from afterdesk.sla.api import router as sla_router
from afterdesk.triage.api import case_router as triage_case_router
from afterdesk.triage.api import router as triage_router

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="Afterdesk API",
    version="1",
    description=(
        "After-sales cases, customers and orders. Authenticate with "
        "`Authorization: Bearer <token>`. Errors are "
        '`{"error": {"code", "message", "fields"}}`.'
    ),
    urls_namespace="api-v1",
    auth=API_AUTH,
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api.add_router("/cases", cases_router, tags=["cases"])
api.add_router("/cases", sla_case_router, tags=["sla"])
api.add_router("/sla", sla_router, tags=["sla"])
api.add_router("/customers", customers_router, tags=["customers"])
api.add_router("/track", track_router, tags=["tracking"])
api.add_router("/intake", intake_router, tags=["intake"])
api.add_router("/cases", triage_case_router, tags=["triage"])
api.add_router("/triage", triage_router, tags=["triage"])
api.add_router("/rma", rma_router, tags=["rma"])


def _error(
    request: HttpRequest, status: int, code: str, message: str, fields: Any = None, **extra: Any
) -> HttpResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    body.update(extra)
    return api.create_response(request, {"error": body}, status=status)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


def _field_name(loc: list[Any] | tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    # ninja prefixes the source ("body", "query", "path") and the parameter name.
    while parts and parts[0] in {"body", "query", "path", "form", "file", "payload", "filters"}:
        parts.pop(0)
    return ".".join(parts) or "body"


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, str] = {}
    for error in exc.errors:
        name = _field_name(error.get("loc", ()))
        fields.setdefault(name, str(error.get("msg", "invalid")))
    message = "; ".join(f"{name}: {msg}" for name, msg in fields.items())
    return _error(request, 422, "validation_error", message, fields)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error(
        request, 401, "unauthorized", _("A valid API token or a logged-in session is required.")
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(AuthorizationError)
def _forbidden(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return _error(request, 403, "permission_denied", str(exc))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(cause, RequestDataTooBig):
        return _error(request, 413, "body_too_large", _("The request body is too large."))
    if isinstance(cause, json.JSONDecodeError | UnicodeDecodeError):
        detail = str(cause)
        return _error(request, 400, "malformed_json", _("The body is not valid JSON: %s") % detail)
    if exc.status_code == 400 and cause is not None:
        return _error(request, 400, "bad_request", _("The request body cannot be parsed."))
    return _error(request, exc.status_code, f"http_{exc.status_code}", str(exc))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", _("Not found."))


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("Unhandled API error on %s %s", request.method, request.path)
    return _error(request, 500, "server_error", _("Something went wrong on our side."))


@api.get("/version", auth=None, include_in_schema=False)
def version(request: HttpRequest) -> dict[str, str]:
    return {"version": __version__}
