"""`make bench`: seed N cases and measure the production server over HTTP.

1. Seed (or reuse) var/bench/bench-<N>.sqlite3, or BENCH_DATABASE_URL when set (bench/seed.py).
2. Count the SQL queries per request and explain the list queries (bench/queries.py).
3. Start `afterdesk serve --no-worker` on a free loopback port with that database.
4. Create benchmark: --clients concurrent clients POST /api/v1/cases.
5. List benchmark: one sequential client GETs filtered lists, first page and 100 pages deep,
   as a supervisor (sees every case) and as a repair agent (sees the department's cases).
6. Read the RSS of every server process, stop the server, print a table, write JSON.

Exits 1 when any request got an unexpected status; budgets that fail are reported, and fail
the run only with --strict.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchenv import (
    BENCH_DIR,
    DEEP_PAGE,
    LIST_SCENARIOS,
    SEED_CUSTOMERS,
    VAR_BENCH,
    afterdesk_command,
    bench_env,
    customer_email,
    customer_phone,
    database_lock,
    python,
)
from client import CLIENT_MODES, RawConnection, Request, Response, run_concurrently
from content import (
    CHANNEL_WEIGHTS,
    DESCRIPTIONS_EN,
    DESCRIPTIONS_ZH,
    FIRST_EN,
    GIVEN_ZH,
    KIND_WEIGHTS,
    LAST_EN,
    PRIORITY_WEIGHTS,
    PRODUCTS,
    SUBJECTS_EN,
    SUBJECTS_ZH,
    SURNAMES_ZH,
    TAG_NAMES,
)

HOST = "127.0.0.1"
CREATE_MIN_PER_SECOND = 450.0
LIST_P95_MAX_MS = 50.0
RSS_MAX_MB = 200.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CATEGORIES = [
    "product.quality",
    "product.doa",
    "product.not_as_described",
    "product.wrong_item",
    "logistics.delay",
    "logistics.damage",
    "service.slow_response",
    "transaction.refund",
]


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# --- statistics ---------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(latencies_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in latencies_s]
    return {
        "count": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2),
        "mean_ms": round(sum(ms) / len(ms), 2),
    }


# --- processes ----------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def _stat_fields(pid: int) -> list[str]:
    raw = _read(f"/proc/{pid}/stat")
    if not raw:
        return []
    # The command name may hold spaces and parentheses: split after the last ")".
    return raw[raw.rfind(")") + 2 :].split()


def _children() -> dict[int, list[int]]:
    """Every running process's children, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants, from /proc."""
    children = _children()
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (not idle, not waiting for I/O)."""
    fields = _read("/proc/stat").splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


class CpuWindow:
    """CPU used during a measurement by the server, by this client and by everything else."""

    def __init__(self, server_pids: list[int]) -> None:
        self.pids = server_pids
        self.server = cpu_seconds(server_pids)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.client = usage.ru_utime + usage.ru_stime
        self.machine = machine_busy_seconds()
        self.started = time.perf_counter()

    def finish(self, requests: int) -> dict[str, float]:
        elapsed = time.perf_counter() - self.started
        server = cpu_seconds(self.pids) - self.server
        usage = resource.getrusage(resource.RUSAGE_SELF)
        client = usage.ru_utime + usage.ru_stime - self.client
        machine = machine_busy_seconds() - self.machine
        return {
            "server_cpu_ms_per_request": round(server * 1000 / requests, 3),
            "client_cpu_ms_per_request": round(client * 1000 / requests, 3),
            "server_cores_busy": round(server / elapsed, 2),
            "client_cores_busy": round(client / elapsed, 2),
            # Other programs on the machine (tests, builds) compete for the same cores.
            "other_cores_busy": round(max(0.0, machine - server - client) / elapsed, 2),
        }


def wait_until_quiet(server_pids: list[int], *, limit_s: float, threshold: float = 0.3) -> float:
    """Wait (at most `limit_s`) until other programs keep fewer than `threshold` cores busy.

    Returns the cores they kept busy in the last two-second sample.
    """
    started = time.monotonic()
    next_log = started
    while True:
        window = CpuWindow(server_pids)
        time.sleep(2.0)
        other = window.finish(1)["other_cores_busy"]
        now = time.monotonic()
        if other < threshold or now - started >= limit_s:
            return other
        if now >= next_log:
            log(f"waiting for a quiet machine: other programs keep {other:.2f} cores busy")
            next_log = now + 30


QUIET_WARNING = 0.2


def process_memory(pid: int) -> dict[str, Any] | None:
    status = _read(f"/proc/{pid}/status")
    if not status:
        return None
    values: dict[str, int] = {}
    for line in status.splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])  # kB
    cmdline = _read(f"/proc/{pid}/cmdline").replace("\0", " ").strip()
    return {
        "pid": pid,
        "cmd": cmdline[:160],
        "rss_mb": round(values.get("VmRSS", 0) / 1024, 1),
        "peak_rss_mb": round(values.get("VmHWM", 0) / 1024, 1),
    }


def renice(pid: int, nice: int) -> None:
    """Set the nice value of `pid` and of its scheduling autogroup.

    With autogroups (Linux's default for desktop and server kernels alike) the CPU is shared
    between sessions first and by nice value only inside a session, so the session's autogroup
    must be reniced as well for the priority to count against other programs.
    """
    os.setpriority(os.PRIO_PROCESS, pid, nice)
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))
    except OSError as exc:
        log(f"could not renice the autogroup of {pid}: {exc}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    env: dict[str, str]
    log_path: Path
    nice: int = 0
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def start(self, timeout: float = 90.0) -> None:
        self.port = self.port or free_port()
        command = [
            *afterdesk_command(),
            "serve",
            "--no-worker",
            "--host",
            HOST,
            "--port",
            str(self.port),
        ]
        with self.log_path.open("wb") as server_log:
            self.proc = subprocess.Popen(
                command,
                env=self.env,
                stdout=server_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if self.nice:
            renice(self.proc.pid, self.nice)  # a session of its own: its own autogroup
        deadline = time.monotonic() + timeout
        connection = RawConnection(HOST, self.port, timeout=5)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited early; see {self.log_path}")
            try:
                response = connection.send(Request("GET", "/healthz").encode(HOST, self.port))
                if response.status == 200:
                    self.info = json.loads(response.body)
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"no answer on /healthz within {timeout:.0f} s")
            time.sleep(0.2)
        connection.close()
        self._wait_for_workers(deadline)

    def _wait_for_workers(self, deadline: float) -> None:
        """Wait until the number of web processes has been stable for a second."""
        last, stable_since = -1, time.monotonic()
        while time.monotonic() < deadline:
            count = len(self.pids())
            if count != last:
                last, stable_since = count, time.monotonic()
            elif time.monotonic() - stable_since >= 1.0:
                return
            time.sleep(0.1)

    def pids(self) -> list[int]:
        return process_tree(self.proc.pid) if self.proc else []

    def web_workers(self) -> int:
        """granian's worker processes (serve -> granian main process -> one per worker).

        The main process only supervises; the workers run Django and answer requests. All of
        them count in pids(), hence in the CPU and memory figures.
        """
        if self.proc is None:
            return 0
        children = _children()
        return sum(
            len(children.get(pid, []))
            for pid in children.get(self.proc.pid, [])
            if "granian" in _read(f"/proc/{pid}/cmdline")
        )

    def memory(self) -> list[dict[str, Any]]:
        found = (process_memory(pid) for pid in self.pids())
        return [m for m in found if m is not None]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # our own session, started above
            self.proc.wait()


# --- request bodies -----------------------------------------------------------------------


def create_bodies(count: int, rng: random.Random, run_tag: str) -> list[bytes]:
    """Varied, realistic case bodies: Chinese and English, known and new customers."""
    kinds = list(KIND_WEIGHTS)
    bodies = []
    for i in range(count):
        kind = rng.choices(kinds, weights=list(KIND_WEIGHTS.values()))[0]
        sku, product_zh, product_en = rng.choice(PRODUCTS)
        order_ref = f"{rng.choice(('JD', 'TB', 'PDD'))}{rng.randrange(10**9, 10**10)}"
        chinese = rng.random() < 0.7
        if chinese:
            subject = rng.choice(SUBJECTS_ZH[kind]).format(p=product_zh)
            description = rng.choice(DESCRIPTIONS_ZH).format(o=order_ref)
            name = rng.choice(SURNAMES_ZH) + "".join(rng.choices(GIVEN_ZH, k=rng.randint(1, 2)))
        else:
            subject = rng.choice(SUBJECTS_EN[kind]).format(p=product_en)
            description = rng.choice(DESCRIPTIONS_EN).format(o=order_ref)
            name = f"{rng.choice(FIRST_EN)} {rng.choice(LAST_EN)}"
        customer: dict[str, str] = {"name": name}
        if rng.random() < 0.5:  # a returning customer, sometimes giving their phone too
            index = rng.randrange(SEED_CUSTOMERS)
            customer["email"] = (
                customer_email(index).upper() if i % 17 == 0 else customer_email(index)
            )
            if rng.random() < 0.3:
                customer["phone"] = customer_phone(index)
        else:
            roll = rng.random()
            if roll < 0.85:
                customer["email"] = f"new-{run_tag}-{i}@example.net"
            if roll >= 0.6:
                customer["phone"] = f"18{rng.randrange(10**8, 10**9)}"
        body: dict[str, Any] = {
            "kind": kind,
            "channel": rng.choices(list(CHANNEL_WEIGHTS), weights=list(CHANNEL_WEIGHTS.values()))[
                0
            ],
            "subject": subject,
            "description": description,
            "customer": customer,
        }
        if rng.random() < 0.6:
            body["order_ref"] = order_ref
            body["product_sku"] = sku
        if kind == "repair" and rng.random() < 0.7:
            body["serial"] = f"SN{rng.randrange(10**11, 10**12)}"
        if kind in ("return", "exchange", "dispute") and rng.random() < 0.7:
            body["amount"] = f"{rng.randrange(1_900, 899_900) / 100:.2f}"
            body["currency"] = "CNY"
        if rng.random() < 0.3:
            body["priority"] = rng.choices(
                list(PRIORITY_WEIGHTS), weights=list(PRIORITY_WEIGHTS.values())
            )[0]
        if rng.random() < 0.5:
            body["category"] = rng.choice(CATEGORIES)
        if rng.random() < 0.1:
            body["tags"] = rng.sample(TAG_NAMES, rng.randint(1, 2))
        bodies.append(json.dumps(body, ensure_ascii=False).encode())
    return bodies


# --- benchmarks ---------------------------------------------------------------------------


def _errors(responses: list[Response], expected: int) -> list[dict[str, Any]]:
    return [
        {"status": r.status, "body": r.body[:300].decode("utf-8", "replace")}
        for r in responses
        if r.status != expected
    ]


def bench_create(
    server: Server, token: str, *, count: int, warmup: int, clients: int, mode: str, seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    run_tag = f"{int(time.time())}{rng.randrange(1000):03d}"
    bodies = create_bodies(warmup + count, rng, run_tag)
    requests = [Request("POST", "/api/v1/cases", body, token) for body in bodies]
    log(f"create: {warmup} warm-up requests, then {count} timed, {clients} clients ({mode})")
    warm = run_concurrently(mode, HOST, server.port, requests[:warmup], clients)
    cpu = CpuWindow(server.pids())
    responses = run_concurrently(mode, HOST, server.port, requests[warmup:], clients)
    cpu_used = cpu.finish(len(responses))
    window = max(r.finished for r in responses) - min(r.started for r in responses)
    errors = _errors(warm, 201) + _errors(responses, 201)
    result = {
        "requests": len(responses),
        "warmup": len(warm),
        "clients": clients,
        "client_mode": mode,
        "seconds": round(window, 3),
        "throughput_per_s": round(len(responses) / window, 1),
        **latency_summary([r.latency for r in responses]),
        "errors": len(errors),
        "error_samples": errors[:5],
        **cpu_used,
    }
    log(
        f"create: {result['throughput_per_s']}/s, p50 {result['p50_ms']} ms, "
        f"p95 {result['p95_ms']} ms, {len(errors)} errors"
    )
    return result


def _timed_gets(
    connection: RawConnection, raw: bytes, count: int, server: Server | None = None
) -> tuple[list[float], list[dict[str, Any]], dict[str, Any]]:
    """`count` sequential GETs; with `server`, the CPU figures land in the last page's "_cpu"."""
    latencies, errors, last = [], [], {}
    cpu = CpuWindow(server.pids()) if server else None
    for _ in range(count):
        response = connection.send(raw)
        latencies.append(response.latency)
        if response.status != 200:
            errors.append({"status": response.status, "body": response.body[:300].decode()})
        else:
            last = json.loads(response.body)
    if cpu is not None:
        last["_cpu"] = cpu.finish(count)
    return latencies, errors, last


def bench_list(server: Server, token: str, who: str, query: str, *, count: int) -> dict[str, Any]:
    connection = RawConnection(HOST, server.port)
    path = f"/api/v1/cases?{query}"
    first = Request("GET", path, token=token).encode(HOST, server.port)
    _timed_gets(connection, first, 5)  # warm-up
    latencies, errors, page = _timed_gets(connection, first, count, server)
    result: dict[str, Any] = {
        "who": who,
        "query": query,
        "items_per_page": len(page.get("items", [])),
        "first": {**latency_summary(latencies), **page.get("_cpu", {})},
    }
    cursor, depth = page.get("next_cursor"), 0
    walk_started = time.perf_counter()
    while cursor and depth < DEEP_PAGE:
        raw = Request("GET", f"{path}&cursor={cursor}", token=token).encode(HOST, server.port)
        response = connection.send(raw)
        if response.status != 200:
            errors.append({"status": response.status, "body": response.body[:300].decode()})
            break
        cursor = json.loads(response.body).get("next_cursor")
        depth += 1
    result["walk_ms_per_page"] = round(
        (time.perf_counter() - walk_started) * 1000 / max(depth, 1), 2
    )
    result["deep_page"] = depth + 1
    if depth:
        deep_path = f"{path}&cursor={cursor}" if cursor else None
        if deep_path is None:
            # Fewer pages than DEEP_PAGE exist: measure the last one and report how deep it is.
            result["deep_page_note"] = f"only {depth + 1} pages match"
        else:
            deep = Request("GET", deep_path, token=token).encode(HOST, server.port)
            _timed_gets(connection, deep, 5)
            deep_latencies, deep_errors, deep_page = _timed_gets(connection, deep, count, server)
            errors += deep_errors
            result["deep"] = {**latency_summary(deep_latencies), **deep_page.get("_cpu", {})}
            result["deep_items"] = len(deep_page.get("items", []))
            result["deep_page"] = depth + 1
    connection.close()
    result["errors"] = len(errors)
    result["error_samples"] = errors[:5]
    deep_p95 = result.get("deep", {}).get("p95_ms", "-")
    log(
        f"list {who} {query}: first p95 {result['first']['p95_ms']} ms, "
        f"page {result['deep_page']} p95 {deep_p95} ms"
    )
    return result


# --- output -------------------------------------------------------------------------------


def code_info(env: dict[str, str]) -> dict[str, Any]:
    """Which Afterdesk the server runs: its package path and, in a git checkout, the commit."""
    located = subprocess.run(
        [python(), "-c", "import afterdesk, os; print(os.path.dirname(afterdesk.__file__))"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    package = located.stdout.strip()
    info: dict[str, Any] = {"package": package, "commit": None, "modified_files": None}
    if package:
        head = subprocess.run(
            ["git", "-C", package, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        )
        if head.returncode == 0:
            info["commit"] = head.stdout.strip()
            status = subprocess.run(
                ["git", "-C", package, "status", "--porcelain", "--", "."],
                capture_output=True,
                text=True,
                check=False,
            )
            info["modified_files"] = len(status.stdout.splitlines())
    return info


def machine_info(server: Server, env: dict[str, str]) -> dict[str, Any]:
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = next(
        (
            int(line.split()[1])
            for line in _read("/proc/meminfo").splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    vendor = server.info.get("database", "unknown")
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "database_vendor": vendor,
        "sqlite_version": sqlite3.sqlite_version if vendor == "sqlite" else None,
        "web_concurrency": env.get("WEB_CONCURRENCY", "default"),
        "web_workers": server.web_workers(),
        "afterdesk_version": server.info.get("version"),
        "loadavg_at_start": _read("/proc/loadavg").split()[:3],
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
    }


def build_rows(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []

    def ok(flag: bool) -> str:
        return "yes" if flag else "NO"

    create = result.get("create")
    if create:
        rows.append(
            (
                f"create throughput ({create['clients']} clients)",
                f"{create['throughput_per_s']:.1f}/s",
                f">= {CREATE_MIN_PER_SECOND:.0f}/s",
                ok(create["throughput_per_s"] >= CREATE_MIN_PER_SECOND),
            )
        )
        for name in ("p50", "p95", "p99"):
            rows.append((f"create latency {name}", f"{create[f'{name}_ms']:.1f} ms", "", ""))
        rows.append(
            ("create errors (non-201)", str(create["errors"]), "0", ok(create["errors"] == 0))
        )
        rows.append(
            (
                "create CPU per request server/client",
                f"{create['server_cpu_ms_per_request']:.2f}/"
                f"{create['client_cpu_ms_per_request']:.2f} ms",
                "",
                "",
            )
        )
        rows.append(
            (
                "create: cores busy server/client/other",
                f"{create['server_cores_busy']:.2f}/{create['client_cores_busy']:.2f}/"
                f"{create['other_cores_busy']:.2f}",
                "",
                "",
            )
        )
    for item in result.get("list", []):
        label = f"list {item['who']} {item['query'].replace('&limit=50', '')}"
        for key, page in (("first", "page 1"), ("deep", f"page {item['deep_page']}")):
            summary = item.get(key)
            if summary is None:
                rows.append(
                    (f"{label} {page}", item.get("deep_page_note", "not measured"), "", "NO")
                )
                continue
            rows.append((f"{label} {page} p50", f"{summary['p50_ms']:.1f} ms", "", ""))
            rows.append(
                (
                    f"{label} {page} p95",
                    f"{summary['p95_ms']:.1f} ms",
                    f"<= {LIST_P95_MAX_MS:.0f} ms",
                    ok(summary["p95_ms"] <= LIST_P95_MAX_MS),
                )
            )
        if item["errors"]:
            rows.append((f"{label} errors (non-200)", str(item["errors"]), "0", "NO"))
    memory = result.get("memory")
    if memory:
        largest = max(memory, key=lambda m: m["rss_mb"])
        peak = max(memory, key=lambda m: m["peak_rss_mb"])
        rows.append(
            (
                "largest server process RSS",
                f"{largest['rss_mb']:.1f} MB",
                f"< {RSS_MAX_MB:.0f} MB",
                ok(largest["rss_mb"] < RSS_MAX_MB),
            )
        )
        rows.append(
            (
                "largest server process peak RSS",
                f"{peak['peak_rss_mb']:.1f} MB",
                f"< {RSS_MAX_MB:.0f} MB",
                ok(peak["peak_rss_mb"] < RSS_MAX_MB),
            )
        )
    queries = result.get("queries")
    if queries:
        for label, item in queries.get("create", {}).items():
            rows.append(
                (
                    f"create ({label}): queries, in-process ms, write tx ms",
                    f"{item['queries']}, {item['request_ms']}, {item['transaction_ms']}",
                    "",
                    "",
                )
            )
        for label, entry in queries.get("list", {}).items():
            for item in entry.values():
                rows.append(
                    (
                        f"list {label.replace('&limit=50', '')} page {item['page']}: "
                        "queries, in-process ms, SQL ms",
                        f"{item['queries']}, {item['request_ms']}, {item.get('sql_ms')}",
                        "",
                        "",
                    )
                )
    return rows


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    headers = ("metric", "measured", "budget", "ok")
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(4)]

    def line(cells: tuple[str, ...]) -> str:
        return " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    print(line(headers))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Seed N cases and benchmark the production server over HTTP."
    )
    parser.add_argument("--cases", type=int, default=100_000, help="cases to seed (100000)")
    parser.add_argument("--create-requests", type=int, default=4000, help="timed creates")
    parser.add_argument("--warmup", type=int, default=200, help="untimed creates first")
    parser.add_argument("--clients", type=int, default=16, help="concurrent create clients")
    parser.add_argument("--list-requests", type=int, default=200, help="GETs per list page")
    parser.add_argument("--client-mode", choices=CLIENT_MODES, default="threads")
    reuse = parser.add_mutually_exclusive_group()
    reuse.add_argument(
        "--reuse",
        dest="fresh",
        action="store_false",
        help="reuse the database when it has N cases or more (default)",
    )
    reuse.add_argument("--fresh", dest="fresh", action="store_true", help="seed from scratch")
    parser.set_defaults(fresh=False)
    parser.add_argument("--skip-create", action="store_true")
    parser.add_argument("--skip-list", action="store_true")
    parser.add_argument("--skip-queries", action="store_true", help="no query-count probe")
    parser.add_argument(
        "--web-concurrency", type=int, default=None, help="web processes (WEB_CONCURRENCY)"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait up to this long until other programs leave the cores idle",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="scheduling priority of the benchmark and its server; negative (root only) puts "
        "them before other programs on a shared machine",
    )
    parser.add_argument("--strict", action="store_true", help="exit 2 when a budget fails")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the request bodies")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.create_requests < 1 or args.clients < 1 or args.list_requests < 1:
        parser.error("--cases, --create-requests, --clients and --list-requests must be >= 1")
    return args


def measure(
    args: argparse.Namespace,
    env: dict[str, str],
    tokens: dict[str, str],
    seed_summary_path: Path,
    result: dict[str, Any],
) -> None:
    """The query probe and the HTTP measurements; fills `result`."""
    if not args.skip_queries:
        queries_path = VAR_BENCH / f"queries-{args.cases}.json"
        subprocess.run(
            [
                python(),
                str(BENCH_DIR / "queries.py"),
                "--tokens",
                str(seed_summary_path),
                "--output",
                str(queries_path),
            ],
            env=env,
            check=True,
        )
        result["queries"] = json.loads(queries_path.read_text())

    server = Server(env=env, log_path=VAR_BENCH / f"server-{args.cases}.log", nice=args.nice)
    log("starting afterdesk serve --no-worker")
    try:
        server.start()
        log(f"serving on {HOST}:{server.port} with {server.web_workers()} web processes")
        result["machine"] = machine_info(server, env)
        result["code"] = code_info(env)
        if args.wait_quiet:
            result["machine"]["other_cores_busy_before"] = wait_until_quiet(
                server.pids(), limit_s=args.wait_quiet
            )
        if not args.skip_create:
            result["create"] = bench_create(
                server,
                tokens["supervisor"],
                count=args.create_requests,
                warmup=args.warmup,
                clients=args.clients,
                mode=args.client_mode,
                seed=args.seed,
            )
        if not args.skip_list:
            result["list"] = [
                bench_list(server, tokens[who], who, query, count=args.list_requests)
                for who, query in LIST_SCENARIOS
            ]
        result["memory"] = server.memory()
    finally:
        server.stop()


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through `finally`, which stops the server


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    if args.nice:
        # Inherited by the threads and processes started from here on (seed, probe, client).
        renice(os.getpid(), args.nice)
    env = bench_env(args.cases)
    if args.web_concurrency:
        env["WEB_CONCURRENCY"] = str(args.web_concurrency)
    started_at = datetime.now(UTC)
    # A file of this run's own: other benchmarks seeding the same database get other tokens.
    seed_summary_path = VAR_BENCH / f"seed-{args.cases}.run-{os.getpid()}.json"
    seed_command = [
        python(),
        str(BENCH_DIR / "seed.py"),
        "--cases",
        str(args.cases),
        "--output",
        str(seed_summary_path),
    ]
    if args.fresh:
        seed_command.append("--fresh")
    log(f"seeding {args.cases:,} cases into {env['DATABASE_URL']}")
    try:
        subprocess.run(seed_command, env=env, check=True)
        seed_summary = json.loads(seed_summary_path.read_text())
        tokens: dict[str, str] = seed_summary.pop("tokens")
        result: dict[str, Any] = {
            "started_at": started_at.isoformat(timespec="seconds"),
            "cases": args.cases,
            "seed": seed_summary,
            "budgets": {
                "create_min_per_s": CREATE_MIN_PER_SECOND,
                "list_p95_max_ms": LIST_P95_MAX_MS,
                "rss_max_mb": RSS_MAX_MB,
            },
        }
        with database_lock(args.cases, exclusive=False, who="bench"):
            measure(args, env, tokens, seed_summary_path, result)
    finally:
        seed_summary_path.unlink(missing_ok=True)

    rows = build_rows(result)
    result["table"] = [
        dict(zip(("metric", "measured", "budget", "ok"), r, strict=True)) for r in rows
    ]
    print()
    print(
        f"Afterdesk benchmark: {result['seed']['cases']:,} cases on "
        f"{result['machine']['database_vendor']}, {result['machine']['nproc']} cores, "
        f"{result['machine']['web_workers']} web processes, Python {result['machine']['python']}"
    )
    print_table(rows)
    busy = [result["create"]["other_cores_busy"]] if "create" in result else []
    for item in result.get("list", []):
        busy += [item[k]["other_cores_busy"] for k in ("first", "deep") if k in item]
    result["max_other_cores_busy"] = max(busy, default=None)
    if busy and max(busy) > QUIET_WARNING:
        print(
            f"\nWARNING: other programs kept up to {max(busy):.2f} of "
            f"{result['machine']['nproc']} cores busy during the measurements; the figures are "
            "not comparable with the budgets (see --wait-quiet)."
        )
    text = json.dumps(result, indent=2, ensure_ascii=False)
    for name in (f"foundation-{args.cases}.json", "latest.json"):
        (VAR_BENCH / name).write_text(text)
    print(f"\nJSON: {VAR_BENCH / f'foundation-{args.cases}.json'} (and latest.json)")

    error_count = result.get("create", {}).get("errors", 0) + sum(
        item["errors"] for item in result.get("list", [])
    )
    if error_count:
        print(f"FAILED: {error_count} requests got an unexpected status", file=sys.stderr)
        return 1
    if args.strict and any(row[3] == "NO" for row in rows):
        print("FAILED: a budget was missed (--strict)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
