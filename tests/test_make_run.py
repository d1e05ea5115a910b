"""`make run` serves the demo: /healthz answers 200, and SIGTERM stops every process it started."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

START_TIMEOUT = 120
STOP_TIMEOUT = 30


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _live_members(pgid: int) -> list[str]:
    """Processes of the group that are still running (zombies waiting to be reaped are not)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return []
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
        name = text[text.index("(") + 1 : text.rindex(")")]
        state, _ppid, pgrp = text[text.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            members.append(f"{stat.parent.name} {name}: {cmdline.strip()}")
    return members


def test_make_run_serves_healthz_and_stops_on_sigterm(tmp_path):
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        # Neither the test run's database and settings nor an outer make's state may leak in.
        if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "MEDIA_ROOT"}
        and key not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES"}
    }
    env.update(
        PORT=str(port),
        HOST="127.0.0.1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'run.sqlite3'}",
        AFTERDESK_VAR_DIR=str(tmp_path / "var"),
        AFTERDESK_DEMO_CASES="60",
        PYTHONUNBUFFERED="1",
    )
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pgid = make.pid  # the session leader leads its own process group
    base = f"http://127.0.0.1:{port}"
    try:
        status, body = 0, b""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert make.poll() is None, (
                f"make run exited with {make.returncode}:\n{log.read_text()}"
            )
            try:
                status, body = _get(f"{base}/healthz")
            except (ConnectionError, TimeoutError, urllib.error.URLError):
                time.sleep(0.5)
                continue
            if status == 200:
                break
            time.sleep(0.5)
        assert status == 200, f"/healthz: {status} {body!r}\n{log.read_text()}"
        health = json.loads(body)
        assert health["status"] == "ok"
        assert health["database"] == "sqlite"

        status, body = _get(f"{base}/api/v1/openapi.json")
        assert status == 200, body[:500]
        assert json.loads(body)["info"]["title"] == "Afterdesk API"

        # The demo, as large as AFTERDESK_DEMO_CASES asks, went into the installation's database.
        with sqlite3.connect(f"file:{tmp_path / 'run.sqlite3'}?mode=ro", uri=True) as db:
            assert db.execute("SELECT count(*) FROM cases_case").fetchone() == (60,)
        assert (tmp_path / "var" / "static").is_dir()

        os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _live_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        make.wait(timeout=5)
        assert _live_members(pgid) == [], f"left running after {STOP_TIMEOUT} s:\n{log.read_text()}"
        with pytest.raises(ProcessLookupError):
            # Orphans are reaped by init soon after they exit.
            for _ in range(50):
                os.killpg(pgid, 0)
                time.sleep(0.1)
    finally:
        if _live_members(pgid):
            os.killpg(pgid, signal.SIGKILL)
        if make.poll() is None:
            make.kill()
            make.wait()
