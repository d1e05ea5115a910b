"""`afterdesk smtpd` and `afterdesk worker` as real processes on a file SQLite database.

- mail sent with smtplib to the running listener becomes cases through the worker;
- the worker killed (SIGKILL) after it claimed a message and before it committed: after a
  restart that message becomes exactly one case, like every other;
- two workers working through one backlog at once (on SQLite and on PostgreSQL) make exactly
  one case of each message, and a worker of two processes takes mail to cases;
- with the database unreachable the listener answers 451, and it stops cleanly on SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[4]
pytestmark = pytest.mark.slow

# The worker, with processing slowed down inside its transaction so that it can be killed
# between claiming a message and committing its case (SLOW_APPLY_SECONDS), or its parsing,
# outside any transaction (SLOW_PARSE_SECONDS).
SLOW_WORKER = """
import os, time
import django
django.setup()
from afterdesk.intake import services
original = services._apply
def slow_apply(*args, **kwargs):
    time.sleep(float(os.environ.get("SLOW_APPLY_SECONDS", "0")))
    return original(*args, **kwargs)
services._apply = slow_apply
original_parse = services.parse_message
def slow_parse(raw):
    time.sleep(float(os.environ.get("SLOW_PARSE_SECONDS", "0")))
    return original_parse(raw)
services.parse_message = slow_parse
from django.core.management import call_command
call_command("worker", "--interval", "0.2", "--schedule-interval", "0.5", "--processes", "1")
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(tmp_path: Path, database_url: str | None = None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "MEDIA_ROOT"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="afterdesk.settings",
        DATABASE_URL=database_url or f"sqlite:///{tmp_path / 'intake.sqlite3'}",
        AFTERDESK_VAR_DIR=str(tmp_path / "var"),
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        INTAKE_STUCK_AFTER_SECONDS="2",
        INTAKE_SWEEP_INTERVAL_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def _query(db: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute(sql, params).fetchall()


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 20) -> int:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"nothing listens on {port}:\n{log.read_text()}")


def _wait(condition: object, what: str, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-5000:]}")


def _message(n: int) -> bytes:
    return (
        f"From: Customer {n} <customer{n}@example.org>\r\nTo: support@example.com\r\n"
        f"Subject: Broken item {n}\r\nMessage-ID: <process-{n}@example.org>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\nItem {n} arrived broken.\r\n"
    ).encode()


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    env = _env(tmp_path)
    subprocess.run(
        [sys.executable, "-m", "afterdesk", "migrate", "--noinput", "-v", "0"],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    yield env, tmp_path / "intake.sqlite3"


def test_a_worker_killed_mid_message_leaves_exactly_one_case_per_message(
    installation: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, db = installation
    log = tmp_path / "processes.log"
    port = _free_port()
    smtpd = _start([sys.executable, "-m", "afterdesk", "smtpd", "--port", str(port)], env, log)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        _wait_for_port(port, smtpd, log)
        messages = 12
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            for n in range(messages):
                assert (
                    client.sendmail(
                        f"customer{n}@example.org", ["support@example.com"], _message(n)
                    )
                    == {}
                )
        assert _query(db, "SELECT count(*), min(state), max(state) FROM intake_inboundmessage") == [
            (messages, "received", "received")
        ]

        slow_log = tmp_path / "slow-worker.log"
        slow = _start(
            [sys.executable, "-c", SLOW_WORKER], {**env, "SLOW_APPLY_SECONDS": "30"}, slow_log
        )
        workers.append(slow)
        running = "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status = 'RUNNING' AND task_path = 'afterdesk.intake.tasks.intake_process_mailbox'"
        _wait(lambda: _query(db, running)[0][0] == 1, "the worker to claim a message", slow_log)
        time.sleep(1.0)  # inside the transaction now, asleep before writing the case
        _stop(slow, signal.SIGKILL)
        assert _query(db, "SELECT count(*) FROM cases_case") == [(0,)]
        assert _query(
            db, "SELECT count(*) FROM intake_inboundmessage WHERE state = 'received'"
        ) == [(messages,)]
        assert _query(db, running) == [(1,)]  # its task is lost with it

        worker = _start(
            [
                sys.executable,
                "-m",
                "afterdesk",
                "worker",
                "--interval",
                "0.2",
                "--schedule-interval",
                "0.5",
            ],
            env,
            log,
        )
        workers.append(worker)
        done = "SELECT count(*) FROM intake_inboundmessage WHERE state = 'processed'"
        _wait(lambda: _query(db, done)[0][0] == messages, "every message to be processed", log)
        time.sleep(2)  # let any duplicate task of the stuck message run too
        assert _query(
            db, "SELECT count(*), count(DISTINCT case_id) FROM intake_inboundmessage"
        ) == [(messages, messages)]
        assert _query(
            db, "SELECT count(*), count(DISTINCT subject) FROM cases_case WHERE channel = 'email'"
        ) == [(messages, messages)]
        assert _stop(worker) == 0
    finally:
        for process in workers:
            if process.poll() is None:
                _stop(process, signal.SIGKILL)
        assert _stop(smtpd) == 0, log.read_text()
    assert "Traceback" not in log.read_text()


# More jobs for the backlog, so that each worker has one to take.
MORE_JOBS = """
import django
django.setup()
from afterdesk.intake.models import Mailbox
from afterdesk.intake.services import request_processing
mailbox = Mailbox.objects.get(address="support@example.com")
for _ in range(3):
    request_processing(mailbox_id=mailbox.pk, force=True)
"""

Query = Callable[[str], list[tuple]]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres_only)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Query]]:
    """A migrated database of its own for the processes (a file, or a new PostgreSQL database
    on the server the test run uses) and a way to read it."""
    if request.param == "sqlite":
        db = tmp_path / "intake.sqlite3"
        url = f"sqlite:///{db}"

        def query(sql: str) -> list[tuple]:
            return _query(db, sql)

        cleanup: Callable[[], None] = lambda: None  # noqa: E731
    else:
        import psycopg

        server = urlsplit(os.environ["DATABASE_URL"])
        name = f"afterdesk_processes_{uuid.uuid4().hex[:8]}"
        url = urlunsplit(server._replace(path=f"/{name}"))
        admin = urlunsplit(server._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def query(sql: str) -> list[tuple]:
            with psycopg.connect(url) as conn:
                return [tuple(row) for row in conn.execute(sql).fetchall()]

        def cleanup() -> None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    env = _env(tmp_path, database_url=url)
    try:
        subprocess.run(
            [sys.executable, "-m", "afterdesk", "migrate", "--noinput", "-v", "0"],
            env=env,
            cwd=ROOT,
            check=True,
            timeout=300,
        )
        yield url, query
    finally:
        cleanup()


def test_two_workers_at_once_make_exactly_one_case_of_each_message(
    database: tuple[str, Query], tmp_path: Path
) -> None:
    url, query = database
    env = _env(tmp_path, database_url=url)
    log = tmp_path / "processes.log"
    port = _free_port()
    smtpd = _start([sys.executable, "-m", "afterdesk", "smtpd", "--port", str(port)], env, log)
    workers: list[subprocess.Popen[bytes]] = []
    messages = 80
    try:
        _wait_for_port(port, smtpd, log)
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            for n in range(messages):
                client.sendmail(f"customer{n}@example.org", ["support@example.com"], _message(n))
        subprocess.run([sys.executable, "-c", MORE_JOBS], env=env, cwd=ROOT, check=True)
        # Parsing slowed down (50 ms a message), so that the two work side by side.
        slow = {**env, "SLOW_PARSE_SECONDS": "0.05"}
        workers = [_start([sys.executable, "-c", SLOW_WORKER], slow, log) for _ in range(2)]
        done = "SELECT count(*) FROM intake_inboundmessage WHERE state = 'processed'"
        _wait(lambda: query(done)[0][0] == messages, "every message to be processed", log)
        time.sleep(1)  # let the jobs still queued run too
        for worker in workers:
            assert _stop(worker) == 0, log.read_text()
    finally:
        for process in workers:
            if process.poll() is None:
                _stop(process, signal.SIGKILL)
        assert _stop(smtpd) == 0, log.read_text()

    assert query(
        "SELECT count(*), count(DISTINCT case_id), min(attempts), max(attempts) "
        "FROM intake_inboundmessage"
    ) == [(messages, messages, 1, 1)]
    assert query("SELECT count(*), count(DISTINCT subject) FROM cases_case") == [
        (messages, messages)
    ]
    jobs = query(
        "SELECT worker_ids, return_value FROM django_tasks_database_dbtaskresult "
        "WHERE task_path = 'afterdesk.intake.tasks.intake_process_mailbox' "
        "AND status = 'SUCCESSFUL'"
    )
    # Both workers processed messages, and no message was counted by two jobs.
    by_worker: dict[str, int] = {}
    for worker_ids, value in jobs:
        ids = json.loads(worker_ids) if isinstance(worker_ids, str) else worker_ids
        count = json.loads(value) if isinstance(value, str) else value
        by_worker[ids[-1]] = by_worker.get(ids[-1], 0) + count
    assert len([w for w, count in by_worker.items() if count]) == 2, by_worker
    assert sum(by_worker.values()) == messages
    assert "Traceback" not in log.read_text()


def test_a_worker_of_two_processes_takes_mail_to_cases(
    installation: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, db = installation
    log = tmp_path / "processes.log"
    port = _free_port()
    smtpd = _start([sys.executable, "-m", "afterdesk", "smtpd", "--port", str(port)], env, log)
    worker = _start(
        [sys.executable, "-m", "afterdesk", "worker", "--interval", "0.2", "--processes", "2"],
        env,
        log,
    )
    messages = 60
    try:
        _wait_for_port(port, smtpd, log)

        def send(share: range) -> None:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                for n in share:
                    assert (
                        client.sendmail(
                            f"customer{n}@example.org", ["support@example.com"], _message(n)
                        )
                        == {}
                    )

        senders = [threading.Thread(target=send, args=(range(i, messages, 4),)) for i in range(4)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        done = "SELECT count(*) FROM intake_inboundmessage WHERE state = 'processed'"
        _wait(lambda: _query(db, done)[0][0] == messages, "every message to be processed", log)
        assert _stop(worker) == 0, log.read_text()
    finally:
        if worker.poll() is None:
            _stop(worker, signal.SIGKILL)
        assert _stop(smtpd) == 0, log.read_text()
    assert _query(
        db, "SELECT count(*), count(DISTINCT case_id), max(attempts) FROM intake_inboundmessage"
    ) == [(messages, messages, 1)]
    assert _query(db, "SELECT count(*) FROM cases_case") == [(messages,)]
    text = log.read_text()
    assert "with 1 helper process(es)" in text
    assert "Traceback" not in text


def test_the_listener_defers_mail_while_the_database_is_unreachable(tmp_path: Path) -> None:
    dead = _free_port()
    env = _env(tmp_path, database_url=f"postgres://afterdesk@127.0.0.1:{dead}/afterdesk")
    log = tmp_path / "smtpd.log"
    port = _free_port()
    smtpd = _start([sys.executable, "-m", "afterdesk", "smtpd", "--port", str(port)], env, log)
    try:
        _wait_for_port(port, smtpd, log)
        with (
            smtplib.SMTP("127.0.0.1", port, timeout=30) as client,
            pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
        ):
            client.sendmail("customer@example.org", ["support@example.com"], _message(1))
        code, _text = refused.value.recipients["support@example.com"]
        assert code == 451
    finally:
        started = time.monotonic()
        assert _stop(smtpd) == 0, log.read_text()
        assert time.monotonic() - started < 10


def test_serve_runs_the_listener_when_asked(
    installation: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, db = installation
    web, smtp_port = _free_port(), _free_port()
    log = tmp_path / "serve.log"
    serve = _start(
        [
            sys.executable,
            "-m",
            "afterdesk",
            "serve",
            "--no-worker",
            "--workers",
            "1",
            "--port",
            str(web),
        ],
        {**env, "SMTPD": "1", "SMTPD_PORT": str(smtp_port)},
        log,
    )
    try:
        _wait_for_port(web, serve, log)
        _wait_for_port(smtp_port, serve, log)
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
            assert client.sendmail("c@example.org", ["support@example.com"], _message(1)) == {}
        assert _query(db, "SELECT count(*) FROM intake_inboundmessage") == [(1,)]
        assert "and the SMTP listener" in log.read_text()
    finally:
        assert _stop(serve) == 0, log.read_text()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", smtp_port), timeout=1).close()
