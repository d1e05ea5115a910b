"""Admin screens of intake: mailboxes, the quarantine (with retry), the outbox, webhook
sources (the secret is shown once, when made or rotated) and the policy windows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from afterdesk.core.errors import DomainError
from afterdesk.intake.choices import InboundState, OutboundState
from afterdesk.intake.models import (
    InboundMessage,
    IntakePolicy,
    Mailbox,
    OutboundMessage,
    PolicyCheck,
    WebhookEvent,
    WebhookSource,
)
from afterdesk.intake.outbox import outbox_retry
from afterdesk.intake.services import inbound_retry
from afterdesk.intake.webhooks import new_secret, webhook_source_rotate

RAW_PREVIEW_BYTES = 64 * 1024


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ["address", "kind", "default_kind", "is_active", "last_fetch_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["address", "display_name"]
    readonly_fields = ["imap_last_uid", "imap_uidvalidity", "last_fetch_at", "last_fetch_error"]
    fieldsets = [
        (None, {"fields": ["address", "kind", "display_name", "default_kind", "is_active"]}),
        (
            gettext_lazy("IMAP"),
            {
                "fields": [
                    "imap_host",
                    "imap_port",
                    "imap_security",
                    "imap_user",
                    "imap_password_env",
                    "imap_folder",
                    "imap_last_uid",
                    "imap_uidvalidity",
                    "last_fetch_at",
                    "last_fetch_error",
                ]
            },
        ),
    ]


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "mailbox", "state", "reason", "sender", "subject", "case"]
    list_filter = ["state", "reason", "mailbox", "source"]
    search_fields = ["sender", "subject", "message_id"]
    date_hierarchy = "received_at"
    actions = ["retry"]
    readonly_fields = INBOUND_FIELDS = [
        "mailbox",
        "source",
        "state",
        "reason",
        "error",
        "message_id",
        "sender",
        "subject",
        "size",
        "attempts",
        "case",
        "notes",
        "envelope_from",
        "envelope_to",
        "imap_uid",
        "received_at",
        "processed_at",
        "raw_preview",
    ]
    fields = list(INBOUND_FIELDS)

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundMessage]:
        return super().get_queryset(request).select_related("mailbox", "case").defer("raw", "html")

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Viewing a message (and running the retry action) needs the change permission.
        return bool(request.user.has_perm("intake.change_inboundmessage"))

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return list(self.readonly_fields)

    @admin.display(description=gettext_lazy("raw message (start)"))
    def raw_preview(self, obj: InboundMessage) -> str:
        raw = InboundMessage.objects.filter(pk=obj.pk).values_list("raw", flat=True).first() or b""
        return bytes(raw[:RAW_PREVIEW_BYTES]).decode("utf-8", "replace")

    @admin.action(description=gettext_lazy("Process the selected quarantined messages again"))
    def retry(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        retried = 0
        for inbound in queryset.filter(state=InboundState.QUARANTINED):
            try:
                inbound_retry(inbound=inbound)
            except DomainError as exc:
                self.message_user(request, f"{inbound.pk}: {exc.message}", messages.WARNING)
            else:
                retried += 1
        self.message_user(request, _("%d message(s) queued for processing again.") % retried)


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "case",
        "kind",
        "sequence",
        "to_email",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["state", "kind"]
    search_fields = ["to_email", "message_id", "case__number"]
    actions = ["retry"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutboundMessage]:
        return super().get_queryset(request).select_related("case")

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.has_perm("intake.change_outboundmessage"))

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in OutboundMessage._meta.fields]

    @admin.action(description=gettext_lazy("Send the selected failed messages again"))
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboundMessage]) -> None:
        failed = list(queryset.filter(state=OutboundState.FAILED))
        for outbound in failed:
            outbox_retry(outbound=outbound)
        self.message_user(request, _("%d message(s) queued again.") % len(failed))


@admin.register(WebhookSource)
class WebhookSourceAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "channel", "is_active", "secret_rotated_at"]
    list_filter = ["channel", "is_active"]
    readonly_fields = ["secret_rotated_at"]
    actions = ["rotate_secret"]

    def save_model(self, request: HttpRequest, obj: WebhookSource, form: Any, change: bool) -> None:
        if not change:
            obj.secret = new_secret()
        super().save_model(request, obj, form, change)
        if not change:
            self._show_secret(request, obj, obj.secret)

    def _show_secret(self, request: HttpRequest, source: WebhookSource, secret: str) -> None:
        self.message_user(
            request,
            _("Secret of %(slug)s (shown only now; give it to the source): %(secret)s")
            % {"slug": source.slug, "secret": secret},
            messages.WARNING,
        )

    @admin.action(description=gettext_lazy("Rotate the secret (the old one stops working)"))
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookSource]) -> None:
        for source in queryset:
            self._show_secret(request, source, webhook_source_rotate(source=source))


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "source", "event_id", "type", "case"]
    list_filter = ["source", "type"]
    search_fields = ["event_id", "case__number"]


@admin.register(IntakePolicy)
class IntakePolicyAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "complaint_days_after_delivery",
        "return_days",
        "exchange_days",
        "updated_at",
    ]


@admin.register(PolicyCheck)
class PolicyCheckAdmin(ReadOnlyAdmin):
    list_display = ["case", "within", "flags", "checked_at"]
    list_filter = ["within"]
    search_fields = ["case__number"]
