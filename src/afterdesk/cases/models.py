from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from afterdesk.cases.choices import Channel, EventType, Kind, LinkKind, Priority, Status


class Category(models.Model):
    """Two-level taxonomy of what a case is about (R5), e.g. product / dead on arrival."""

    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    code = models.CharField(_("code"), max_length=60, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return self.name_zh if translation.get_language() == "zh-hans" else self.name_en


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class CaseSettings(models.Model):
    """Installation-wide case rules, edited in the admin (one row)."""

    reopen_window_days = models.PositiveSmallIntegerField(
        _("reopen window (days)"),
        default=14,
        help_text=_("A closed case may be reopened this many days after it was resolved."),
    )
    auto_close_days = models.PositiveSmallIntegerField(
        _("auto-close after (days)"),
        default=7,
        help_text=_(
            "A resolved case the customer neither confirms nor reopens is closed after this many "
            "days. 0 turns auto-closing off."
        ),
    )

    class Meta:
        verbose_name = _("case settings")
        verbose_name_plural = _("case settings")

    def __str__(self) -> str:
        return str(_("Case settings"))

    @classmethod
    def current(cls) -> CaseSettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class CaseNumberCounter(models.Model):
    """The last sequence number handed out per day; the row lock serialises numbering."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class Case(models.Model):
    number = models.CharField(_("number"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    # No index of its own on category, customer, owner and department: each leads a composite
    # index in Meta.indexes, which serves its look-ups and foreign-key checks, and every index
    # costs each INSERT of a case.
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="cases",
        db_index=False,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_cases",
        db_index=False,
    )
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        db_index=False,
    )
    order = models.ForeignKey(
        "customers.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    order_ref = models.CharField(_("order reference"), max_length=64, blank=True)
    product_sku = models.CharField(_("product SKU"), max_length=64, blank=True)
    serial = models.CharField(_("serial number"), max_length=100, blank=True)
    amount = models.DecimalField(
        _("amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="cases")
    is_complex = models.BooleanField(_("complex case"), default=False)
    version = models.PositiveIntegerField(_("version"), default=1)
    # Not indexed: nothing looks cases up by their creator (every index costs each INSERT).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        # Every queue filter is followed by the keyset order (created_at, id).
        indexes = [
            models.Index(fields=["status", "created_at", "id"], name="case_status_created"),
            models.Index(fields=["department", "created_at", "id"], name="case_dept_created"),
            models.Index(
                fields=["department", "status", "created_at", "id"], name="case_dept_status"
            ),
            models.Index(fields=["owner", "status", "created_at", "id"], name="case_owner_status"),
            models.Index(fields=["customer", "created_at", "id"], name="case_customer_created"),
            models.Index(fields=["kind", "created_at", "id"], name="case_kind_created"),
            models.Index(fields=["priority", "created_at", "id"], name="case_priority_created"),
            models.Index(fields=["channel", "created_at", "id"], name="case_channel_created"),
            models.Index(fields=["category", "created_at", "id"], name="case_category_created"),
            models.Index(fields=["created_at", "id"], name="case_created"),
            models.Index(fields=["updated_at", "id"], name="case_updated"),
            models.Index(fields=["order_ref"], name="case_order_ref"),
        ]

    def __str__(self) -> str:
        return self.number


class CaseSearch(models.Model):
    """The search document of a case: space-separated tokens (see cases.search).

    SQLite indexes it with the FTS5 table cases_casesearch_fts (kept in sync by triggers),
    PostgreSQL with a GIN index over to_tsvector('simple', tokens); both made by migration.
    """

    case = models.OneToOneField(
        Case, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    tokens = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"search document of case {self.case_id}"


class CaseLink(models.Model):
    """A directed link: `source` is <kind> `target` (e.g. duplicate of)."""

    source = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links_out")
    target = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(max_length=20, choices=LinkKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "kind"], name="uniq_case_link"),
            models.CheckConstraint(
                condition=~models.Q(source=models.F("target")), name="case_link_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.kind} {self.target_id}"


class Message(models.Model):
    """A public reply to the customer or an internal note, from staff or the customer."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_customer = models.BooleanField(default=False)
    internal = models.BooleanField(_("internal note"), default=False)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    body = models.TextField(_("body"))
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="message_case_created")]

    def __str__(self) -> str:
        return f"message {self.pk} on case {self.case_id}"


def attachment_path(instance: Attachment, filename: str) -> str:
    # The stored name is the content hash: no user-chosen path ever reaches the file system.
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=200)
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    internal = models.BooleanField(default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.filename


class AppendOnlyQuerySet(models.QuerySet["CaseEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("Case events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("Case events are append-only")


class CaseEvent(models.Model):
    """Append-only audit trail of a case: old and new values are codes, never labels."""

    # Indexed by event_case_at (case, at, id).
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events", db_index=False)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    by_customer = models.BooleanField(default=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    field = models.CharField(max_length=40, blank=True)
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at", "id"], name="event_case_at")]

    def __str__(self) -> str:
        return f"{self.type} on case {self.case_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise TypeError("Case events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("Case events are append-only")


class QueueCounter(models.Model):
    """How many cases sit in one (department, owner, status) bucket; 0 means none.

    Maintained by the case services in the same transaction as the change (cases.counters),
    so queue tab counts are sums over a handful of rows, never COUNT(*) over the case table.
    `queue_counters_rebuild` recomputes them after bulk imports.
    """

    department_id = models.PositiveBigIntegerField(default=0)
    owner_id = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["department_id", "owner_id", "status"], name="uniq_queue_counter"
            )
        ]
        indexes = [models.Index(fields=["owner_id", "status"], name="queue_counter_owner")]

    def __str__(self) -> str:
        return f"{self.department_id}/{self.owner_id}/{self.status}: {self.count}"


class SavedView(models.Model):
    """A queue with its filters that a staff member saved under a name; shown as a tab."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(_("filters"), max_length=1000, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="uniq_saved_view_name")
        ]

    def __str__(self) -> str:
        return self.name
