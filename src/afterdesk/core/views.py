from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from afterdesk import __version__


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers; 503 otherwise. For load balancers and monitoring."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return JsonResponse(
            {"status": "error", "database": "unavailable", "detail": type(exc).__name__},
            status=503,
        )
    return JsonResponse({"status": "ok", "database": connection.vendor, "version": __version__})


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "afterdesk/home.html")
