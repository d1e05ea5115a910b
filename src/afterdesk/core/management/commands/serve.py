"""`afterdesk serve`: the production web server (gunicorn) and the background worker.

Both run as child processes; SIGINT or SIGTERM stops both cleanly. With SMTPD=1 in the
environment the SMTP listener (`afterdesk smtpd`) runs as a third child.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from afterdesk.settings.env import env_bool, env_int, env_str

STOP_GRACE_SECONDS = 20


def default_web_workers() -> int:
    return env_int("WEB_CONCURRENCY", min(2 * (os.cpu_count() or 1) + 1, 9), minimum=1)


class Command(BaseCommand):
    help = "Serve Afterdesk with gunicorn, together with the background worker."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=env_str("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=env_int("PORT", 8000, minimum=1))
        parser.add_argument("--workers", type=int, default=None, help="web processes")
        parser.add_argument("--no-worker", action="store_true", help="web server only")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        workers = options["workers"] or default_web_workers()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "afterdesk.settings"}
        web_cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "afterdesk.wsgi:application",
            "--bind",
            f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--max-requests",
            "20000",
            "--max-requests-jitter",
            "2000",
            "--graceful-timeout",
            str(STOP_GRACE_SECONDS - 5),
            "--log-level",
            "warning",
        ]
        access_log = env_str("ACCESS_LOG", "")
        if access_log:
            web_cmd += ["--access-logfile", access_log]
        children: dict[str, subprocess.Popen[bytes]] = {
            "web server": subprocess.Popen(web_cmd, env=env)
        }
        if not options["no_worker"]:
            worker_cmd = [sys.executable, "-m", "afterdesk", "worker"]
            children["worker"] = subprocess.Popen(worker_cmd, env=env)
        smtpd = env_bool("SMTPD", False)
        if smtpd:
            smtpd_cmd = [sys.executable, "-m", "afterdesk", "smtpd"]
            children["SMTP listener"] = subprocess.Popen(smtpd_cmd, env=env)

        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        self.stdout.write(
            f"Afterdesk is serving on http://{host}:{port}/ with {workers} web processes"
            + ("" if options["no_worker"] else " and a background worker")
            + (" and the SMTP listener" if smtpd else "")
            + ". Press Ctrl-C to stop."
        )
        exit_code = 0
        while not stopping:
            for name, child in children.items():
                code = child.poll()
                if code is not None:
                    self.stderr.write(f"The {name} exited with {code}; stopping.")
                    exit_code = code or 1
                    stopping = True
                    break
            time.sleep(0.2)
        _terminate(list(children.values()))
        self.stdout.write("Afterdesk stopped.")
        if exit_code:
            raise CommandError("a child process failed", returncode=exit_code)


def _terminate(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
