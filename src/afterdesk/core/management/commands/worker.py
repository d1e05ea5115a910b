"""`afterdesk worker`: run background tasks and periodic sweeps until SIGTERM/SIGINT.

It runs WORKER_PROCESSES processes (by default two on a machine with two cores or more): this
one, which also schedules the sweeps, and helpers it starts, stops with itself and starts
again should one die. Each takes queued tasks on its own (the queue hands every task to
exactly one), so a burst of mail is parsed on two cores while acknowledgements go out and
sweeps run. Helpers notice when this process is gone and stop too.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from argparse import SUPPRESS, ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection
from django.utils.module_loading import autodiscover_modules
from django_tasks_db.management.commands.db_worker import Worker

from afterdesk.core.periodic import periodic_enqueue_due
from afterdesk.settings.env import env_int

logger = logging.getLogger("afterdesk.worker")

# How long stopping waits for the helpers to finish their task before killing them (within
# the 20 seconds `afterdesk serve` gives the worker).
HELPER_STOP_SECONDS = 15.0
# A helper that died is started again, at most this often.
HELPER_RESTART_SECONDS = 5.0


def default_processes() -> int:
    """WORKER_PROCESSES, else two where there are two cores or more."""
    return env_int("WORKER_PROCESSES", min(2, os.cpu_count() or 1), minimum=1)


class Command(BaseCommand):
    help = "Run the background worker: queued tasks and periodic sweeps."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="poll seconds")
        parser.add_argument(
            "--schedule-interval", type=float, default=5.0, help="seconds between sweep checks"
        )
        parser.add_argument("--batch", action="store_true", help="exit when the queue is empty")
        parser.add_argument("--no-schedule", action="store_true", help="don't enqueue sweeps")
        parser.add_argument(
            "--processes",
            type=int,
            default=None,
            help="worker processes (default: WORKER_PROCESSES, else 2 with 2 or more cores); "
            "--batch runs one",
        )
        # Internal: a helper started by another worker process, which it watches.
        parser.add_argument("--parent-pid", type=int, default=None, help=SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        processes = options["processes"] or default_processes()
        if processes < 1:
            raise CommandError("--processes must be at least 1")
        if options["batch"] or options["parent_pid"]:
            processes = 1
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
        helpers = _Helpers(
            count=processes - 1,
            command=[
                sys.executable,
                "-m",
                "afterdesk",
                "worker",
                "--interval",
                str(options["interval"]),
                "--parent-pid",
                str(os.getpid()),
            ],
        )
        threads = []
        if not options["no_schedule"] and not options["parent_pid"]:
            if options["batch"]:
                periodic_enqueue_due()
            else:
                threads.append(
                    threading.Thread(
                        target=_schedule_loop,
                        args=(worker, stop, options["schedule_interval"]),
                        name="afterdesk-scheduler",
                        daemon=True,
                    )
                )
        if options["parent_pid"]:
            threads.append(
                threading.Thread(
                    target=_watch_parent,
                    args=(options["parent_pid"], stop),
                    name="afterdesk-parent-watch",
                    daemon=True,
                )
            )
        if helpers.count:
            threads.append(
                threading.Thread(
                    target=helpers.supervise,
                    args=(worker, stop),
                    name="afterdesk-helpers",
                    daemon=True,
                )
            )
        worker.configure_signals()
        helpers.start()
        for thread in threads:
            thread.start()
        suffix = f" with {helpers.count} helper process(es)" if helpers.count else ""
        self.stdout.write(f"Afterdesk worker {worker.worker_id} started{suffix}")
        try:
            worker.run()
        finally:
            stop.set()
            helpers.stop()
            for thread in threads:
                if thread.is_alive():
                    thread.join(timeout=10)
        self.stdout.write("Afterdesk worker stopped")


class _Helpers:
    """The helper worker processes of this one."""

    def __init__(self, *, count: int, command: list[str]) -> None:
        self.count = count
        self.command = command
        self.processes: list[subprocess.Popen[bytes]] = []
        self.lock = threading.Lock()

    def _spawn(self) -> subprocess.Popen[bytes]:
        # A session of its own: Ctrl+C in a terminal reaches this process, which stops the
        # helpers with SIGTERM, and not the helpers twice (a second signal aborts a task).
        return subprocess.Popen(self.command, start_new_session=True)

    def start(self) -> None:
        with self.lock:
            self.processes = [self._spawn() for _ in range(self.count)]

    def supervise(self, worker: Worker, stop: threading.Event) -> None:
        """Start a helper again when it died (not when this process is stopping)."""
        while not stop.wait(HELPER_RESTART_SECONDS):
            with self.lock:
                if stop.is_set() or not worker.running:
                    return
                for index, process in enumerate(self.processes):
                    code = process.poll()
                    if code is not None:
                        logger.warning(
                            "Worker helper %s exited (%s); starting it again", process.pid, code
                        )
                        self.processes[index] = self._spawn()

    def stop(self) -> None:
        with self.lock:
            for process in self.processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + HELPER_STOP_SECONDS
            for process in self.processes:
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    logger.warning("Worker helper %s did not stop; killing it", process.pid)
                    process.kill()
                    process.wait()


def _watch_parent(parent_pid: int, stop: threading.Event) -> None:
    """Stop this helper (as SIGTERM would) once the process that started it is gone."""
    while not stop.wait(1.0):
        if os.getppid() != parent_pid:
            logger.warning("Worker %s is gone; stopping", parent_pid)
            os.kill(os.getpid(), signal.SIGTERM)
            return


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
