from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from afterdesk.cases.choices import Kind
from afterdesk.knowledge.placeholders import PlaceholderError, placeholders_check


class ReplyTemplate(models.Model):
    """A canned reply (macro) an agent inserts into the composer, then edits and sends."""

    class Language(models.TextChoices):
        ANY = "", _("Any language")
        ZH_HANS = "zh-hans", "简体中文"
        EN = "en", "English"

    name = models.CharField(_("name"), max_length=100)
    body = models.TextField(
        _("body"),
        help_text=_(
            "Placeholders: {customer_name} {case_number} {case_subject} {agent_name} "
            "{order_ref}. Write {{ and }} for literal braces."
        ),
    )
    language = models.CharField(
        _("language"), max_length=10, choices=Language.choices, blank=True, default=""
    )
    # Case kinds the template suits, e.g. ["return", "exchange"]; empty means every kind.
    kinds = models.JSONField(_("case kinds"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            placeholders_check(self.body)
        except PlaceholderError as exc:
            raise ValidationError({"body": str(exc)}) from exc
        unknown = [k for k in self.kinds or [] if k not in Kind.values]
        if not isinstance(self.kinds, list) or unknown:
            raise ValidationError({"kinds": _("A list of case kinds: %s") % ", ".join(Kind.values)})
