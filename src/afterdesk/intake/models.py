"""Intake data: mailboxes, the raw messages they received, the outbox, webhook sources and
their events, and the policy windows checked when a case comes in.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from afterdesk.cases.choices import Channel, Kind
from afterdesk.intake.choices import (
    ImapSecurity,
    InboundSource,
    InboundState,
    MailboxKind,
    OutboundKind,
    OutboundState,
    WebhookEventType,
)


class Mailbox(models.Model):
    """A support address: an SMTP listener address or an existing IMAP mailbox we poll.

    The IMAP password is never stored: `imap_password_env` names the environment variable
    of the worker that holds it, so secrets stay in the deployment, not in the database.
    """

    address = models.CharField(_("address"), max_length=254, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=MailboxKind.choices)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    default_kind = models.CharField(
        _("kind of new cases"), max_length=20, choices=Kind.choices, default=Kind.COMPLAINT
    )
    imap_host = models.CharField(_("IMAP host"), max_length=200, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_security = models.CharField(
        _("IMAP security"), max_length=10, choices=ImapSecurity.choices, default=ImapSecurity.SSL
    )
    imap_user = models.CharField(_("IMAP user"), max_length=200, blank=True)
    imap_password_env = models.CharField(
        _("IMAP password variable"),
        max_length=100,
        blank=True,
        help_text=_("Name of the environment variable that holds the IMAP password."),
    )
    imap_folder = models.CharField(_("IMAP folder"), max_length=200, default="INBOX")
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    imap_last_uid = models.BigIntegerField(default=0, editable=False)
    fetch_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    # A processing job for this mailbox is queued: storing a message queues one only when
    # none is (see services.inbound_store), so a burst of mail makes one job, not thousands.
    processing_requested = models.BooleanField(default=False, editable=False)
    last_fetch_at = models.DateTimeField(_("last fetched"), null=True, blank=True, editable=False)
    last_fetch_error = models.TextField(_("last fetch error"), blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["address"]
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")

    def __str__(self) -> str:
        return self.address


class InboundMessage(models.Model):
    """One received e-mail, stored raw before anything else happens to it.

    The raw bytes live in the row (BinaryField): storing is a single INSERT that either
    committed or did not, so the SMTP listener answers 250 only for a message that is durably
    kept, and deduplication is the unique constraints below. Processing is idempotent: it
    acts only on a row still `received`, under a row lock.
    """

    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="messages")
    source = models.CharField(max_length=10, choices=InboundSource.choices)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True)
    raw_sha256 = models.CharField(max_length=64)
    raw = models.BinaryField(editable=False)
    size = models.PositiveIntegerField(_("size"))
    envelope_from = models.CharField(max_length=254, blank=True)
    envelope_to = models.CharField(max_length=1000, blank=True)
    imap_uid = models.BigIntegerField(null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=12, choices=InboundState.choices, default=InboundState.RECEIVED
    )
    reason = models.CharField(_("reason"), max_length=30, blank=True)
    error = models.TextField(_("error"), blank=True)
    sender = models.CharField(_("sender"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    html = models.TextField(blank=True)  # the sanitised HTML body, when there was one
    notes = models.JSONField(default=dict, blank=True)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_messages",
    )
    case_message = models.ForeignKey(
        "cases.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # A worker that took the message to parse it keeps the others off it until then. Only
    # saves duplicate work: applying checks the state under the lock, whoever claimed it.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    received_at = models.DateTimeField(_("received at"))
    enqueued_at = models.DateTimeField()
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "message_id"],
                condition=~models.Q(message_id=""),
                name="uniq_inbound_message_id",
            ),
            models.UniqueConstraint(fields=["mailbox", "raw_sha256"], name="uniq_inbound_raw"),
        ]
        indexes = [
            # The worker's "next message of this mailbox": no scan over processed mail.
            models.Index(fields=["mailbox", "state", "id"], name="inbound_mailbox_state_id"),
            models.Index(fields=["state", "enqueued_at"], name="inbound_state_enqueued"),
            models.Index(fields=["state", "received_at", "id"], name="inbound_state_received"),
            models.Index(fields=["sender", "received_at"], name="inbound_sender_received"),
            models.Index(fields=["message_id"], name="inbound_message_id"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id or self.raw_sha256[:12]} ({self.state})"


class OutboundMessage(models.Model):
    """An e-mail to a customer, written in the same transaction as the change that causes it.

    The worker renders it on the first attempt (so an acknowledgement shows the SLA due time
    set in that transaction), sends it through Django's mail backend with retries and
    backoff, and never sends `sequence` n+1 of a case before n is sent or given up.
    """

    # Indexed by the unique (case, sequence) constraint, which leads with it.
    case = models.ForeignKey(
        "cases.Case", on_delete=models.CASCADE, related_name="outbound_messages", db_index=False
    )
    case_message = models.ForeignKey(
        "cases.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=15, choices=OutboundKind.choices)
    sequence = models.PositiveIntegerField()
    to_email = models.CharField(_("to"), max_length=254)
    to_name = models.CharField(max_length=200, blank=True)
    # Decided when rendered: the mailbox the case came in through, else DEFAULT_FROM_EMAIL.
    from_email = models.CharField(_("from"), max_length=254, blank=True)
    language = models.CharField(max_length=10)
    context = models.JSONField(default=dict, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=OutboundState.choices, default=OutboundState.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        constraints = [
            models.UniqueConstraint(fields=["case", "sequence"], name="uniq_outbound_sequence")
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="outbound_state_due"),
            # The hourly cap on acknowledgements per address (outbox._over_ack_cap), which
            # compares addresses without regard to case.
            models.Index(Lower("to_email"), "kind", "sent_at", name="outbound_ack_cap"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.sequence} of case {self.case_id} to {self.to_email}"


class WebhookSource(models.Model):
    """A shop, marketplace, social-media or chat platform that posts signed webhooks.

    HMAC verification needs the secret itself, so it is stored (generated here, shown once
    in the admin, rotatable); a digest would not do. `channel` is the channel of its cases.
    """

    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    channel = models.CharField(
        _("channel"), max_length=20, choices=Channel.choices, default=Channel.MARKETPLACE
    )
    secret = models.CharField(max_length=128, editable=False)
    secret_rotated_at = models.DateTimeField(_("secret set at"), null=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("webhook source")
        verbose_name_plural = _("webhook sources")

    def __str__(self) -> str:
        return self.slug


class WebhookEvent(models.Model):
    """A webhook event that was applied: its id makes a replay return the same answer."""

    source = models.ForeignKey(WebhookSource, on_delete=models.PROTECT, related_name="events")
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=WebhookEventType.choices)
    received_at = models.DateTimeField()
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    response = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        constraints = [
            models.UniqueConstraint(fields=["source", "event_id"], name="uniq_webhook_event")
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.event_id}"


class IntakePolicy(models.Model):
    """The acceptance periods of one product line ("" is the default for every other line).

    Repairs are judged against the product's own warranty (Product.warranty_months).
    """

    product_line = models.CharField(
        _("product line"),
        max_length=100,
        unique=True,
        blank=True,
        help_text=_("Empty: the default for product lines without their own policy."),
    )
    complaint_days_after_delivery = models.PositiveSmallIntegerField(
        _("complaints accepted (days after delivery)"), default=90
    )
    return_days = models.PositiveSmallIntegerField(_("return period (days)"), default=7)
    exchange_days = models.PositiveSmallIntegerField(_("exchange period (days)"), default=15)
    basis = models.TextField(_("basis"), blank=True, help_text=_("Where these periods come from."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["product_line"]
        verbose_name = _("intake policy")
        verbose_name_plural = _("intake policies")

    def __str__(self) -> str:
        return self.product_line or str(_("Default policy"))


class PolicyCheck(models.Model):
    """The policy-window check made when a case came in with a known order or product (R4)."""

    case = models.OneToOneField(
        "cases.Case", on_delete=models.CASCADE, primary_key=True, related_name="policy_check"
    )
    checked_at = models.DateTimeField()
    policy = models.ForeignKey(IntakePolicy, null=True, on_delete=models.SET_NULL)
    within = models.BooleanField(_("within the policy windows"))
    flags = models.JSONField(default=list, blank=True)
    windows = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("policy check")
        verbose_name_plural = _("policy checks")

    def __str__(self) -> str:
        return f"policy check of case {self.case_id}: {'ok' if self.within else self.flags}"
