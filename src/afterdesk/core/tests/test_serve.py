"""`afterdesk serve` runs granian and the worker; the WSGI application granian loads.

- the granian command line: host (IPv6 too), processes, access log, recycling, kill timeout;
- `afterdesk.wsgi` hands Django the request without granian's copy of the process environment;
- as real processes: keep-alive, client addresses for the rate limiter (X-Forwarded-For only
  as far as TRUSTED_PROXY_COUNT allows), the access log, a killed web process replaced, and
  SIGTERM stopping every process within the grace period.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from afterdesk.core.management.commands import serve
from afterdesk.wsgi import without_process_environment

ROOT = Path(__file__).resolve().parents[4]


# --- the command line ---------------------------------------------------------------------


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_granian_serves_the_wsgi_application_with_one_thread_per_process():
    command = serve.web_server_command(host="0.0.0.0", port=8123, workers=4)

    assert command[:3] == [sys.executable, "-m", "granian"]
    assert command[-1] == "afterdesk.wsgi:application"
    assert _option(command, "--interface") == "wsgi"
    assert _option(command, "--host") == "0.0.0.0"
    assert _option(command, "--port") == "8123"
    assert _option(command, "--workers") == "4"
    assert _option(command, "--blocking-threads") == "1"
    assert _option(command, "--log-level") == "warning"
    # Crashed web processes come back, old ones are replaced, stuck ones are killed before
    # serve's own deadline.
    assert "--respawn-failed-workers" in command
    assert _option(command, "--workers-lifetime") == str(6 * 3600)
    assert int(_option(command, "--workers-kill-timeout")) < serve.STOP_GRACE_SECONDS
    assert "--access-log" not in command
    assert "--log-config" not in command


def test_an_ipv6_host_is_passed_bare():
    command = serve.web_server_command(host="::", port=8000, workers=1)

    assert _option(command, "--host") == "::"


def test_the_access_log_is_switched_on_with_its_logging_configuration(tmp_path):
    config = tmp_path / "log.json"

    command = serve.web_server_command(
        host="127.0.0.1", port=8000, workers=2, access_log_config=config
    )

    assert "--access-log" in command
    assert _option(command, "--log-config") == str(config)
    assert command[-1] == "afterdesk.wsgi:application"


def test_access_log_to_standard_output_keeps_granians_configuration():
    from granian.log import LOGGING_CONFIG

    assert serve.access_log_config("-") == LOGGING_CONFIG


def test_access_log_to_a_file_appends_to_that_file(tmp_path):
    config = serve.access_log_config(str(tmp_path / "access.log"))

    assert config["handlers"]["access"] == {
        "class": "logging.FileHandler",
        "formatter": "access",
        "filename": str(tmp_path / "access.log"),
    }
    assert config["loggers"]["granian.access"]["handlers"] == ["access"]
    # granian's own messages still go to standard output.
    assert config["handlers"]["console"]["stream"] == "ext://sys.stdout"


@pytest.mark.parametrize(("cores", "processes"), [(None, 2), (1, 2), (2, 2), (8, 8)])
def test_web_processes_default_to_one_per_core_and_at_least_two(monkeypatch, cores, processes):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: cores)

    assert serve.default_web_workers() == processes


def test_web_concurrency_sets_the_web_processes(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "7")

    assert serve.default_web_workers() == 7


# --- the WSGI application -----------------------------------------------------------------


def _scope(**headers: str) -> dict[str, Any]:
    """What granian puts into the environ for one request."""
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/healthz",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        **headers,
    }


def _seen_by_django(process_environment: dict[str, str], scope: dict[str, Any]) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def django(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(environ)
        return []

    application = without_process_environment(django, process_environment)
    # granian: the process environment first, the request on top.
    assert application({**process_environment, **scope}, lambda *a: None) == []
    return seen


def test_django_sees_the_request_without_the_process_environment():
    process_environment = {
        "SECRET_KEY": "not-for-request-meta",
        "DATABASE_URL": "postgres://afterdesk:password@db/afterdesk",
        "HTTP_X_FORWARDED_FOR": "6.6.6.6",
        "PATH": "/usr/bin",
    }
    scope = _scope(HTTP_HOST="127.0.0.1:8000")

    assert _seen_by_django(process_environment, scope) == scope


def test_request_values_win_over_variables_of_the_same_name():
    process_environment = {
        "HTTP_X_FORWARDED_FOR": "6.6.6.6",
        "SERVER_PORT": "8000",
        "REMOTE_ADDR": "127.0.0.1",
    }
    scope = _scope(HTTP_X_FORWARDED_FOR="203.0.113.9")

    seen = _seen_by_django(process_environment, scope)

    assert seen["HTTP_X_FORWARDED_FOR"] == "203.0.113.9"
    # The server always sets these, so equal values are the request's own.
    assert seen["SERVER_PORT"] == "8000"
    assert seen["REMOTE_ADDR"] == "127.0.0.1"


# --- real processes -----------------------------------------------------------------------


def _free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # The test run's database and settings must not leak into the installation.
        if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "MEDIA_ROOT"}
        and not key.startswith("GRANIAN_")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="afterdesk.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        AFTERDESK_VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[Path]:
    subprocess.run(
        [sys.executable, "-m", "afterdesk", "migrate", "--noinput", "-v", "0"],
        env=_env(tmp_path),
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    yield tmp_path / "serve.sqlite3"


def _start_serve(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "afterdesk", "serve", *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        state, ppid = text[text.rindex(")") + 2 :].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.append(int(stat.parent.name))
    return sorted(found)


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        state, _ppid, pgrp = text[text.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            alive.append(int(stat.parent.name))
    return alive


def _wait_for(condition: Any, what: str, log: Path, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-5000:]}")


def _healthy(host: str, port: int) -> bool:
    try:
        connection = http.client.HTTPConnection(host, port, timeout=5)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=serve.STOP_GRACE_SECONDS + 10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise


def _track(connection: http.client.HTTPConnection, forwarded_for: str | None) -> int:
    headers = {"Content-Type": "application/json", "Accept-Language": "en"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    body = json.dumps({"number": "AS-20000101-99999", "contact": "nobody@example.org"})
    connection.request("POST", "/api/v1/track", body, headers)
    response = connection.getresponse()
    response.read()
    assert response.getheader("Connection") != "close"
    return response.status


def _hits(db: Path, key: str) -> int:
    digest = hashlib.sha256(f"track:{key}".encode()).hexdigest()[:40]
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(hits), 0) FROM core_ratelimitcounter WHERE key = ?", (digest,)
        ).fetchone()
    return int(row[0])


@pytest.mark.slow
def test_serve_keeps_connections_open_sees_client_addresses_and_stops_on_sigterm(
    installation: Path, tmp_path: Path
) -> None:
    port = _free_port()
    log, access_log = tmp_path / "serve.log", tmp_path / "access.log"
    env = _env(
        tmp_path,
        TRACK_RATE_LIMIT_PER_MINUTE="2",
        TRUSTED_PROXY_COUNT="1",
        ACCESS_LOG=str(access_log),
        TMPDIR=str(tmp_path / "tmp"),
        # granian copies the process environment into every request's environ.
        HTTP_X_FORWARDED_FOR="6.6.6.6",
    )
    (tmp_path / "tmp").mkdir()
    process = _start_serve(["--port", str(port), "--workers", "2"], env, log)
    try:
        _wait_for(lambda: _healthy("127.0.0.1", port), "/healthz", log)
        granian = _children(process.pid)
        assert len(granian) == 2, [_cmdline(pid) for pid in granian]
        web = next(pid for pid in granian if "-m granian" in _cmdline(pid))
        assert "afterdesk worker" in _cmdline(next(pid for pid in granian if pid != web))
        _wait_for(lambda: len(_children(web)) == 2, "two web processes", log)

        # Rate-limit windows are minutes: start early in one, so that all hits share it.
        if time.time() % 60 > 45:
            time.sleep(61 - time.time() % 60)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        statuses = [_track(connection, "203.0.113.1") for _ in range(3)]
        local = connection.sock.getsockname()
        statuses += [_track(connection, "203.0.113.2")]
        statuses += [_track(connection, None) for _ in range(3)]
        # One connection carried every request.
        assert connection.sock is not None
        assert connection.sock.getsockname() == local

        assert statuses == [404, 404, 429, 404, 404, 404, 429]
        assert _hits(installation, "203.0.113.1") == 3
        assert _hits(installation, "203.0.113.2") == 1
        # Without the header: the peer's address from REMOTE_ADDR, not the variable.
        assert _hits(installation, "127.0.0.1") == 3
        assert _hits(installation, "6.6.6.6") == 0

        # granian writes an access log line once the response has gone out.
        def logged() -> list[str] | None:
            lines = access_log.read_text().splitlines() if access_log.exists() else []
            return lines if sum("/api/v1/track" in line for line in lines) == 7 else None

        lines = _wait_for(logged, "7 lines in the access log", log, 10)
        assert sum('"POST /api/v1/track HTTP/1.1" 404' in line for line in lines) == 5
        assert sum('"POST /api/v1/track HTTP/1.1" 429' in line for line in lines) == 2

        # The open keep-alive connection does not hold up the stop.
        started = time.monotonic()
        assert _stop(process) == 0, log.read_text()
        assert time.monotonic() - started < serve.STOP_GRACE_SECONDS / 2
        connection.close()
        assert _wait_for(lambda: not _group_alive(process.pid), "every process to end", log, 10)
        output = log.read_text()
        assert "Afterdesk stopped." in output
        assert "Traceback" not in output
        # serve wrote granian's logging configuration there, and removed it.
        assert list((tmp_path / "tmp").iterdir()) == []
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
def test_a_killed_web_process_is_replaced(installation: Path, tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "serve.log"
    process = _start_serve(
        ["--no-worker", "--port", str(port), "--workers", "2"], _env(tmp_path), log
    )
    try:
        _wait_for(lambda: _healthy("127.0.0.1", port), "/healthz", log)
        (web,) = _children(process.pid)
        first = _wait_for(lambda: len(_children(web)) == 2 and _children(web), "2 workers", log)

        os.kill(first[0], signal.SIGKILL)

        def replacement() -> list[int] | None:
            now = _children(web)
            return now if len(now) == 2 and first[0] not in now else None

        replaced = _wait_for(replacement, "a new web process", log, 30)
        assert first[1] in replaced
        for _ in range(10):
            assert _healthy("127.0.0.1", port)
        assert process.poll() is None
        assert _stop(process) == 0, log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
def test_serve_listens_on_ipv6_and_stops_on_sigint(installation: Path, tmp_path: Path) -> None:
    port = _free_port("::1")
    log = tmp_path / "serve.log"
    process = _start_serve(
        ["--no-worker", "--host", "::1", "--port", str(port), "--workers", "1"],
        _env(tmp_path),
        log,
    )
    try:
        _wait_for(lambda: _healthy("::1", port), "/healthz on [::1]", log)
        assert f"serving on http://[::1]:{port}/ with 1 web processes" in log.read_text()

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=serve.STOP_GRACE_SECONDS + 10) == 0, log.read_text()
        _wait_for(lambda: not _group_alive(process.pid), "every process to end", log, 10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
