"""`afterdesk worker`: run background tasks and periodic sweeps until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import os
import socket
import threading
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from django.utils.module_loading import autodiscover_modules
from django_tasks_db.management.commands.db_worker import Worker

from afterdesk.core.periodic import periodic_enqueue_due

logger = logging.getLogger("afterdesk.worker")


class Command(BaseCommand):
    help = "Run the background worker: queued tasks and periodic sweeps."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="poll seconds")
        parser.add_argument(
            "--schedule-interval", type=float, default=5.0, help="seconds between sweep checks"
        )
        parser.add_argument("--batch", action="store_true", help="exit when the queue is empty")
        parser.add_argument("--no-schedule", action="store_true", help="don't enqueue sweeps")

    def handle(self, *args: Any, **options: Any) -> None:
        autodiscover_modules("tasks")
        worker = Worker(
            queue_names=["*"],
            interval=options["interval"],
            batch=options["batch"],
            backend_name="default",
            startup_delay=not options["batch"],
            max_tasks=None,
            worker_id=f"{socket.gethostname()}-{os.getpid()}"[:64],
            excluded_queue_names=[],
        )
        stop = threading.Event()
        scheduler = None
        if not options["no_schedule"]:
            scheduler = threading.Thread(
                target=_schedule_loop,
                args=(worker, stop, options["schedule_interval"]),
                name="afterdesk-scheduler",
                daemon=True,
            )
            if options["batch"]:
                periodic_enqueue_due()
            else:
                scheduler.start()
        worker.configure_signals()
        self.stdout.write(f"Afterdesk worker {worker.worker_id} started")
        try:
            worker.run()
        finally:
            stop.set()
            if scheduler is not None and scheduler.is_alive():
                scheduler.join(timeout=10)
        self.stdout.write("Afterdesk worker stopped")


def _schedule_loop(worker: Worker, stop: threading.Event, interval: float) -> None:
    try:
        while worker.running and not stop.is_set():
            close_old_connections()
            try:
                periodic_enqueue_due()
            except Exception:
                # A locked or restarting database must not end the schedule.
                logger.exception("Could not enqueue periodic sweeps; retrying")
            stop.wait(interval)
    finally:
        connection.close()
