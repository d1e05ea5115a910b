"""Writes for accounts: API tokens and the user's own preferences."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from afterdesk.accounts.models import ApiToken, User
from afterdesk.core.errors import ValidationFailed

TOKEN_PREFIX = "adk_"
# Don't write last_used_at on every request: once a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def token_digest(raw: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(
    *, user: User, name: str = "", expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token for `user`; return the row and the raw token, which is never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        digest=token_digest(raw),
        expires_at=expires_at,
    )
    return token, raw


def api_token_revoke(*, token: ApiToken) -> None:
    """Revoke a token at once; idempotent."""
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )


def api_token_authenticate(raw: str) -> User | None:
    """The active user a raw token belongs to, or None."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=token_digest(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None or (token.expires_at is not None and token.expires_at <= now):
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def user_set_language(*, user: User, language: str) -> User:
    """Save the user's interface language ("" follows the browser)."""
    allowed = {code for code, _label in User._meta.get_field("language").choices or []}
    if language and language not in allowed:
        raise ValidationFailed(
            _("Unknown language %s.") % language, fields={"language": _("unknown value")}
        )
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user
