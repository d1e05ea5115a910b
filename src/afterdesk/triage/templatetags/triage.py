"""The include hooks of the triage app in other apps' templates: its panel on the agent's
case page and its links in the workspace navigation."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("triage/partials/case_panel.html", takes_context=True)
def triage_case_panel(context: template.Context, case: Any) -> dict[str, Any]:
    from afterdesk.triage.views import panel_context

    request = context["request"]
    values = panel_context(user=request.user, case=case)
    values["request"] = request
    values["csrf_token"] = context.get("csrf_token")
    return values


@register.inclusion_tag("triage/partials/nav.html", takes_context=True)
def triage_nav(context: template.Context) -> dict[str, Any]:
    from afterdesk.triage.permissions import can_view_triage

    return {"show": can_view_triage(context["request"].user)}
