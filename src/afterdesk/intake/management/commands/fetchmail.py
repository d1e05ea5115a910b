"""`afterdesk fetchmail`: poll the IMAP mailboxes, each in its own job."""

from __future__ import annotations

import signal
import threading
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from afterdesk.intake.imap import fetch_mailbox
from afterdesk.intake.selectors import imap_mailboxes
from afterdesk.intake.tasks import intake_fetch_mailbox


class Command(BaseCommand):
    help = (
        "Poll the active IMAP mailboxes: every --interval seconds, enqueue one fetch job per "
        "mailbox for the worker. --once: one round, then exit (cron). --inline: fetch here "
        "instead of enqueueing (no worker needed for the fetch itself)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="one round, then exit")
        parser.add_argument("--interval", type=float, default=60.0, help="seconds between rounds")
        parser.add_argument("--inline", action="store_true", help="fetch in this process")
        parser.add_argument("--mailbox", default="", help="only this address")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        if not options["once"]:

            def request_stop(signum: int, frame: Any) -> None:
                stop.set()

            signal.signal(signal.SIGINT, request_stop)
            signal.signal(signal.SIGTERM, request_stop)
        while True:
            failed = self._round(options)
            if options["once"]:
                if failed:
                    raise CommandError(f"{failed} mailbox(es) could not be fetched")
                return
            if stop.wait(options["interval"]):
                return

    def _round(self, options: dict[str, Any]) -> int:
        failed = 0
        for mailbox in imap_mailboxes(address=options["mailbox"]):
            if not options["inline"]:
                intake_fetch_mailbox.enqueue(mailbox.pk)
                self.stdout.write(f"{mailbox.address}: fetch queued")
                continue
            report = fetch_mailbox(mailbox=mailbox)
            if report.error:
                failed += 1
                self.stderr.write(f"{mailbox.address}: {report.error}")
            else:
                self.stdout.write(
                    f"{mailbox.address}: {report.stored} new, {report.duplicates} already "
                    f"stored, {report.oversize} too large"
                    + (" (skipped: another fetch is running)" if report.skipped else "")
                )
        return failed
