"""The include hooks of the RMA app in other apps' templates: the panel on the agent's case
page and the RMA section of the customer's case page. Each renders nothing for cases of other
kinds, so the host templates stay free of RMA logic."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("rma/partials/case_panel.html", takes_context=True)
def rma_case_panel(context: template.Context, case: Any) -> dict[str, Any]:
    from afterdesk.rma.views import panel_context

    request = context["request"]
    values = panel_context(user=request.user, case=case)
    values["request"] = request
    values["csrf_token"] = context.get("csrf_token")
    return values


@register.inclusion_tag("rma/portal/section.html", takes_context=True)
def rma_portal_section(context: template.Context, case: Any) -> dict[str, Any]:
    from afterdesk.rma.portal import section_context

    request = context["request"]
    values = section_context(user=request.user, case=case)
    values["request"] = request
    values["csrf_token"] = context.get("csrf_token")
    return values


@register.inclusion_tag("rma/partials/nav.html", takes_context=True)
def rma_nav(context: template.Context) -> dict[str, Any]:
    from afterdesk.rma.permissions import approvable_roles, can_see_report

    user = context["request"].user
    return {"report": can_see_report(user), "approvals": bool(approvable_roles(user))}
