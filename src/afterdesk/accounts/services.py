"""Writes for accounts: API tokens and the user's own preferences."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from afterdesk.accounts.models import ApiToken, User
from afterdesk.core import fastsql
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
    """The active user a raw token belongs to, or None.

    Runs on every API request, so its one query is written out (core.fastsql): the ORM's
    compilation of the same join cost ten times the query itself.
    """
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    now = timezone.now()
    token_columns = fastsql.columns(ApiToken, "t")
    user_columns = fastsql.columns(User, "u")
    rows = fastsql.fetch(
        f"SELECT {token_columns.sql}, {user_columns.sql}"  # noqa: S608 - no user input
        f" FROM {fastsql.table(ApiToken)} t JOIN {fastsql.table(User)} u ON u.id = t.user_id"
        " WHERE t.digest = %s AND t.revoked_at IS NULL AND u.is_active = %s",
        [token_digest(raw), True],
    )
    if not rows:
        return None
    token = token_columns.build(rows[0])
    if token.expires_at is not None and token.expires_at <= now:
        return None
    user = user_columns.build(rows[0], token_columns.width)
    token.user = user
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return user


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
