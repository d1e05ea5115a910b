"""Staff sign-in, sign-out and profile. Thin: parse, check, one service, render."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from afterdesk.accounts.decorators import workspace_required
from afterdesk.accounts.forms import LoginForm, ProfileForm
from afterdesk.accounts.models import User
from afterdesk.accounts.selectors import user_departments
from afterdesk.accounts.services import user_set_language
from afterdesk.core.errors import ValidationFailed
from afterdesk.core.ratelimit import client_address, rate_limit_hit


class LoginView(auth_views.LoginView):
    """Django's login, rate-limited per client address and per username (guessing attacks)."""

    template_name = "accounts/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = str(request.POST.get("username", "")).strip().lower()[:150]
        over_address = rate_limit_hit(
            scope="login-address",
            key=client_address(request),
            limit=settings.LOGIN_ADDRESS_RATE_LIMIT_PER_MINUTE,
        )
        over_user = bool(username) and rate_limit_hit(
            scope="login-user", key=username, limit=settings.LOGIN_RATE_LIMIT_PER_MINUTE
        )
        if over_address or over_user:
            context = self.get_context_data(form=self.get_form_class()(request))
            context["rate_limited"] = _("Too many sign-in attempts; wait a minute and try again.")
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)


logout = auth_views.LogoutView.as_view()


@workspace_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """The staff member's own preferences: the interface language."""
    user: User = request.user  # type: ignore[assignment]
    form = ProfileForm(request.POST or None, initial={"language": user.language})
    if request.method == "POST" and form.is_valid():
        try:
            user_set_language(user=user, language=form.cleaned_data["language"])
        except ValidationFailed as exc:
            form.add_error("language", exc.message)
        else:
            messages.success(request, _("Your preferences are saved."))
            return redirect("accounts:profile")
    departments = [d.label for d in user_departments(user=user)]
    return render(
        request,
        "accounts/profile.html",
        {"form": form, "profile_user": user, "departments": departments},
    )
