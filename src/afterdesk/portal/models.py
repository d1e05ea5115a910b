from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from afterdesk.cases.choices import Priority


class PortalSettings(models.Model):
    """What the portal promises a customer who submits a request (one row, edited in the admin).

    The expected first-response times apply when no SLA policy gives the case a due time.
    """

    response_hours_urgent = models.PositiveSmallIntegerField(
        _("expected response, urgent (hours)"), default=1
    )
    response_hours_high = models.PositiveSmallIntegerField(
        _("expected response, high (hours)"), default=4
    )
    response_hours_normal = models.PositiveSmallIntegerField(
        _("expected response, normal (hours)"), default=24
    )
    response_hours_low = models.PositiveSmallIntegerField(
        _("expected response, low (hours)"), default=48
    )

    class Meta:
        verbose_name = _("portal settings")
        verbose_name_plural = _("portal settings")

    def __str__(self) -> str:
        return str(_("Portal settings"))

    @classmethod
    def current(cls) -> PortalSettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj

    def response_hours(self, priority: str) -> int:
        """The expected first-response time of a case of this priority, in hours."""
        by_priority: dict[str, int] = {
            Priority.URGENT: self.response_hours_urgent,
            Priority.HIGH: self.response_hours_high,
            Priority.NORMAL: self.response_hours_normal,
            Priority.LOW: self.response_hours_low,
        }
        return by_priority.get(priority, self.response_hours_normal)


class LoginLink(models.Model):
    """A one-time sign-in link sent by e-mail.

    Only the SHA-256 digest of the token is stored; the token itself exists only in the e-mail.
    A link works once (`used_at`) and only until `expires_at`.
    """

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="login_links",
    )
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    requested_ip = models.GenericIPAddressField(_("requested from"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in link")
        verbose_name_plural = _("sign-in links")
        indexes = [
            models.Index(fields=["customer", "created_at"], name="loginlink_customer_created"),
            models.Index(fields=["expires_at"], name="loginlink_expires"),
        ]

    def __str__(self) -> str:
        return f"sign-in link {self.pk} of customer {self.customer_id}"
