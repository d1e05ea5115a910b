"""`afterdesk serve`: the production web server (granian) and the background worker.

Both run as child processes; SIGINT or SIGTERM stops both cleanly. With SMTPD=1 in the
environment the SMTP listener (`afterdesk smtpd`) runs as a third child.

granian rather than gunicorn: on a 2-core machine GET /healthz cost 0.81 ms of server CPU per
request under granian (WSGI, one blocking thread per worker) against 1.66 ms under gunicorn's
sync workers, which also answer `Connection: close`, so every request paid a new connection.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from afterdesk.settings.env import env_bool, env_int, env_str

STOP_GRACE_SECONDS = 20
# granian kills a web process that has not finished its requests by then, before serve's own
# deadline, as gunicorn's --graceful-timeout did.
WEB_KILL_TIMEOUT_SECONDS = STOP_GRACE_SECONDS - 5
# Web processes are replaced after this long (the new one starts before the old one stops), so
# a slow leak cannot grow for ever. gunicorn did it every 20,000 requests; granian counts time.
WEB_PROCESS_LIFETIME_SECONDS = 6 * 3600


def default_web_workers() -> int:
    """Web processes: one per core, and at least two.

    Each granian worker runs Django on one thread, so a process per core keeps the cores busy;
    more only add context switches and waiters for the SQLite write lock. On the 2-core
    machine, 16 clients creating cases (bench/run.py): 2 processes 323-334/s at 4.8-5.0 ms
    server CPU per request, 3 processes 272/s at 5.7 ms, 4 processes 264-317/s at 5.0-6.0 ms.
    Every process listens on its own socket (SO_REUSEPORT) and a connection stays with the
    process the kernel gave it to: a slow request holds up the clients whose connections share
    its process, with a single process every client, hence two at least.
    """
    return env_int("WEB_CONCURRENCY", max(2, os.cpu_count() or 1), minimum=1)


def web_server_command(
    *, host: str, port: int, workers: int, access_log_config: Path | None = None
) -> list[str]:
    """The granian command line serving afterdesk.wsgi:application."""
    command = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--http",
        "1",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        # Django runs on one thread per process; more threads would only contend for the GIL.
        "--blocking-threads",
        "1",
        "--respawn-failed-workers",
        "--workers-lifetime",
        str(WEB_PROCESS_LIFETIME_SECONDS),
        "--workers-kill-timeout",
        str(WEB_KILL_TIMEOUT_SECONDS),
        "--log-level",
        "warning",
    ]
    if access_log_config is not None:
        command += ["--access-log", "--log-config", str(access_log_config)]
    return [*command, "afterdesk.wsgi:application"]


def access_log_config(destination: str) -> dict[str, Any]:
    """granian's logging configuration with the access log going to `destination`.

    "-" is standard output (granian's default); anything else is a file, appended to.
    """
    from granian.log import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    if destination != "-":
        config["handlers"]["access"] = {
            "class": "logging.FileHandler",
            "formatter": "access",
            "filename": str(Path(destination).resolve()),
        }
    return config


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


class Command(BaseCommand):
    help = "Serve Afterdesk with granian, together with the background worker."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=env_str("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=env_int("PORT", 8000, minimum=1))
        parser.add_argument("--workers", type=int, default=None, help="web processes")
        parser.add_argument("--no-worker", action="store_true", help="web server only")

    def handle(self, *args: Any, **options: Any) -> None:
        access_log = env_str("ACCESS_LOG", "")
        log_config = None
        if access_log:
            # granian reads its logging configuration from a file, once, when it starts.
            with tempfile.NamedTemporaryFile(
                "w", prefix="afterdesk-granian-log-", suffix=".json", delete=False
            ) as file:
                json.dump(access_log_config(access_log), file)
            log_config = Path(file.name)
        try:
            self._serve(options, log_config)
        finally:
            if log_config is not None:
                log_config.unlink(missing_ok=True)

    def _serve(self, options: dict[str, Any], log_config: Path | None) -> None:
        host, port = options["host"], options["port"]
        workers = options["workers"] or default_web_workers()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "afterdesk.settings"}
        web_cmd = web_server_command(
            host=host, port=port, workers=workers, access_log_config=log_config
        )
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
            f"Afterdesk is serving on {_url(host, port)} with {workers} web processes"
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
