"""`afterdesk sla due`: prints only the due instant, refuses bad input with a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from afterdesk.sla import services

ROOT = Path(__file__).resolve().parents[4]
pytestmark = pytest.mark.django_db


def due(*args: str) -> str:
    out = StringIO()
    call_command("sla", "due", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        ("2026-11-20T16:30:00+08:00", "4h", "2026-11-23T11:30:00+08:00\n"),
        ("2026-11-20T16:30:00+08:00", "90m", "2026-11-20T18:00:00+08:00\n"),
        ("2026-11-20T16:30:00+08:00", "100m", "2026-11-23T09:10:00+08:00\n"),
        ("2026-11-20T16:30:00+08:00", "2d", "2026-11-24T16:30:00+08:00\n"),
        # An instant given in UTC is answered in the calendar's zone.
        ("2026-11-20T08:30:00Z", "4h", "2026-11-23T11:30:00+08:00\n"),
        # Across the Spring Festival, landing on the make-up Saturday.
        ("2026-02-13T16:30:00+08:00", "4h", "2026-02-14T11:30:00+08:00\n"),
    ],
)
def test_due_on_cn_business(start, duration, expected):
    assert due("--calendar", "cn-business", "--start", start, "--duration", duration) == expected


def test_due_on_an_office_calendar():
    services.calendar_create(
        name="office-cn",
        tz="Asia/Shanghai",
        weekly={day: [(time(9), time(17))] for day in range(5)},
    )
    out = due("--calendar", "office-cn", "--start", "2026-11-20T16:30+08:00", "--duration", "4h")
    assert out == "2026-11-23T12:30:00+08:00\n"


def test_due_on_24x7():
    out = due("--calendar", "24x7", "--start", "2026-11-20T16:30:00+08:00", "--duration", "2d")
    assert out == "2026-11-22T16:30:00+08:00\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--calendar", "nope", "--start", "2026-11-20T16:30+08:00", "--duration", "4h"],
            "No calendar 'nope'",
        ),
        (
            ["--calendar", "cn-business", "--start", "yesterday", "--duration", "4h"],
            "not an ISO 8601 instant",
        ),
        (
            ["--calendar", "cn-business", "--start", "2026-11-20T16:30", "--duration", "4h"],
            "needs a UTC offset",
        ),
        (
            [
                "--calendar",
                "cn-business",
                "--start",
                "2026-11-20T16:30+08:00",
                "--duration",
                "4 hours",
            ],
            "not a duration",
        ),
    ],
)
def test_bad_input_is_refused(args, message):
    with pytest.raises(CommandError, match=message):
        due(*args)


@pytest.mark.slow
def test_the_real_command(tmp_path):
    """The installed command on a fresh database: exact output, exit 0; a bad duration: exit 1."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "MEDIA_ROOT"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="afterdesk.settings",
        AFTERDESK_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}",
    )
    command = [sys.executable, "-m", "afterdesk"]
    subprocess.run([*command, "migrate", "-v", "0"], env=env, check=True, cwd=ROOT)
    ok = subprocess.run(
        [
            *command,
            "sla",
            "due",
            "--calendar",
            "cn-business",
            "--start",
            "2026-11-20T16:30:00+08:00",
            "--duration",
            "4h",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert (ok.returncode, ok.stdout) == (0, "2026-11-23T11:30:00+08:00\n")
    bad = subprocess.run(
        [
            *command,
            "sla",
            "due",
            "--calendar",
            "cn-business",
            "--start",
            "2026-11-20T16:30:00+08:00",
            "--duration",
            "soon",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert "not a duration" in bad.stderr
