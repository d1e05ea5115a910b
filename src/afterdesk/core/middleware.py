"""Refuse oversized bodies and control characters in URLs before anything reads them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

from afterdesk.core.text import has_control_characters


class BodySizeLimitMiddleware:
    """API bodies over API_MAX_BODY_BYTES get a 413 that names the limit.

    Multipart uploads to attachment endpoints are bounded by ATTACHMENT_MAX_BYTES instead.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The API validates its own parameters (404 for a look-up, 422 naming the field).
        if not request.path.startswith("/api/") and _has_controls(request):
            return HttpResponseBadRequest(_("The URL contains control characters."))
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return _error(400, "bad_content_length", _("Content-Length is not a number."))
            content_type = request.META.get("CONTENT_TYPE", "")
            limit = (
                settings.ATTACHMENT_MAX_BYTES + 64 * 1024
                if content_type.startswith("multipart/")
                else settings.API_MAX_BODY_BYTES
            )
            if length > limit:
                return _error(
                    413,
                    "body_too_large",
                    _("Request body is %(size)d bytes; the limit is %(limit)d bytes.")
                    % {"size": length, "limit": limit},
                )
        return self.get_response(request)


def _has_controls(request: HttpRequest) -> bool:
    """NUL and other control characters in the path or query string (PostgreSQL refuses NUL;
    nothing legitimate sends them)."""
    if has_control_characters(request.path):
        return True
    return any(
        has_control_characters(key) or has_control_characters(value)
        for key, values in request.GET.lists()
        for value in values
    )


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


class ContentSecurityPolicyMiddleware:
    """Send the Content-Security-Policy header (settings.CONTENT_SECURITY_POLICY) on every page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response
