"""The SMTP listener (aiosmtpd): accepts mail for the configured support addresses.

It only stores: RCPT TO is accepted for active SMTP mailboxes (550 otherwise), DATA is kept
raw with one INSERT in a worker thread, and 250 is answered only once that committed. When
the database cannot be reached the answer is 451 (a temporary failure), so the sending server
keeps the message and tries again; nothing is ever acknowledged and then lost. Messages over
INTAKE_MAX_MESSAGE_BYTES are refused with 552 before they are stored.

Run it behind the organisation's MTA (which relays support@… here) or expose it directly
on port 25 with a firewall; it offers no authentication and no relaying.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from afterdesk.intake.choices import InboundSource, MailboxKind
from afterdesk.intake.errors import MessageTooLarge
from afterdesk.intake.models import Mailbox
from afterdesk.intake.services import inbound_store

logger = logging.getLogger(__name__)

TEMPORARY_FAILURE = "451 4.3.0 Temporary failure; please try again later"
MAILBOX_CACHE_SECONDS = 10.0


class IntakeHandler:
    """aiosmtpd handler: the database work runs in a thread pool, never on the event loop."""

    def __init__(self, *, executor: ThreadPoolExecutor | None = None) -> None:
        # SQLite takes one writer at a time: more threads would only queue on its lock.
        threads = 1 if connection.vendor == "sqlite" else 4
        self.executor = executor or ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="smtpd-db"
        )
        self._mailboxes: dict[str, int] = {}
        self._loaded_at = 0.0

    def _load_mailboxes(self) -> dict[str, int]:
        """Active SMTP mailbox addresses -> ids, re-read every few seconds."""
        if time.monotonic() - self._loaded_at > MAILBOX_CACHE_SECONDS:
            try:
                close_old_connections()
                self._mailboxes = {
                    address.lower(): pk
                    for pk, address in Mailbox.objects.filter(
                        kind=MailboxKind.SMTP, is_active=True
                    ).values_list("pk", "address")
                }
            except DatabaseError:
                connection.close()
                raise
            self._loaded_at = time.monotonic()
        return self._mailboxes

    def _store(self, recipients: list[str], mail_from: str, raw: bytes) -> None:
        mailboxes = self._load_mailboxes()
        # A message for several of our addresses is stored once, under the first.
        known = [mailboxes[r.lower()] for r in recipients if r.lower() in mailboxes]
        if not known:
            raise ValueError("no recipient is one of our mailboxes")
        pk = known[0]
        try:
            close_old_connections()
            inbound_store(
                mailbox=Mailbox(pk=pk),
                raw=raw,
                source=InboundSource.SMTP,
                envelope_from=mail_from,
                recipients=recipients,
            )
        except DatabaseError:
            connection.close()
            raise

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        loop = asyncio.get_running_loop()
        try:
            mailboxes = await loop.run_in_executor(self.executor, self._load_mailboxes)
        except DatabaseError:
            logger.warning("Database unavailable; deferring RCPT %s", address, exc_info=True)
            return TEMPORARY_FAILURE
        if address.lower() not in mailboxes:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                self.executor, self._store, list(envelope.rcpt_tos), envelope.mail_from or "", raw
            )
        except MessageTooLarge:
            return "552 5.3.4 Message too big"
        except DatabaseError:
            logger.warning("Database unavailable; deferring a message", exc_info=True)
            return TEMPORARY_FAILURE
        except Exception:
            # Whatever went wrong, the sender keeps the message and tries again.
            logger.exception("Storing a message failed")
            return TEMPORARY_FAILURE
        return "250 2.0.0 Message accepted"


def make_controller(*, host: str, port: int, handler: IntakeHandler | None = None) -> Controller:
    """An aiosmtpd Controller (it runs its own event loop in a thread: .start()/.stop())."""
    return Controller(
        handler or IntakeHandler(),
        hostname=host,
        port=port,
        server_hostname=settings.INTAKE_MESSAGE_ID_DOMAIN,
        ident="Afterdesk",
        data_size_limit=settings.INTAKE_MAX_MESSAGE_BYTES,
        enable_SMTPUTF8=True,
        decode_data=False,
    )
