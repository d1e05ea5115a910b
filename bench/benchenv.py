"""Paths and the environment of the processes the benchmark starts (seeding, server, probes).

Everything lives under var/bench/ so a benchmark never touches var/afterdesk.sqlite3.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
VAR_BENCH = PROJECT_DIR / "var" / "bench"
VENV_BIN = PROJECT_DIR / ".venv" / "bin"


def python() -> str:
    """The venv's interpreter when there is one, else the one running us."""
    candidate = VENV_BIN / "python"
    return str(candidate) if candidate.exists() else sys.executable


def afterdesk_command() -> list[str]:
    candidate = VENV_BIN / "afterdesk"
    return [str(candidate)] if candidate.exists() else [python(), "-m", "afterdesk"]


def sqlite_path(cases: int) -> Path:
    return VAR_BENCH / f"bench-{cases}.sqlite3"


def database_url(cases: int) -> str:
    """BENCH_DATABASE_URL if the user set one (e.g. PostgreSQL), else a per-size SQLite file."""
    url = os.environ.get("BENCH_DATABASE_URL", "").strip()
    return url or f"sqlite:///{sqlite_path(cases)}"


def uses_own_sqlite_file() -> bool:
    return not os.environ.get("BENCH_DATABASE_URL", "").strip()


@contextmanager
def database_lock(cases: int, *, exclusive: bool, who: str) -> Iterator[None]:
    """Serialise the benchmarks that share a database: seeding holds the lock exclusively,
    measuring holds it shared, so nobody reseeds or revokes under a running measurement.
    """
    VAR_BENCH.mkdir(parents=True, exist_ok=True)
    path = VAR_BENCH / f"bench-{cases}.lock"
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"[{who}] waiting for another benchmark using {path.name} …", flush=True)
            fcntl.flock(handle, mode)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def bench_env(cases: int) -> dict[str, str]:
    """The environment for every Afterdesk process of the benchmark."""
    VAR_BENCH.mkdir(parents=True, exist_ok=True)
    (VAR_BENCH / "static").mkdir(exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "afterdesk.settings",
            "AFTERDESK_VAR_DIR": str(VAR_BENCH),
            "DATABASE_URL": database_url(cases),
            "DEBUG": "0",
            "LOG_LEVEL": env.get("LOG_LEVEL", "WARNING"),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(BENCH_DIR), env.get("PYTHONPATH", "")) if p
            ),
        }
    )
    return env


# Seeded customers have predictable contacts, so the create benchmark can reuse some of them.
SEED_CUSTOMERS = 5000
_EMAIL_DOMAINS = ("example.com", "example.cn", "example.net", "example.org")


def customer_email(index: int) -> str:
    return f"customer{index:05d}@{_EMAIL_DOMAINS[index % len(_EMAIL_DOMAINS)]}"


def customer_phone(index: int) -> str:
    """An 11-digit mainland mobile number, unique per customer."""
    return f"13{index % 10}{index:08d}"


# The filtered lists: (who asks, query string). Each matches 100+ pages of 50 at 100k cases.
LIST_SCENARIOS: tuple[tuple[str, str], ...] = (
    ("supervisor", "status=open&department=repair&limit=50"),
    ("supervisor", "kind=return&priority=high&limit=50"),
    ("agent", "status=open&limit=50"),
)
DEEP_PAGE = 100
