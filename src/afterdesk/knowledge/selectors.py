"""Reads of the knowledge base: the reply templates that suit a case."""

from __future__ import annotations

from django.db.models import QuerySet

from afterdesk.knowledge.models import ReplyTemplate


def reply_templates_for(*, kind: str, language: str) -> list[ReplyTemplate]:
    """Active templates for a case of `kind`; the customer's language first, then the rest."""
    templates = [t for t in reply_templates_active() if not t.kinds or kind in t.kinds]
    return sorted(templates, key=lambda t: (t.language not in ("", language), t.position, t.name))


def reply_templates_active() -> QuerySet[ReplyTemplate]:
    return ReplyTemplate.objects.filter(is_active=True).order_by("position", "name")


def reply_template_get(*, template_id: int) -> ReplyTemplate | None:
    return reply_templates_active().filter(pk=template_id).first()
