"""The gate of every workspace view, and the one place its domain errors become HTTP."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse

from afterdesk.accounts.choices import Role
from afterdesk.accounts.permissions import can_use_workspace
from afterdesk.core.errors import NotFound, PermissionDenied

View = Callable[..., HttpResponse]


def _portal_url() -> str | None:
    try:
        return reverse("portal:cases")
    except NoReverseMatch:
        return None


def workspace_required(view: View) -> View:
    """Staff only: visitors go to the login page, customers to the portal, others get 404.

    NotFound and PermissionDenied raised by permissions and services become 404 and 403.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not can_use_workspace(user):  # type: ignore[arg-type]
            portal = _portal_url() if getattr(user, "role", "") == Role.CUSTOMER else None
            if portal and request.method == "GET":
                return redirect(portal)
            raise Http404
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from exc

    return wrapper
