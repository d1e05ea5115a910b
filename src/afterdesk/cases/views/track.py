"""Tracking a case by number and contact, without logging in."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from afterdesk.cases import selectors
from afterdesk.cases.choices import Status
from afterdesk.cases.forms import TrackForm
from afterdesk.cases.tracking import case_track
from afterdesk.core.errors import NotFound
from afterdesk.core.ratelimit import client_address, rate_limit_hit


@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    """Track a case by number and e-mail/phone, without logging in (rate-limited)."""
    form = TrackForm(request.POST or None)
    context: dict[str, object] = {"form": form}
    status = 200
    if request.method == "POST" and form.is_valid():
        if rate_limit_hit(
            scope="track",
            key=client_address(request),
            limit=settings.TRACK_RATE_LIMIT_PER_MINUTE,
        ):
            context["error"] = _("Too many tracking requests; wait a minute and try again.")
            status = 429
        else:
            try:
                case = case_track(
                    number=form.cleaned_data["number"], contact=form.cleaned_data["contact"]
                )
            except NotFound as exc:
                context["error"] = exc.message
                status = 404
            else:
                labels = dict(Status.choices)
                timeline = selectors.case_public_timeline(case=case)
                for entry in timeline:
                    if entry.get("status"):
                        entry["status_label"] = labels.get(str(entry["status"]), entry["status"])
                context.update(case=case, timeline=timeline)
    return render(request, "cases/track.html", context, status=status)
