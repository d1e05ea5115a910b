"""API tokens: bearer authentication, revocation, expiry, hashed storage, and the CLI."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from afterdesk.accounts.models import ApiToken
from afterdesk.accounts.services import (
    LAST_USED_RESOLUTION,
    api_token_create,
    api_token_revoke,
    token_digest,
)

pytestmark = pytest.mark.django_db

PROTECTED = "/api/v1/cases"


def _assert_unauthorized(response) -> None:
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response["WWW-Authenticate"] == "Bearer"


def test_valid_token_authenticates(api_raw, agent):
    _token, raw = api_token_create(user=agent)

    response = api_raw(raw).get(PROTECTED)

    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


def test_no_token_is_401(api_raw, agent):
    _assert_unauthorized(api_raw(None).get(PROTECTED))


@pytest.mark.parametrize(
    "header",
    [
        "Bearer garbage",
        "Bearer adk_garbage",
        "Bearer adk_" + "x" * 43,
        "Bearer ",
        "Basic YWdlbnQ6cHctYWdlbnQ=",
        "adk_nobearerword",
        "Bearer adk_" + "x" * 200,
    ],
)
def test_garbage_authorization_is_401(client, agent, header):
    _assert_unauthorized(client.get(PROTECTED, HTTP_AUTHORIZATION=header))


def test_token_of_another_shape_with_the_right_digest_is_refused(api_raw, agent):
    # Only the raw token authenticates; its digest is not a credential.
    token, _raw = api_token_create(user=agent)

    _assert_unauthorized(api_raw(token.digest).get(PROTECTED))


def test_revoked_token_is_401(api_raw, agent):
    token, raw = api_token_create(user=agent)
    client = api_raw(raw)
    assert client.get(PROTECTED).status_code == 200

    api_token_revoke(token=token)

    _assert_unauthorized(client.get(PROTECTED))
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_revoking_twice_keeps_the_first_time(agent):
    token, _raw = api_token_create(user=agent)
    api_token_revoke(token=token)
    token.refresh_from_db()
    first = token.revoked_at

    api_token_revoke(token=token)

    token.refresh_from_db()
    assert token.revoked_at == first


def test_expired_token_is_401(api_raw, agent):
    _token, raw = api_token_create(user=agent, expires_at=timezone.now() - timedelta(seconds=1))

    _assert_unauthorized(api_raw(raw).get(PROTECTED))


def test_token_expiring_later_still_works(api_raw, agent):
    _token, raw = api_token_create(user=agent, expires_at=timezone.now() + timedelta(hours=1))

    assert api_raw(raw).get(PROTECTED).status_code == 200


def test_token_of_an_inactive_user_is_401(api_raw, agent):
    _token, raw = api_token_create(user=agent)
    agent.is_active = False
    agent.save(update_fields=["is_active"])

    _assert_unauthorized(api_raw(raw).get(PROTECTED))


def test_tokens_are_stored_hashed(agent):
    token, raw = api_token_create(user=agent, name="ci")

    assert token.digest != raw
    assert token.digest == token_digest(raw)
    assert raw.startswith("adk_") and len(raw) >= 40
    assert token.prefix == raw[:10]
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert raw not in [str(value) for value in row.values()]
    assert not any(raw in str(value) for value in row.values())
    assert not ApiToken.objects.filter(digest=raw).exists()
    assert not ApiToken.objects.filter(prefix=raw).exists()


def test_each_token_is_new(agent):
    raws = {api_token_create(user=agent)[1] for _ in range(5)}

    assert len(raws) == 5
    assert ApiToken.objects.filter(user=agent).count() == 5


def test_last_used_is_recorded_at_most_once_per_resolution(api_raw, agent):
    token, raw = api_token_create(user=agent)
    client = api_raw(raw)

    client.get(PROTECTED)
    token.refresh_from_db()
    first = token.last_used_at
    client.get(PROTECTED)
    token.refresh_from_db()

    assert first is not None
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(
        last_used_at=first - LAST_USED_RESOLUTION - timedelta(seconds=1)
    )
    client.get(PROTECTED)
    token.refresh_from_db()
    assert token.last_used_at > first - LAST_USED_RESOLUTION


# --- `afterdesk token` ------------------------------------------------------------------------


def test_token_create_prints_only_a_working_token(api_raw, agent):
    out = StringIO()

    call_command("token", "create", "agent", stdout=out)

    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    raw = lines[0]
    assert raw.startswith("adk_")
    assert raw == raw.strip()
    token = ApiToken.objects.get(user=agent)
    assert token.digest == token_digest(raw) != raw
    assert api_raw(raw).get(PROTECTED).status_code == 200


def test_token_create_for_an_unknown_or_inactive_user_fails(agent):
    agent.is_active = False
    agent.save(update_fields=["is_active"])

    with pytest.raises(CommandError):
        call_command("token", "create", "nobody", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("token", "create", "agent", stdout=StringIO())
    assert ApiToken.objects.count() == 0


def test_token_list_shows_prefixes_never_tokens(agent):
    _token, raw = api_token_create(user=agent, name="ci")
    out = StringIO()

    call_command("token", "list", "agent", stdout=out)

    assert raw not in out.getvalue()
    assert out.getvalue().startswith(raw[:10] + "…\tci\tactive\t")


def test_token_revoke_by_prefix(api_raw, agent):
    token, raw = api_token_create(user=agent)
    out = StringIO()

    call_command("token", "revoke", token.prefix, stdout=out)

    assert out.getvalue().strip() == "Revoked 1 token(s)"
    _assert_unauthorized(api_raw(raw).get(PROTECTED))
    with pytest.raises(CommandError):
        call_command("token", "revoke", token.prefix, stdout=StringIO())
