"""The WSGI application `afterdesk serve` runs under granian.

granian, like wsgiref, starts every request's environ from a copy of the process environment,
with the request's own values on top. Django would then carry SECRET_KEY, DATABASE_URL and
the other settings variables in request.META, where error reports show them, and a variable
named like an absent header (HTTP_X_FORWARDED_FOR) would pose as one. `application` drops
what came from the process environment, so request.META holds the request alone, as under
gunicorn.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core.wsgi import get_wsgi_application

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# What the server sets on every request itself; the process environment never decides these.
SERVER_KEYS = frozenset(
    {
        "GATEWAY_INTERFACE",
        "PATH_INFO",
        "QUERY_STRING",
        "REMOTE_ADDR",
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "SERVER_SOFTWARE",
    }
)


def without_process_environment(
    app: WSGIApplication, environment: Mapping[str, str]
) -> WSGIApplication:
    """`app`, called with the environ minus the entries copied from `environment`."""
    copied = {key: value for key, value in environment.items() if key not in SERVER_KEYS}

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        for key, value in copied.items():
            # A request header of the same name and value cannot be told apart; it goes too.
            if environ.get(key) == value:
                del environ[key]
        return app(environ, start_response)

    return application


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "afterdesk.settings")
# granian copies the environment once its worker has loaded this module: the same variables.
application = without_process_environment(get_wsgi_application(), dict(os.environ))
