"""Customer portal pages. Thin: parse, load with permission, one service or selector, render."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from afterdesk.accounts.models import User
from afterdesk.cases.choices import OPEN_STATUSES
from afterdesk.cases.models import Case
from afterdesk.cases.services import CaseInput
from afterdesk.core.errors import DomainError, NotFound, ValidationFailed
from afterdesk.core.ratelimit import client_address, rate_limit_hit
from afterdesk.customers.services import CustomerInput, normalize_email
from afterdesk.portal import selectors, services
from afterdesk.portal.forms import LoginForm, ReopenForm, ReplyForm, SubmitForm
from afterdesk.portal.permissions import (
    can_confirm_resolution,
    can_reopen_case,
    can_reply_in_portal,
    get_portal_attachment,
    get_portal_case,
    get_submitted_case,
    is_portal_customer,
)

# The service numbers this browser session submitted (newest last), for the confirmation page.
SUBMITTED_KEY = "portal_submitted"
SUBMITTED_KEEP = 20
# Where to go after signing in, when the sign-in started from a portal page.
NEXT_KEY = "portal_next"
# A request body beyond this cannot be a valid form with FILES_MAX files.
UPLOAD_SLACK_BYTES = 1024 * 1024

View = Callable[..., HttpResponseBase]


def _customer_user(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and is_portal_customer(user) else None


def _render(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    """Render a portal page with the signed-in customer's name for the header."""
    user = _customer_user(request)
    profile = getattr(user, "customer_profile", None) if user is not None else None
    page = {"portal_customer_name": profile.name if profile is not None else ""}
    page.update(context or {})
    return render(request, template, page, status=status)


def customer_required(view: View) -> View:
    """Send visitors who are not signed in as a customer to the portal sign-in page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if _customer_user(request) is None:
            target = request.get_full_path() if request.method == "GET" else ""
            query = f"?{urlencode({'next': target})}" if target else ""
            return redirect(reverse("portal:login") + query)
        return view(request, *args, **kwargs)

    return wrapper


def _load_case(request: HttpRequest, number: str) -> Case:
    try:
        return get_portal_case(request.user, number)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _too_large(request: HttpRequest) -> bool:
    limit = settings.ATTACHMENT_MAX_BYTES * services.FILES_MAX + UPLOAD_SLACK_BYTES
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > limit
    except ValueError:
        return True


def _too_large_response(request: HttpRequest) -> HttpResponse:
    return _render(
        request,
        "portal/error.html",
        {
            "title": _("The upload is too large"),
            "message": _("Send fewer or smaller files (at most %(mb)d MB each).")
            % {"mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)},
        },
        status=413,
    )


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    return _render(request, "portal/landing.html")


# --- Submitting a request --------------------------------------------------------------------


def _case_input(data: dict[str, Any]) -> CaseInput:
    return CaseInput(
        kind=data["kind"],
        channel="web",
        subject=data["subject"],
        description=data["description"],
        category=data.get("category") or "",
        order_ref=data.get("order_ref", "").strip(),
        product_sku=data.get("product_sku", "").strip(),
        serial=data.get("serial", "").strip(),
        customer=CustomerInput(
            name=data.get("name", ""),
            email=data.get("email", ""),
            phone=data.get("phone", ""),
            language=translation.get_language() or "",
        ),
    )


@never_cache
@require_http_methods(["GET", "POST"])
def submit(request: HttpRequest) -> HttpResponse:
    """The request form; anonymous visitors also give their name and a contact."""
    if request.method == "POST" and _too_large(request):
        return _too_large_response(request)
    user = _customer_user(request)
    form = SubmitForm(
        request.POST or None,
        request.FILES or None,
        anonymous=user is None,
        categories=selectors.category_choices(),
    )
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            if rate_limit_hit(
                scope="portal-submit",
                key=client_address(request),
                limit=settings.PORTAL_SUBMIT_RATE_LIMIT_PER_MINUTE,
            ):
                form.add_error(None, _("Too many requests; wait a minute and try again."))
                status = 429
            else:
                try:
                    case = services.portal_case_submit(
                        user=user,
                        data=_case_input(form.cleaned_data),
                        photos=form.cleaned_data["photos"],
                    )
                except DomainError as exc:
                    form.add_domain_error(exc)
                else:
                    submitted = [*request.session.get(SUBMITTED_KEY, []), case.number]
                    request.session[SUBMITTED_KEY] = submitted[-SUBMITTED_KEEP:]
                    return redirect("portal:submitted", number=case.number)
    return _render(
        request,
        "portal/submit.html",
        {"form": form, "anonymous": user is None, "files_chosen": bool(request.FILES)},
        status=status,
    )


@never_cache
@require_GET
def submitted(request: HttpRequest, number: str) -> HttpResponse:
    """The confirmation: the service number and when to expect the first answer."""
    try:
        case = get_submitted_case(
            request.user, number, submitted=request.session.get(SUBMITTED_KEY, [])
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    signed_in = _customer_user(request) is not None
    return _render(
        request,
        "portal/submitted.html",
        {
            "case": case,
            "expected": selectors.expected_first_response(case=case),
            "case_url": reverse("portal:case", kwargs={"number": case.number}) if signed_in else "",
        },
    )


# --- Signing in with a one-time link ---------------------------------------------------------


def _safe_next(request: HttpRequest, value: str) -> str:
    if value.startswith("/portal/") and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return ""


def _wait_until(started: float) -> None:
    """Answer no sooner than PORTAL_LOGIN_MIN_RESPONSE_MS after `started`, so that a known
    address (a row written, a mail sent) and an unknown one take about as long."""
    remaining = settings.PORTAL_LOGIN_MIN_RESPONSE_MS / 1000 - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)


@never_cache
@require_http_methods(["GET", "POST"])
def login_request(request: HttpRequest) -> HttpResponse:
    """Ask for a sign-in link. The answer never tells whether the address is known."""
    started = time.monotonic()
    if request.method == "GET" and _customer_user(request) is not None:
        return redirect("portal:cases")
    form = LoginForm(request.POST or None)
    if request.method == "GET":
        return _render(
            request, "portal/login.html", {"form": form, "next": request.GET.get("next", "")}
        )
    if not form.is_valid():
        return _render(request, "portal/login.html", {"form": form}, status=422)
    address = normalize_email(form.cleaned_data["email"])
    ip = client_address(request)
    limited_ip = rate_limit_hit(
        scope="portal-login-ip", key=ip, limit=settings.PORTAL_LOGIN_RATE_LIMIT_PER_MINUTE
    )
    limited_address = rate_limit_hit(
        scope="portal-login-address",
        key=address,
        limit=settings.PORTAL_LOGIN_ADDRESS_RATE_LIMIT_PER_MINUTE,
    )
    if limited_ip or limited_address:
        form.add_error(None, _("Too many sign-in requests; wait a minute and try again."))
        return _render(request, "portal/login.html", {"form": form}, status=429)
    next_url = _safe_next(request, request.POST.get("next", ""))
    if next_url:
        request.session[NEXT_KEY] = next_url
    services.login_link_request(email=address, requested_ip=ip)
    _wait_until(started)
    return redirect("portal:login_sent")


@never_cache
@require_GET
def login_sent(request: HttpRequest) -> HttpResponse:
    return _render(request, "portal/login_sent.html", {"minutes": settings.PORTAL_LINK_TTL_MINUTES})


@never_cache
@require_http_methods(["GET", "POST"])
def login_link(request: HttpRequest, token: str) -> HttpResponse:
    """Opening the link shows a button; pressing it uses the link and signs the customer in.

    GET changes nothing, so mail scanners that fetch links cannot use them up.
    """
    # The token is in this page's address; the site-wide Referrer-Policy (same-origin) keeps
    # it from other sites. (no-referrer would make browsers send "Origin: null" and fail CSRF.)
    if request.method == "GET":
        return _render(request, "portal/login_link.html")
    user = services.login_link_consume(token=token)
    if user is None:
        return _render(request, "portal/login_link_invalid.html", status=400)
    next_url = request.session.pop(NEXT_KEY, "")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, _("You are signed in."))
    return HttpResponseRedirect(next_url or reverse("portal:cases"))


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.success(request, _("You are signed out."))
    return redirect("portal:landing")


# --- The customer's cases --------------------------------------------------------------------


@never_cache
@require_GET
@customer_required
def cases(request: HttpRequest) -> HttpResponse:
    """The customer's own cases, newest first; htmx asks for the next rows only."""
    user = _customer_user(request)
    assert user is not None
    try:
        page = selectors.portal_cases_page(user=user, cursor=request.GET.get("cursor", ""))
    except ValidationFailed:
        return redirect("portal:cases")
    context = {"page": page}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "portal/partials/case_rows.html", context)
    return _render(request, "portal/cases.html", context)


def _case_page(
    request: HttpRequest,
    case: Case,
    *,
    reply_form: ReplyForm | None = None,
    reopen_form: ReopenForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _customer_user(request)
    assert user is not None
    awaiting_answer = case.first_response_at is None and case.status in OPEN_STATUSES
    return _render(
        request,
        "portal/case.html",
        {
            "case": case,
            "timeline": selectors.portal_case_timeline(case=case),
            "expected": selectors.expected_first_response(case=case) if awaiting_answer else None,
            "can_reply": can_reply_in_portal(user, case),
            "can_confirm": can_confirm_resolution(user, case),
            "can_reopen": can_reopen_case(user, case),
            "reply_form": reply_form or ReplyForm(),
            "reopen_form": reopen_form or ReopenForm(),
        },
        status=status,
    )


@never_cache
@require_GET
@customer_required
def case_detail(request: HttpRequest, number: str) -> HttpResponse:
    return _case_page(request, _load_case(request, number))


@require_POST
@customer_required
def case_reply(request: HttpRequest, number: str) -> HttpResponse:
    """A reply, files, or both."""
    if _too_large(request):
        return _too_large_response(request)
    case = _load_case(request, number)
    user = _customer_user(request)
    assert user is not None
    if not can_reply_in_portal(user, case):
        messages.error(request, _("This case is closed; reopen it to write to us."))
        return redirect("portal:case", number=case.number)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.portal_case_reply(
                user=user,
                case=case,
                body=form.cleaned_data["body"],
                files=form.cleaned_data["attachments"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Thank you, we received your message."))
            return redirect("portal:case", number=case.number)
    return _case_page(request, case, reply_form=form, status=422)


@require_POST
@customer_required
def case_confirm(request: HttpRequest, number: str) -> HttpResponse:
    """The customer accepts the resolution and closes the case."""
    case = _load_case(request, number)
    user = _customer_user(request)
    assert user is not None
    if not can_confirm_resolution(user, case):
        messages.error(request, _("This case cannot be confirmed now."))
        return redirect("portal:case", number=case.number)
    try:
        services.portal_case_confirm(user=user, case=case)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Thank you for confirming. The case is closed."))
    return redirect("portal:case", number=case.number)


@require_POST
@customer_required
def case_reopen(request: HttpRequest, number: str) -> HttpResponse:
    """The customer reopens a resolved (or recently closed) case, optionally saying why."""
    case = _load_case(request, number)
    user = _customer_user(request)
    assert user is not None
    if not can_reopen_case(user, case):
        messages.error(request, _("This case cannot be reopened."))
        return redirect("portal:case", number=case.number)
    form = ReopenForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case, reopen_form=form, status=422)
    try:
        services.portal_case_reopen(user=user, case=case, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The case is open again; we will get back to you."))
    return redirect("portal:case", number=case.number)


@require_GET
@customer_required
def attachment_download(request: HttpRequest, number: str, attachment_id: int) -> HttpResponseBase:
    """A file of the customer's own case, always as a download, never rendered inline."""
    try:
        attachment = get_portal_attachment(request.user, number, attachment_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
