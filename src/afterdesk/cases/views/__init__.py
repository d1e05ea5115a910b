"""Case pages: public tracking and the agent workspace (/desk/).

Thin: parse, load with permission, one service or selector, render. The workspace views are
wrapped by `workspace_required` (staff only; NotFound → 404, PermissionDenied → 403); htmx
requests get the fragment (a template partial) of the same URL.
"""

from afterdesk.cases.views.call import log_call
from afterdesk.cases.views.case import (
    case_assign,
    case_detail,
    case_edit,
    case_link,
    case_reply,
    case_transition,
    reply_template_text,
)
from afterdesk.cases.views.queue import (
    bulk,
    queue,
    saved_view_create,
    saved_view_delete,
    search,
)
from afterdesk.cases.views.track import track

__all__ = [
    "bulk",
    "case_assign",
    "case_detail",
    "case_edit",
    "case_link",
    "case_reply",
    "case_transition",
    "log_call",
    "queue",
    "reply_template_text",
    "saved_view_create",
    "saved_view_delete",
    "search",
    "track",
]
