"""The IMAP poller: copy new messages of an existing mailbox into intake (imap-tools).

Each mailbox is fetched in its own job, so one that is down, refuses the login or holds a
monster message never blocks another. A fetch takes the messages above the last UID stored
(per UIDVALIDITY, so messages a person already read in a mail client are not missed), stores
each raw message, then marks them seen — after the store committed. Messages over the size
limit are not downloaded: they are recorded in quarantine and stay on the server.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from django.conf import settings
from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.consts import MailMessageFlags
from imap_tools.message import MailMessage

from afterdesk.intake.choices import ImapSecurity, InboundSource
from afterdesk.intake.models import Mailbox
from afterdesk.intake.parsing import normalize_message_id
from afterdesk.intake.services import (
    inbound_record_oversize,
    inbound_store,
    mailbox_fetch_begin,
    mailbox_fetch_end,
    mailbox_fetch_progress,
)

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 60
CHUNK = 25
MAX_PER_FETCH = 1000
_MESSAGE_ID = re.compile(rb"(?im)^message-id:[ \t]*(.+)$")


class RawMessage(MailMessage):
    """A fetched message as raw bytes and UID only (imap-tools would parse it; we store it)."""

    def __init__(self, fetch_data: list) -> None:  # type: ignore[type-arg]
        raw, uid_data, flag_data = self._get_message_data_parts(fetch_data)
        self._raw_uid_data = uid_data
        self._raw_flag_data = flag_data
        self.raw: bytes = raw


@dataclass
class FetchReport:
    stored: int = 0
    duplicates: int = 0
    oversize: int = 0
    skipped: bool = False
    error: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class FetchError(Exception):
    pass


def _password(mailbox: Mailbox) -> str:
    if not mailbox.imap_password_env:
        raise FetchError(f"mailbox {mailbox.address} names no password variable")
    password = os.environ.get(mailbox.imap_password_env)
    if password is None:
        raise FetchError(f"environment variable {mailbox.imap_password_env} is not set")
    return password


def _client(mailbox: Mailbox) -> BaseMailBox:
    if mailbox.imap_security == ImapSecurity.SSL:
        client: BaseMailBox = MailBox(mailbox.imap_host, mailbox.imap_port, timeout=TIMEOUT_SECONDS)
    elif mailbox.imap_security == ImapSecurity.STARTTLS:
        client = MailBoxStartTls(mailbox.imap_host, mailbox.imap_port, timeout=TIMEOUT_SECONDS)
    else:
        client = MailBoxUnencrypted(mailbox.imap_host, mailbox.imap_port, timeout=TIMEOUT_SECONDS)
    client.email_message_class = RawMessage  # type: ignore[assignment]
    return client


def _chunks(values: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _uidvalidity(client: BaseMailBox) -> int:
    _status, data = client.client.response("UIDVALIDITY")
    try:
        return int(data[0]) if data and data[0] is not None else 0
    except (TypeError, ValueError):
        return 0


def _headers_of(client: BaseMailBox, uids: list[int]) -> dict[int, tuple[int, str]]:
    """uid -> (size, Message-ID), from headers only."""
    found: dict[int, tuple[int, str]] = {}
    for message in client.fetch(
        uid_list=[str(u) for u in uids], headers_only=True, mark_seen=False, bulk=CHUNK
    ):
        assert isinstance(message, RawMessage)
        if message.uid is None:
            continue
        match = _MESSAGE_ID.search(message.raw)
        message_id = (
            normalize_message_id(match.group(1).decode("ascii", "replace")) if match else ""
        )
        found[int(message.uid)] = (message.size_rfc822, message_id)
    return found


def fetch_mailbox(*, mailbox: Mailbox) -> FetchReport:
    """Store the new messages of one IMAP mailbox; never raises (the error is recorded on the
    mailbox and returned)."""
    report = FetchReport()
    if not mailbox_fetch_begin(mailbox=mailbox):
        report.skipped = True
        return report
    try:
        _fetch(mailbox, report)
    except Exception as exc:
        report.error = f"{type(exc).__name__}: {exc}"
        logger.warning("Fetching %s failed: %s", mailbox.address, report.error)
    finally:
        mailbox_fetch_end(mailbox=mailbox, error=report.error)
    return report


def _fetch(mailbox: Mailbox, report: FetchReport) -> None:
    limit = settings.INTAKE_MAX_MESSAGE_BYTES
    with _client(mailbox) as client:
        client.login(mailbox.imap_user, _password(mailbox), initial_folder=None)
        client.folder.set(mailbox.imap_folder)
        uidvalidity = _uidvalidity(client)
        last_uid = mailbox.imap_last_uid if uidvalidity == mailbox.imap_uidvalidity else 0
        # "UID n:*" always answers the highest UID, even below n: filter again here.
        uids = sorted(int(u) for u in client.uids(f"UID {last_uid + 1}:*") if int(u) > last_uid)
        for chunk in _chunks(uids[:MAX_PER_FETCH], CHUNK):
            headers = _headers_of(client, chunk)
            wanted = [u for u in chunk if u in headers and headers[u][0] <= limit]
            for uid in chunk:
                if uid in headers and headers[uid][0] > limit:
                    inbound_record_oversize(
                        mailbox=mailbox,
                        size=headers[uid][0],
                        imap_uid=uid,
                        message_id=headers[uid][1],
                    )
                    report.oversize += 1
            stored: list[int] = []
            if wanted:
                for message in client.fetch(
                    uid_list=[str(u) for u in wanted], mark_seen=False, bulk=CHUNK
                ):
                    assert isinstance(message, RawMessage)
                    if message.uid is None:
                        continue
                    result = inbound_store(
                        mailbox=mailbox,
                        raw=message.raw,
                        source=InboundSource.IMAP,
                        imap_uid=int(message.uid),
                    )
                    report.stored += int(result.created)
                    report.duplicates += int(not result.created)
                    stored.append(int(message.uid))
            if stored:
                # Only now, with every message of the chunk committed, mark them seen.
                client.flag([str(u) for u in stored], MailMessageFlags.SEEN, True)
            mailbox_fetch_progress(mailbox=mailbox, uidvalidity=uidvalidity, last_uid=chunk[-1])
