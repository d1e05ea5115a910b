"""The IMAP poller against a real IMAP server: Debian's dovecot-imapd on a loopback port,
started here with its own configuration in a temporary directory.

Without dovecot the tests skip locally and fail under CI=true (.ci/run installs it).
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from afterdesk.cases.models import Case
from afterdesk.intake.imap import fetch_mailbox
from afterdesk.intake.models import InboundMessage, Mailbox
from afterdesk.intake.services import inbound_process

pytestmark = pytest.mark.django_db
PASSWORD_VARIABLE = "AFTERDESK_TEST_IMAP_PASSWORD"


@dataclass
class Dovecot:
    port: int
    directory: Path

    def connect(self, user: str = "support", password: str = "s3cret") -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port)
        client.login(user, password)
        client.select("INBOX")
        return client

    def append(self, raw: bytes, *, seen: bool = False) -> None:
        client = self.connect()
        client.append("INBOX", "(\\Seen)" if seen else None, None, raw)
        client.logout()

    def flags(self) -> dict[int, str]:
        client = self.connect()
        _status, data = client.uid("fetch", "1:*", "(FLAGS)")
        client.logout()
        found = {}
        for line in data:
            if isinstance(line, bytes) and b"UID" in line:
                text = line.decode()
                uid = int(text.split("UID ", 1)[1].split()[0].rstrip(")"))
                found[uid] = text
        return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(directory: Path, port: int) -> str:
    if os.getuid() == 0:
        # Dovecot will not store mail as root: run the mail processes as its own user.
        account = pwd.getpwnam("dovecot")
        user, login = "dovecot", "dovenull"
        os.chown(directory / "mail", account.pw_uid, account.pw_gid)
    else:
        account = pwd.getpwuid(os.getuid())
        user = login = account.pw_name
    group = grp.getgrgid(account.pw_gid).gr_name
    return f"""
base_dir = {directory}/run
state_dir = {directory}/state
log_path = {directory}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{directory}/mail/%u
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = {account.pw_uid}
last_valid_uid = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {directory}/passwd
}}
userdb {{
  driver = static
  args = uid={account.pw_uid} gid={account.pw_gid} home={directory}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    binary = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )
    if binary is None:
        message = "dovecot is not installed (apt-get install dovecot-imapd)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    # Not under pytest's tmp_path: it is private to this user, and dovecot's own users
    # must reach the mail directory.
    directory = Path(tempfile.mkdtemp(prefix="afterdesk-dovecot-"))
    directory.chmod(0o755)
    for name in ("mail", "run", "state"):
        (directory / name).mkdir()
    (directory / "passwd").write_text("support:{PLAIN}s3cret::::::\nother:{PLAIN}0ther::::::\n")
    port = _free_port()
    config = directory / "dovecot.conf"
    config.write_text(_config(directory, port))
    process = subprocess.Popen(
        [binary, "-c", str(config), "-F"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (
                        (directory / "dovecot.log").read_text()
                        if (directory / "dovecot.log").exists()
                        else ""
                    )
                    pytest.fail(f"dovecot did not start:\n{log}")
                time.sleep(0.1)
        yield Dovecot(port=port, directory=directory)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def imap_mailbox(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> Mailbox:
    monkeypatch.setenv(PASSWORD_VARIABLE, "s3cret")
    return Mailbox.objects.create(
        address="service@example.net",
        kind="imap",
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_security="none",
        imap_user="support",
        imap_password_env=PASSWORD_VARIABLE,
    )


def _mail(n: int, subject: str = "Printer jam", **headers: str) -> bytes:
    extra = "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items())
    return (
        f"From: customer{n}@example.org\r\nTo: service@example.net\r\nSubject: {subject} {n}\r\n"
        f"Message-ID: <imap-{n}@example.org>\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Message number {n}.\r\n"
    ).encode()


def _process_all() -> list[str]:
    return [
        inbound_process(inbound_id=pk).state  # type: ignore[union-attr]
        for pk in InboundMessage.objects.order_by("id").values_list("pk", flat=True)
    ]


def test_new_messages_become_cases_and_are_marked_seen_after_storing(
    dovecot: Dovecot, imap_mailbox: Mailbox, departments: object
) -> None:
    dovecot.append(_mail(1))
    dovecot.append(
        "From: 王芳 <wang@example.cn>\r\nSubject: =?utf-8?b?5omT5Y2w5py65Y2h57q4?=\r\nMessage-ID: <imap-2@example.cn>\r\nContent-Type: text/plain; charset=gbk\r\n\r\n".encode()
        + "卡纸了。\r\n".encode("gbk")
    )
    dovecot.append(_mail(3, Auto_Submitted="auto-replied"), seen=True)  # a person read it already

    report = fetch_mailbox(mailbox=imap_mailbox)
    assert (report.stored, report.duplicates, report.error) == (3, 0, "")
    imap_mailbox.refresh_from_db()
    assert (imap_mailbox.imap_last_uid, imap_mailbox.last_fetch_error) == (3, "")
    assert imap_mailbox.imap_uidvalidity and imap_mailbox.fetch_lease_until is None
    assert all("\\Seen" in flags for flags in dovecot.flags().values())
    assert sorted(InboundMessage.objects.values_list("imap_uid", flat=True)) == [1, 2, 3]

    assert _process_all() == ["processed", "processed", "ignored"]
    assert sorted(Case.objects.values_list("subject", flat=True)) == ["Printer jam 1", "打印机卡纸"]
    assert Case.objects.get(subject="打印机卡纸").description == "卡纸了。"

    # Nothing new: nothing fetched. One more: only that one.
    assert fetch_mailbox(mailbox=imap_mailbox).stored == 0
    dovecot.append(_mail(4))
    assert fetch_mailbox(mailbox=imap_mailbox).stored == 1
    assert InboundMessage.objects.count() == 4


def test_a_new_uidvalidity_refetches_without_doubling(
    dovecot: Dovecot, imap_mailbox: Mailbox
) -> None:
    dovecot.append(_mail(1))
    dovecot.append(_mail(2))
    fetch_mailbox(mailbox=imap_mailbox)
    Mailbox.objects.filter(pk=imap_mailbox.pk).update(imap_uidvalidity=1)
    imap_mailbox.refresh_from_db()
    report = fetch_mailbox(mailbox=imap_mailbox)
    assert (report.stored, report.duplicates) == (0, 2)
    assert InboundMessage.objects.count() == 2


@override_settings(INTAKE_MAX_MESSAGE_BYTES=2000)
def test_a_message_over_the_limit_stays_on_the_server_and_is_quarantined(
    dovecot: Dovecot, imap_mailbox: Mailbox
) -> None:
    dovecot.append(_mail(1))
    dovecot.append(_mail(2) + b"x" * 70 + (b"\r\n" + b"x" * 70) * 40)
    report = fetch_mailbox(mailbox=imap_mailbox)
    assert (report.stored, report.oversize) == (1, 1)
    big = InboundMessage.objects.get(imap_uid=2)
    assert (big.state, big.reason, big.message_id, bytes(big.raw)) == (
        "quarantined",
        "too_large",
        "imap-2@example.org",
        b"",
    )
    assert big.size > 2000
    flags = dovecot.flags()
    assert "\\Seen" in flags[1] and "\\Seen" not in flags[2]
    # It is recorded once, however often the mailbox is fetched.
    Mailbox.objects.filter(pk=imap_mailbox.pk).update(imap_last_uid=0)
    imap_mailbox.refresh_from_db()
    fetch_mailbox(mailbox=imap_mailbox)
    assert InboundMessage.objects.filter(imap_uid=2).count() == 1


def test_one_bad_mailbox_does_not_block_the_others(
    dovecot: Dovecot, imap_mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AFTERDESK_TEST_WRONG_PASSWORD", "wrong")
    broken = Mailbox.objects.create(
        address="broken@example.net",
        kind="imap",
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_security="none",
        imap_user="other",
        imap_password_env="AFTERDESK_TEST_WRONG_PASSWORD",
    )
    unset = Mailbox.objects.create(
        address="unset@example.net",
        kind="imap",
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_security="none",
        imap_user="other",
        imap_password_env="AFTERDESK_NO_SUCH_VARIABLE",
    )
    down = Mailbox.objects.create(
        address="down@example.net",
        kind="imap",
        imap_host="127.0.0.1",
        imap_port=_free_port(),
        imap_security="none",
        imap_user="x",
        imap_password_env=PASSWORD_VARIABLE,
    )
    dovecot.append(_mail(1))
    with pytest.raises(CommandError, match="3 mailbox"):
        call_command("fetchmail", "--once", "--inline")
    assert InboundMessage.objects.get().mailbox == imap_mailbox
    for mailbox, error in (
        (broken, "MailboxLoginError"),
        (unset, "AFTERDESK_NO_SUCH_VARIABLE"),
        (down, "ConnectionRefusedError"),
    ):
        mailbox.refresh_from_db()
        assert error in mailbox.last_fetch_error
        assert mailbox.fetch_lease_until is None


def test_fetchmail_queues_one_job_per_mailbox(imap_mailbox: Mailbox) -> None:
    Mailbox.objects.create(address="second@example.net", kind="imap", imap_host="127.0.0.1")
    Mailbox.objects.create(address="off@example.net", kind="imap", is_active=False)
    call_command("fetchmail", "--once")
    jobs = DBTaskResult.objects.filter(task_path="afterdesk.intake.tasks.intake_fetch_mailbox")
    assert sorted(j.args_kwargs["args"][0] for j in jobs) == sorted(
        Mailbox.objects.filter(kind="imap", is_active=True).values_list("pk", flat=True)
    )


def test_a_mailbox_being_fetched_is_not_fetched_twice(imap_mailbox: Mailbox) -> None:
    from afterdesk.intake.services import mailbox_fetch_begin

    assert mailbox_fetch_begin(mailbox=imap_mailbox)
    assert fetch_mailbox(mailbox=imap_mailbox).skipped
