"""Serve a logged-in staff member in the language they chose in their profile."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from afterdesk.accounts.models import User


class UserLanguageMiddleware:
    """After authentication: a staff member's saved language wins over the browser's.

    Without a saved preference (and for anonymous visitors and customers) LocaleMiddleware's
    choice stands: the language cookie, then Accept-Language.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if isinstance(user, User) and user.is_staff_member and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
