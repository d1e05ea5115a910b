"""`afterdesk smtpd`: the SMTP listener for the support addresses, until SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import threading
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from afterdesk.intake.smtp import make_controller


class Command(BaseCommand):
    help = "Receive e-mail for the configured support addresses (SMTP) into intake."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=settings.SMTPD_HOST)
        parser.add_argument("--port", type=int, default=settings.SMTPD_PORT)

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def request_stop(signum: int, frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        controller = make_controller(host=options["host"], port=options["port"])
        controller.start()
        self.stdout.write(
            f"Afterdesk SMTP listener on {options['host']}:{options['port']}", ending="\n"
        )
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            controller.stop()
        self.stdout.write("Afterdesk SMTP listener stopped")
