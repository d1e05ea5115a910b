"""`afterdesk token create USERNAME` prints a new API token (and nothing else);
`afterdesk token revoke PREFIX` revokes tokens by their prefix; `afterdesk token list USERNAME`."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from afterdesk.accounts.models import ApiToken, User
from afterdesk.accounts.services import api_token_create, api_token_revoke


class Command(BaseCommand):
    help = "Create, list or revoke API tokens."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="print a new token for USERNAME")
        create.add_argument("username")
        create.add_argument("--name", default="")
        listing = sub.add_parser("list", help="list USERNAME's tokens (prefixes only)")
        listing.add_argument("username")
        revoke = sub.add_parser("revoke", help="revoke the token with this prefix")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            user = self._user(options["username"])
            _token, raw = api_token_create(user=user, name=options["name"] or "cli")
            self.stdout.write(raw)
        elif action == "list":
            user = self._user(options["username"])
            for token in user.api_tokens.order_by("created_at"):
                state = "revoked" if token.revoked_at else "active"
                self.stdout.write(
                    f"{token.prefix}…\t{token.name}\t{state}\t{token.created_at:%Y-%m-%d}"
                )
        else:
            tokens = list(
                ApiToken.objects.filter(prefix=options["prefix"], revoked_at__isnull=True)
            )
            if not tokens:
                raise CommandError(f"No active token with prefix {options['prefix']}")
            for token in tokens:
                api_token_revoke(token=token)
            self.stdout.write(f"Revoked {len(tokens)} token(s)")

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username}")
        if not user.is_active:
            raise CommandError(f"User {username} is not active")
        return user
