"""API authentication: bearer tokens for integrations, the session for the browser UI."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from afterdesk.accounts.models import User
from afterdesk.accounts.services import api_token_authenticate


def request_user(request: HttpRequest) -> User:
    """The user an API request authenticated as (by token or session)."""
    return request.auth  # type: ignore[attr-defined,no-any-return]


class BearerToken(HttpBearer):
    openapi_description = "An API token: `Authorization: Bearer adk_…` (see `afterdesk token`)."

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = api_token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class ActiveSession(SessionAuth):
    """The logged-in browser session (with CSRF on unsafe methods)."""

    def authenticate(self, request: HttpRequest, key: Any) -> User | None:
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


API_AUTH = [BearerToken(), ActiveSession()]
