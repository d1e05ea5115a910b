"""Writes of the customer portal: sign-in links, portal users, submissions, replies, decisions.

Case changes go through `afterdesk.cases.services`; the functions here combine them into the
steps a customer takes, each in one transaction.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import secrets
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from afterdesk.accounts.choices import Role
from afterdesk.accounts.models import User
from afterdesk.cases.choices import Channel, Status
from afterdesk.cases.errors import CaseTransitionNotAllowed
from afterdesk.cases.models import Attachment, Case, Message
from afterdesk.cases.services import (
    CaseInput,
    case_add_attachment,
    case_add_message,
    case_create,
    case_transition,
)
from afterdesk.core.errors import ValidationFailed
from afterdesk.customers.choices import Language
from afterdesk.customers.models import Customer
from afterdesk.customers.services import (
    CustomerInput,
    customer_find_by_contact,
    normalize_email,
    validate_email,
)
from afterdesk.portal.models import LoginLink

logger = logging.getLogger(__name__)

# The most files a customer may add in one submission or reply.
FILES_MAX = 5
# Expired links are kept this long (for support questions), then deleted.
LINK_RETENTION = timedelta(days=7)


def login_token_digest(token: str) -> str:
    # Tokens carry 256 bits of randomness: a fast hash is enough, there is no dictionary.
    return hashlib.sha256(token.encode()).hexdigest()


def _ip_or_none(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def login_link_request(*, email: str, requested_ip: str = "") -> LoginLink | None:
    """Send a one-time sign-in link to `email` if it belongs to a customer; else do nothing.

    The caller answers alike in both cases, so nobody learns whether an address is known; the
    token is made either way so that both paths do the same work. The e-mail, in the
    customer's language, goes out after the commit; a mail failure is logged, not raised.
    Returns the stored link, or None when the address is unknown.
    """
    token = secrets.token_urlsafe(32)
    digest = login_token_digest(token)
    try:
        address = validate_email(email)
    except ValidationFailed:
        return None
    customer = customer_find_by_contact(email=address)
    if customer is None:
        return None
    now = timezone.now()
    with transaction.atomic():
        link = LoginLink.objects.create(
            customer=customer,
            digest=digest,
            created_at=now,
            expires_at=now + timedelta(minutes=settings.PORTAL_LINK_TTL_MINUTES),
            requested_ip=_ip_or_none(requested_ip),
        )
        subject, body = _login_link_message(customer=customer, token=token)
        transaction.on_commit(
            partial(_send_quietly, subject=subject, body=body, to=normalize_email(address))
        )
    return link


def _login_link_message(*, customer: Customer, token: str) -> tuple[str, str]:
    language = customer.language if customer.language in Language.values else "zh-hans"
    url = settings.SITE_URL + reverse("portal:login_link", kwargs={"token": token})
    context = {
        "name": customer.name,
        "url": url,
        "minutes": settings.PORTAL_LINK_TTL_MINUTES,
    }
    with translation.override(language):
        subject = render_to_string("portal/email/login_link_subject.txt", context)
        body = render_to_string("portal/email/login_link.txt", context)
    return " ".join(subject.split()), body


def _send_quietly(*, subject: str, body: str, to: str) -> None:
    # A mail server error must not turn into an answer that differs for known addresses.
    try:
        send_mail(subject, body, None, [to])
    except Exception:
        logger.exception("Could not send a portal sign-in link")


def login_link_consume(*, token: str) -> User | None:
    """Use the sign-in link with this token: its customer's portal user, or None.

    The link is claimed with one conditional UPDATE (unused and unexpired), so it works exactly
    once even when clicked twice at the same moment. Using a link also retires the customer's
    other unused links. None for an unknown, used or expired link and for a disabled user.
    """
    if not token or len(token) > 100:
        return None
    digest = login_token_digest(token)
    now = timezone.now()
    with transaction.atomic():
        claimed = LoginLink.objects.filter(
            digest=digest, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if not claimed:
            return None
        link = LoginLink.objects.select_related("customer").get(digest=digest)
        LoginLink.objects.filter(customer_id=link.customer_id, used_at__isnull=True).update(
            used_at=now
        )
        user = customer_user_ensure(customer=link.customer)
    if not user.is_active or user.role != Role.CUSTOMER:
        return None
    return user


def customer_user_ensure(*, customer: Customer) -> User:
    """The portal user of `customer`, created on first sign-in.

    A new user has the role customer, no usable password (customers sign in by e-mail link)
    and the username ``customer-<id>``.
    """
    with transaction.atomic():
        locked = (
            Customer.objects.select_for_update(of=("self",))
            .select_related("user")
            .get(pk=customer.pk)
        )
        if locked.user is not None:
            return locked.user
        username = f"customer-{locked.pk}"
        user = User.objects.filter(username=username).first()
        if user is not None and (
            user.role != Role.CUSTOMER or Customer.objects.filter(user=user).exists()
        ):
            raise ValidationFailed(
                _("The user name %s is taken by another account.") % username,
                code="username_taken",
            )
        if user is None:
            user = User(
                username=username,
                role=Role.CUSTOMER,
                email=locked.email,
                language=locked.language if locked.language in Language.values else "",
            )
            user.set_unusable_password()
            user.save()
        locked.user = user
        locked.save(update_fields=["user"])
    customer.user = user
    return user


def _portal_customer(user: User | None) -> Customer | None:
    if user is None or not user.is_authenticated or user.role != Role.CUSTOMER:
        return None
    return Customer.objects.filter(user=user).first()


def _check_file_count(files: Sequence[UploadedFile]) -> None:
    if len(files) > FILES_MAX:
        raise ValidationFailed(
            _("At most %d files at a time.") % FILES_MAX,
            code="too_many_files",
            fields={"files": _("at most %d") % FILES_MAX},
        )


def _discard_stored(attachments: list[Attachment]) -> None:
    """Delete the files of attachments whose rows were rolled back.

    Each save gets a name of its own from the storage, so no other attachment shares it.
    """
    for attachment in attachments:
        if attachment.file.name:
            attachment.file.storage.delete(attachment.file.name)


def portal_case_submit(
    *, user: User | None, data: CaseInput, photos: Sequence[UploadedFile] = ()
) -> Case:
    """Open a case from the portal form with its photos: all of it, or nothing.

    A signed-in customer's case is filed under their own customer record whatever contact the
    form carried; an anonymous submitter is found or registered by the e-mail or phone given.
    A refused photo (type, size) raises and leaves no case, no customer and no file behind.
    """
    _check_file_count(photos)
    customer = _portal_customer(user)
    actor = user if customer is not None else None
    if customer is not None:
        data = replace(
            data,
            customer=CustomerInput(
                name=customer.name,
                email=customer.email,
                phone=customer.phone,
                language=customer.language,
            ),
        )
    stored: list[Attachment] = []
    try:
        with transaction.atomic():
            case = case_create(
                actor=actor, data=replace(data, channel=Channel.WEB), by_customer=True
            )
            for photo in photos:
                stored.append(
                    case_add_attachment(actor=actor, case=case, upload=photo, by_customer=True)
                )
    except BaseException:
        _discard_stored(stored)
        raise
    return case


def portal_case_reply(
    *, user: User, case: Case, body: str, files: Sequence[UploadedFile] = ()
) -> Message | None:
    """A customer's reply with optional files, or files alone; in one transaction.

    Files sent with a reply belong to that message. A reply to a case waiting for the customer
    puts it back to work (see `case_add_message`). Returns the message, None for files alone.
    """
    _check_file_count(files)
    if not body.strip() and not files:
        raise ValidationFailed(
            _("Write a message or choose a file."),
            code="empty_reply",
            fields={"body": _("required")},
        )
    stored: list[Attachment] = []
    try:
        with transaction.atomic():
            message = None
            if body.strip():
                message = case_add_message(
                    actor=user, case=case, body=body, channel=Channel.WEB, by_customer=True
                )
            for upload in files:
                stored.append(
                    case_add_attachment(
                        actor=user, case=case, upload=upload, by_customer=True, message=message
                    )
                )
    except BaseException:
        _discard_stored(stored)
        raise
    return message


def portal_case_confirm(*, user: User, case: Case) -> Case:
    """The customer accepts the resolution: resolved → closed."""
    return case_transition(actor=user, case=case, to=Status.CLOSED, by_customer=True)


def portal_case_reopen(*, user: User, case: Case, reason: str = "") -> Case:
    """The customer reopens a resolved or recently closed case; the reason becomes a reply."""
    reason = reason.strip()
    with transaction.atomic():
        current = Case.objects.select_for_update().only("status").get(pk=case.pk)
        if current.status not in (Status.RESOLVED, Status.CLOSED):
            # Not a no-op: an open case is not "reopened", and the reason would be a stray reply.
            raise CaseTransitionNotAllowed(
                _("Only a resolved or closed case can be reopened."),
                extra={"status": current.status},
            )
        reopened = case_transition(
            actor=user, case=case, to=Status.OPEN, note=reason, by_customer=True
        )
        if reason:
            case_add_message(
                actor=user, case=reopened, body=reason, channel=Channel.WEB, by_customer=True
            )
    return reopened


def login_links_prune(*, now: datetime | None = None) -> int:
    """Delete sign-in links that expired more than LINK_RETENTION ago."""
    cutoff = (now or timezone.now()) - LINK_RETENTION
    deleted, _by_model = LoginLink.objects.filter(expires_at__lt=cutoff).delete()
    return deleted
