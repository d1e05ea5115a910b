"""Codes of the intake app. Rows and events store these codes, never labels."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class MailboxKind(models.TextChoices):
    SMTP = "smtp", _("SMTP listener")
    IMAP = "imap", _("IMAP mailbox")


class ImapSecurity(models.TextChoices):
    SSL = "ssl", _("SSL/TLS (port 993)")
    STARTTLS = "starttls", _("STARTTLS (port 143)")
    NONE = "none", _("None (loopback only)")


class InboundState(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    QUARANTINED = "quarantined", _("Quarantined")
    IGNORED = "ignored", _("Ignored")


class InboundSource(models.TextChoices):
    SMTP = "smtp", _("SMTP")
    IMAP = "imap", _("IMAP")


class QuarantineReason(models.TextChoices):
    """Why a stored message did not become a case or a reply; an admin may retry it."""

    PARSE_ERROR = "parse_error", _("The message cannot be parsed")
    INVALID_SENDER = "invalid_sender", _("The sender address is missing or invalid")
    SUSPECTED_FORGERY = (
        "suspected_forgery",
        _("A reply to one of our messages from someone who is not a participant of the case"),
    )
    SENDER_RATE = "sender_rate", _("Too many messages from this sender within an hour")
    TOO_LARGE = "too_large", _("The message is larger than the limit")
    PROCESSING_ERROR = "processing_error", _("Processing failed")


class IgnoreReason(models.TextChoices):
    """Why a stored message was deliberately left alone (loop protection)."""

    OWN_MESSAGE = "own_message", _("One of our own messages came back")
    BOUNCE = "bounce", _("A delivery status notification (bounce)")
    AUTO_REPLY = "auto_reply", _("An automatic reply (out of office, autoresponder)")


class OutboundKind(models.TextChoices):
    ACK = "ack", _("Acknowledgement")
    REPLY = "reply", _("Reply")
    NOTIFICATION = "notification", _("Notification")


class OutboundState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SUPPRESSED = "suppressed", _("Not sent (loop protection)")


class WebhookEventType(models.TextChoices):
    CASE_CREATE = "case.create", _("Open a case")
    MESSAGE_CREATE = "message.create", _("Add a customer message to a case")


class PolicyFlag(models.TextChoices):
    """Why a request is outside a policy window (R4)."""

    COMPLAINT_WINDOW = (
        "complaint_window_passed",
        _("The complaint period after delivery has passed"),
    )
    RETURN_WINDOW = "return_window_passed", _("The return period has passed")
    EXCHANGE_WINDOW = "exchange_window_passed", _("The exchange period has passed")
    WARRANTY_EXPIRED = "warranty_expired", _("The warranty has expired")
