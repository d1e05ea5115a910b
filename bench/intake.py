"""E-mail intake benchmark: messages through the SMTP listener into cases, on SQLite.

Starts `afterdesk smtpd` and `afterdesk worker` on a fresh database under var/bench/, sends
N messages over several smtplib connections, and measures from the first send until every
message is a case (polling the database), then until every acknowledgement is sent. Prints
| metric | measured | budget | ok | and writes var/bench/intake.json.

    python bench/intake.py [--messages 2000] [--connections 8] [--workers 1] [--strict]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import shutil
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
VAR_BENCH = PROJECT / "var" / "bench"
HOME = VAR_BENCH / "intake"
DB = HOME / "intake.sqlite3"
BUDGET_PER_SECOND = 100.0
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _command() -> list[str]:
    venv = PROJECT / ".venv" / "bin" / "afterdesk"
    return [str(venv)] if venv.exists() else [sys.executable, "-m", "afterdesk"]


def _env() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="afterdesk.settings",
        DATABASE_URL=f"sqlite:///{DB}",
        AFTERDESK_VAR_DIR=str(HOME),
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        INTAKE_SENDER_MAX_PER_HOUR="100000",
        INTAKE_ACK_MAX_PER_HOUR="100000",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _message(n: int, rng: random.Random) -> bytes:
    sender = f"customer{n % 250:03d}@example.{'cn' if n % 2 else 'com'}"
    if n % 2:
        subject = f"=?utf-8?b?{_b64(f'洗衣机漏水 第{n}号')}?="
        body = "您好，洗衣机一直漏水，已经影响到楼下邻居。请尽快安排维修。\r\n" * rng.randint(2, 12)
        charset = "utf-8"
    else:
        subject = f"Cracked screen on arrival #{n}"
        body = "Hello, the tablet arrived with a cracked screen. Please advise.\r\n" * rng.randint(
            2, 12
        )
        charset = "us-ascii"
    head = (
        f"From: Customer {n} <{sender}>\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <bench-{n}@example.org>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0800\r\n"
        "MIME-Version: 1.0\r\n"
    )
    if n % 10 == 0:
        attachment = base64.encodebytes(PDF).decode().replace("\n", "\r\n")
        return (
            head + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
            f"Content-Type: text/plain; charset={charset}\r\n\r\n{body}\r\n--b\r\n"
            "Content-Type: application/pdf\r\n"
            "Content-Disposition: attachment; filename=receipt.pdf\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{attachment}--b--\r\n"
        ).encode()
    return (head + f"Content-Type: text/plain; charset={charset}\r\n\r\n{body}").encode()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _stat_fields(pid: int) -> list[str]:
    try:
        # The command name may hold spaces and parentheses: split after the last ")".
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _process_tree(roots: list[int]) -> list[int]:
    """`roots` and all their descendants (a worker's helper processes), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))
    tree, pending = [], list(roots)
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def _cpu_by_process(roots: list[int]) -> dict[int, float]:
    """User + system CPU seconds so far of `roots` and their descendants, by pid."""
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = {}
    for pid in _process_tree(roots):
        fields = _stat_fields(pid)
        if fields:
            cpu[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return cpu


def _cpu_since(before: dict[int, float], roots: list[int]) -> float:
    """CPU seconds the process trees used since `before` (a process started since: all)."""
    now = _cpu_by_process(roots)
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in now.items())


def _machine_busy_seconds() -> float:
    """CPU seconds all programs kept the machine busy so far (from /proc/stat)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _wait_until_quiet(limit: float, threshold: float = 0.3) -> float:
    """Wait (at most `limit` seconds) until other programs keep fewer than `threshold` cores
    busy; returns the cores they kept busy in the last two-second sample."""
    started = time.monotonic()
    while True:
        before = _machine_busy_seconds()
        time.sleep(2.0)
        busy = (_machine_busy_seconds() - before) / 2.0
        if busy < threshold or time.monotonic() - started >= limit:
            return busy
        print(f"[intake bench] waiting for a quiet machine: {busy:.2f} cores busy", flush=True)


def _raise_priority(nice: int) -> None:
    """Renice this process and its scheduling autogroup (the listener and the workers inherit
    both): with autogroups, Linux shares the CPU between sessions first, and a plain nice value
    only counts inside a session."""
    os.nice(nice)
    autogroup = Path("/proc/self/autogroup")
    if autogroup.exists():
        try:
            autogroup.write_text(str(nice))
        except OSError as exc:
            print(f"[intake bench] cannot renice the autogroup: {exc}", flush=True)


def _query(sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{DB}?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute(sql).fetchall()


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the SMTP listener exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the SMTP listener does not listen on {port}")


def _send_all(port: int, messages: list[bytes], connections: int) -> tuple[float, float, list[str]]:
    errors: list[str] = []
    start = threading.Barrier(connections + 1)
    lock = threading.Lock()

    def client(share: list[bytes]) -> None:
        start.wait()
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
                for raw in share:
                    refused = smtp.sendmail("bench@example.org", ["support@example.com"], raw)
                    if refused:
                        with lock:
                            errors.append(str(refused))
        except (smtplib.SMTPException, OSError) as exc:
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [
        threading.Thread(target=client, args=(messages[i::connections],))
        for i in range(connections)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    first_send = time.monotonic()
    for thread in threads:
        thread.join()
    return first_send, time.monotonic(), errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (afterdesk serve runs one)"
    )
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="scheduling priority of the listener and workers; negative (root only) puts them "
        "before other programs on a shared machine",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to this long until other programs leave the cores idle",
    )
    parser.add_argument("--strict", action="store_true", help="exit 2 when a budget is missed")
    args = parser.parse_args()

    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    env = _env()
    subprocess.run(
        [*_command(), "migrate", "--noinput", "-v", "0"], env=env, cwd=PROJECT, check=True
    )

    rng = random.Random(42)
    messages = [_message(n, rng) for n in range(args.messages)]
    if args.wait_quiet:
        _wait_until_quiet(args.wait_quiet)
    port = _free_port()
    log = (HOME / "processes.log").open("wb")

    if args.nice:
        _raise_priority(args.nice)

    smtpd = subprocess.Popen(
        [*_command(), "smtpd", "--port", str(port)],
        env=env,
        cwd=PROJECT,
        stdout=log,
        stderr=log,
    )
    workers = [
        subprocess.Popen(
            [*_command(), "worker", "--interval", "0.1"],
            env=env,
            cwd=PROJECT,
            stdout=log,
            stderr=log,
        )
        for _ in range(args.workers)
    ]
    try:
        _wait_for_port(port, smtpd)
        time.sleep(2)  # the workers' start-up
        ours = [smtpd.pid, *(w.pid for w in workers)]
        cpu_before, busy_before = _cpu_by_process(ours), _machine_busy_seconds()
        first_send, last_send, errors = _send_all(port, messages, args.connections)
        deadline = time.monotonic() + args.timeout
        done_sql = "SELECT count(*) FROM intake_inboundmessage WHERE state != 'received'"
        while _query(done_sql)[0][0] < args.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        finished = time.monotonic()
        cpu_used = _cpu_since(cpu_before, ours)
        busy = _machine_busy_seconds() - busy_before
        # Then until the acknowledgements are sent too (the outbox runs every ten seconds).
        queued_sql = "SELECT count(*) FROM intake_outboundmessage WHERE state = 'queued'"
        while _query(queued_sql)[0][0] and time.monotonic() < deadline:
            time.sleep(0.1)
        acks_finished = time.monotonic()
        cpu_with_acks = _cpu_since(cpu_before, ours)
    finally:
        for process in [*workers, smtpd]:
            process.send_signal(signal.SIGTERM)
        for process in [*workers, smtpd]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()

    states = dict(_query("SELECT state, count(*) FROM intake_inboundmessage GROUP BY state"))
    cases = _query("SELECT count(*) FROM cases_case WHERE channel = 'email'")[0][0]
    attachments = _query("SELECT count(*) FROM cases_attachment")[0][0]
    acks = _query("SELECT count(*) FROM intake_outboundmessage WHERE kind = 'ack'")[0][0]
    acks_sent = _query(
        "SELECT count(*) FROM intake_outboundmessage WHERE kind = 'ack' AND state = 'sent'"
    )[0][0]
    elapsed = finished - first_send
    acks_elapsed = acks_finished - first_send
    cpu_with_acks_ms = cpu_with_acks / args.messages * 1000
    ingest_rate = states.get("processed", 0) / elapsed if elapsed > 0 else 0.0
    accept_rate = args.messages / (last_send - first_send) if last_send > first_send else 0.0
    cpu_per_message_ms = cpu_used / args.messages * 1000
    # Cores kept busy by everything else on the machine (this script's clients included).
    others_busy = max(busy - cpu_used, 0.0) / elapsed if elapsed > 0 else 0.0
    rows = [
        (
            "ingest: SMTP → case, messages/s",
            f"{ingest_rate:.1f}",
            f">= {BUDGET_PER_SECOND:.0f}",
            ingest_rate >= BUDGET_PER_SECOND,
        ),
        ("SMTP accepted, messages/s", f"{accept_rate:.1f}", "-", True),
        ("messages sent", str(args.messages), "-", True),
        ("refused or deferred at SMTP", str(len(errors)), "0", not errors),
        ("cases made", str(cases), str(args.messages), cases == args.messages),
        (
            "quarantined or ignored",
            str(args.messages - states.get("processed", 0)),
            "0",
            states.get("processed", 0) == args.messages,
        ),
        (
            "attachments stored",
            str(attachments),
            str(args.messages // 10 + (1 if args.messages % 10 else 0)),
            True,
        ),
        ("acknowledgements queued", str(acks), str(args.messages), acks == args.messages),
        ("acknowledgements sent", str(acks_sent), str(args.messages), acks_sent == args.messages),
        ("wall time, first send → last case (s)", f"{elapsed:.2f}", "-", True),
        ("wall time, first send → last acknowledgement (s)", f"{acks_elapsed:.2f}", "-", True),
        ("CPU per message, listener + workers (ms)", f"{cpu_per_message_ms:.1f}", "-", True),
        ("  the same, until the last acknowledgement (ms)", f"{cpu_with_acks_ms:.1f}", "-", True),
        ("cores kept busy by other programs", f"{others_busy:.2f}", "-", True),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"| {'metric'.ljust(width)} | measured | budget | ok |")
    print(f"|{'-' * (width + 2)}|----------|--------|----|")
    for name, measured, budget, ok in rows:
        print(f"| {name.ljust(width)} | {measured:>8} | {budget:>6} | {'yes' if ok else 'NO':>2} |")
    result = {
        "messages": args.messages,
        "connections": args.connections,
        "workers": args.workers,
        "ingest_messages_per_second": round(ingest_rate, 1),
        "smtp_accept_messages_per_second": round(accept_rate, 1),
        "elapsed_seconds": round(elapsed, 3),
        "acknowledgements_elapsed_seconds": round(acks_elapsed, 3),
        "cpu_ms_per_message": round(cpu_per_message_ms, 2),
        "cpu_ms_per_message_with_acknowledgements": round(cpu_with_acks_ms, 2),
        "other_cores_busy": round(others_busy, 2),
        "states": states,
        "cases": cases,
        "attachments": attachments,
        "acknowledgements": acks,
        "acknowledgements_sent": acks_sent,
        "smtp_errors": errors[:20],
        "budget_messages_per_second": BUDGET_PER_SECOND,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
    }
    VAR_BENCH.mkdir(parents=True, exist_ok=True)
    (VAR_BENCH / "intake.json").write_text(json.dumps(result, indent=2) + "\n")
    if errors or cases != args.messages:
        return 1
    if args.strict and not all(ok for *_rest, ok in rows):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
