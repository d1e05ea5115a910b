"""The SMTP listener (aiosmtpd): accepts mail for the configured support addresses.

It only stores: RCPT TO is accepted for active SMTP mailboxes (550 otherwise), DATA is kept
raw with one INSERT in a worker thread (the messages of concurrent connections together, in
one transaction), and 250 is answered only once that committed. When the database cannot be
reached the answer is 451 (a temporary failure), so the sending server keeps the message and
tries again; nothing is ever acknowledged and then lost. Messages over
INTAKE_MAX_MESSAGE_BYTES are refused with 552 before they are stored.

Run it behind the organisation's MTA (which relays support@… here) or expose it directly
on port 25 with a firewall; it offers no authentication and no relaying.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction

from afterdesk.intake.choices import InboundSource, MailboxKind
from afterdesk.intake.errors import MessageTooLarge
from afterdesk.intake.models import Mailbox
from afterdesk.intake.services import inbound_store, request_processing

logger = logging.getLogger(__name__)

TEMPORARY_FAILURE = "451 4.3.0 Temporary failure; please try again later"
MAILBOX_CACHE_SECONDS = 10.0


ACCEPTED = "250 2.0.0 Message accepted"
TOO_BIG = "552 5.3.4 Message too big"
# Messages stored in one transaction at most.
MAX_GROUP = 32


@dataclass
class _Pending:
    """A message waiting for its turn to be stored, and where its SMTP reply goes."""

    recipients: list[str]
    mail_from: str
    raw: bytes
    loop: asyncio.AbstractEventLoop
    reply: asyncio.Future[str]


def _answer(reply: asyncio.Future[str], text: str) -> None:
    if not reply.done():  # the client may have gone meanwhile
        reply.set_result(text)


class IntakeHandler:
    """aiosmtpd handler: the database work runs in a thread pool, never on the event loop.

    Messages are stored in groups: whatever arrived while the previous group was being
    written (or waited for the SQLite write lock) is stored in the next transaction, each in
    its own savepoint, and every sender is answered once that committed. A busy database
    thus costs one wait for the lock per group, not per message, and each connection waits
    for its 250 no longer than necessary.
    """

    def __init__(self, *, executor: ThreadPoolExecutor | None = None) -> None:
        # SQLite takes one writer at a time: more threads would only queue on its lock.
        threads = 1 if connection.vendor == "sqlite" else 4
        self.executor = executor or ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="smtpd-db"
        )
        self._mailboxes: dict[str, int] = {}
        self._loaded_at: float | None = None
        self._pending: list[_Pending] = []
        self._pending_lock = threading.Lock()
        self._storing = False

    def _cached_mailboxes(self) -> dict[str, int] | None:
        """The mailboxes if read within MAILBOX_CACHE_SECONDS (no thread hop needed)."""
        loaded_at = self._loaded_at
        if loaded_at is None or time.monotonic() - loaded_at > MAILBOX_CACHE_SECONDS:
            return None
        return self._mailboxes

    def _load_mailboxes(self) -> dict[str, int]:
        """Active SMTP mailbox addresses -> ids, re-read every few seconds."""
        cached = self._cached_mailboxes()
        if cached is not None:
            return cached
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

    def _store_pending(self) -> None:
        """Store what is waiting, a group per transaction, until nothing is (one of these
        runs at a time)."""
        try:
            while True:
                with self._pending_lock:
                    group = self._pending[:MAX_GROUP]
                    del self._pending[:MAX_GROUP]
                    if not group:
                        self._storing = False
                        return
                try:
                    replies = self._store_group(group)
                except Exception:
                    logger.exception("Storing messages failed")
                    replies = [TEMPORARY_FAILURE] * len(group)
                for pending, reply in zip(group, replies, strict=True):
                    # RuntimeError: its event loop is closed, the listener is stopping.
                    with contextlib.suppress(RuntimeError):
                        pending.loop.call_soon_threadsafe(_answer, pending.reply, reply)
        except BaseException:
            with self._pending_lock:
                self._storing = False  # the next message starts storing again
            raise

    def _store_group(self, group: list[_Pending]) -> list[str]:
        """Store the messages in one transaction; returns the SMTP reply to each."""
        try:
            mailboxes = self._load_mailboxes()
        except DatabaseError:
            logger.warning("Database unavailable; deferring %d messages", len(group), exc_info=True)
            return [TEMPORARY_FAILURE] * len(group)
        replies = [TEMPORARY_FAILURE] * len(group)
        stored: set[int] = set()
        failed_at: int | None = None
        try:
            close_old_connections()
            with transaction.atomic():
                for index, pending in enumerate(group):
                    # A message for several of our addresses is stored once, under the first.
                    known = [
                        mailboxes[r.lower()] for r in pending.recipients if r.lower() in mailboxes
                    ]
                    if not known:
                        logger.error("No recipient of a message is one of our mailboxes")
                        continue
                    try:
                        inbound_store(
                            mailbox=Mailbox(pk=known[0]),
                            raw=pending.raw,
                            source=InboundSource.SMTP,
                            envelope_from=pending.mail_from,
                            recipients=pending.recipients,
                            request=False,
                        )
                    except MessageTooLarge:
                        replies[index] = TOO_BIG
                        continue
                    except DatabaseError:
                        failed_at = index
                        raise
                    except Exception:
                        # Whatever went wrong, the sender keeps the message and tries again.
                        logger.exception("Storing a message failed")
                        continue
                    replies[index] = ACCEPTED
                    stored.add(known[0])
        except DatabaseError:
            logger.warning("Database error; deferring a message", exc_info=True)
            connection.close()
            if failed_at is None or len(group) == 1:
                return [TEMPORARY_FAILURE] * len(group)
            # The others go in without the one that failed (which its sender sends again).
            others = group[:failed_at] + group[failed_at + 1 :]
            replies = self._store_group(others)
            replies.insert(failed_at, TEMPORARY_FAILURE)
            return replies
        for mailbox_id in sorted(stored):
            try:
                request_processing(mailbox_id=mailbox_id)
            except Exception:
                # The messages are stored; the sweep queues the job that could not be queued.
                logger.warning(
                    "Could not queue processing of mailbox %s", mailbox_id, exc_info=True
                )
                connection.close()
        return replies

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        mailboxes = self._cached_mailboxes()
        if mailboxes is None:
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
        pending = _Pending(
            recipients=list(envelope.rcpt_tos),
            mail_from=envelope.mail_from or "",
            raw=raw,
            loop=loop,
            reply=loop.create_future(),
        )
        with self._pending_lock:
            self._pending.append(pending)
            start, self._storing = not self._storing, True
        if start:
            loop.run_in_executor(self.executor, self._store_pending)
        return await pending.reply


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
