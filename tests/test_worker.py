"""`afterdesk worker` as a real process: it schedules the sweeps, runs them, and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django_tasks_db.models import DBTaskResult

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

# Made through the real services, in the installation's database, before the worker starts.
SETUP = """
from datetime import timedelta

import django

django.setup()
from django.utils import timezone

from afterdesk.cases.services import CaseInput, case_create, case_transition
from afterdesk.customers.services import CustomerInput


def resolved(days_ago):
    case = case_create(
        actor=None,
        data=CaseInput(
            kind="complaint",
            channel="web",
            subject="Worker test",
            customer=CustomerInput(name="Worker", email="worker@example.com"),
        ),
    )
    case_transition(
        actor=None, case=case, to="resolved", at=timezone.now() - timedelta(days=days_ago)
    )
    return case.number


print(resolved(30), resolved(1))
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # The test run's own database and settings must not leak into the installation.
        if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "MEDIA_ROOT"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="afterdesk.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'worker.sqlite3'}",
        AFTERDESK_VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
    )
    return env


def _run(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(
        args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _query(db: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute(sql, params).fetchall()


def test_worker_auto_closes_and_stops_cleanly_on_sigterm(tmp_path):
    env = _env(tmp_path)
    db = tmp_path / "worker.sqlite3"
    _run([sys.executable, "-m", "afterdesk", "migrate", "--noinput", "-v", "0"], env)
    old, young = _run([sys.executable, "-c", SETUP], env).split()
    assert _query(db, "SELECT number, status FROM cases_case ORDER BY number") == [
        (old, "resolved"),
        (young, "resolved"),
    ]

    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "afterdesk", "worker", "--interval", "0.2"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        status = "resolved"
        while time.monotonic() < deadline and worker.poll() is None:
            [(status,)] = _query(db, "SELECT status FROM cases_case WHERE number = ?", old)
            if status == "closed":
                break
            time.sleep(0.25)
        assert worker.poll() is None, f"the worker died:\n{log.read_text()}"
        assert status == "closed", f"not auto-closed within 60 s:\n{log.read_text()}"

        worker.send_signal(signal.SIGTERM)
        try:
            code = worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker ignored SIGTERM for 15 s:\n{log.read_text()}")
        assert code == 0, log.read_text()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()

    assert _query(db, "SELECT status FROM cases_case WHERE number = ?", young) == [("resolved",)]
    [(payload, old_status, new_status, actor)] = _query(
        db,
        "SELECT e.payload, e.old, e.new, e.actor_id FROM cases_caseevent e "
        "JOIN cases_case c ON c.id = e.case_id "
        "WHERE c.number = ? AND e.type = 'case.status_changed' AND e.new = '\"closed\"'",
        old,
    )
    assert (payload, old_status, new_status, actor) == (
        '{"note": "auto-closed"}',
        '"resolved"',
        '"closed"',
        None,
    )
    # The sweep ran as a queued task, and succeeded.
    assert (
        "afterdesk.cases.tasks.cases_auto_close",
        "SUCCESSFUL",
        "1",
    ) in _query(db, f"SELECT task_path, status, return_value FROM {DBTaskResult._meta.db_table}")
    assert "Traceback" not in log.read_text()


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(condition, what: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}:\n{log.read_text()}")


def _cmdline(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
    except OSError:
        return []


def _helper_of(worker: subprocess.Popen, log: Path) -> int:
    """The one helper process of `worker`, once it runs `afterdesk worker`."""
    helpers: list[int] = []
    expected = [b"worker", b"--interval", b"0.2", b"--parent-pid", str(worker.pid).encode()]

    def started() -> bool:
        helpers[:] = [pid for pid in _children(worker.pid) if _cmdline(pid)[-5:] == expected]
        return len(helpers) == 1

    _wait_for(started, "the helper process", log)
    return helpers[0]


def test_a_worker_of_two_processes_restarts_a_dead_helper_and_stops_it_with_itself(tmp_path):
    env = _env(tmp_path)
    _run([sys.executable, "-m", "afterdesk", "migrate", "--noinput", "-v", "0"], env)
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "afterdesk", "worker", "--interval", "0.2", "--processes", "2"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    helpers: list[int] = []
    try:
        helpers.append(_helper_of(worker, log))
        os.kill(helpers[0], signal.SIGKILL)
        _wait_for(lambda: not _alive(helpers[0]), "the helper to die", log)
        helpers.append(_helper_of(worker, log))  # started again
        assert helpers[1] != helpers[0]
        time.sleep(2)  # its start-up

        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, log.read_text()
        _wait_for(lambda: not _alive(helpers[1]), "the helper to stop", log, timeout=5)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        for pid in helpers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    text = log.read_text()
    assert "with 1 helper process(es)" in text
    assert "exited (-9); starting it again" in text
    assert "Traceback" not in text


def test_a_helper_stops_when_its_worker_is_killed(tmp_path):
    env = _env(tmp_path)
    _run([sys.executable, "-m", "afterdesk", "migrate", "--noinput", "-v", "0"], env)
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "afterdesk", "worker", "--interval", "0.2", "--processes", "2"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    helper = 0
    try:
        helper = _helper_of(worker, log)
        time.sleep(2)  # its start-up
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        _wait_for(lambda: not _alive(helper), "the orphaned helper to stop", log, timeout=15)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        if helper and _alive(helper):
            os.kill(helper, signal.SIGKILL)
    assert "is gone; stopping" in log.read_text()
