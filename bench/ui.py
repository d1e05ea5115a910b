"""`make bench` (UI part): the agent workspace's pages over HTTP at N cases.

1. Seed (or reuse) var/bench/ui-<N>.sqlite3 (or BENCH_DATABASE_URL) with bench/seed.py.
2. Prepare it for the workspace (this script with --prepare, inside the bench environment):
   recount the queue counters (the seeder bulk-inserts without the services), give twenty
   cases a realistic history through the real services, collect static files, and open a
   session for the repair agent and for the supervisor.
3. Start `afterdesk serve --no-worker` and GET, with the session cookie, one client at a time:
   the queue tabs with and without filters, case pages, and searches (numbers, contacts,
   order references, Chinese and English words).
4. Print a table of p50/p95/max per page kind, with the server's CPU per request and how many
   cores other programs kept busy meanwhile (a shared machine slows every request down), and
   write var/bench/ui.json. --nice and --wait-quiet work as in bench/run.py.

Budgets (p95 per request): queue page and case page 150 ms, search 200 ms. Exits 1 when a
request got an unexpected status; a missed budget fails the run only with --strict.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from benchenv import (
    BENCH_DIR,
    SEED_CUSTOMERS,
    VAR_BENCH,
    bench_env,
    customer_email,
    customer_phone,
    python,
)
from client import RawConnection
from run import (
    HOST,
    CpuWindow,
    Server,
    code_info,
    latency_summary,
    log,
    machine_info,
    renice,
    wait_until_quiet,
)

BUDGETS_MS = {"queue": 150.0, "case": 150.0, "search": 200.0}
RICH_CASES = 20
SAMPLED_CASES = 100
REPAIR_WORDS_ZH = ("无法开机", "异响", "坏点")
SEARCH_WORDS = ("退款", "耳机", "保修期", "warranty", "robot vacuum", "courier", "异响")


# --- preparation, run inside the bench environment (Django configured) -----------------------


def prepare(output: Path, seed: int) -> None:
    """Counters, a few rich cases, static files and sessions; the summary goes to `output`."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from afterdesk.accounts.models import User
    from afterdesk.cases import services
    from afterdesk.cases.counters import queue_counters_rebuild
    from afterdesk.cases.models import Case, Message
    from afterdesk.cases.permissions import restrict_cases

    started = time.monotonic()
    call_command("collectstatic", interactive=False, verbosity=0)
    buckets = queue_counters_rebuild()
    rng = random.Random(seed)
    agent = User.objects.get(username="bench-agent")
    supervisor = User.objects.get(username="bench-supervisor")
    visible = restrict_cases(Case.objects.all(), agent)
    ids = list(visible.order_by("-created_at").values_list("pk", flat=True)[:20_000])
    sample = rng.sample(ids, min(SAMPLED_CASES, len(ids)))
    rich = [c for c in Case.objects.filter(pk__in=sample[:RICH_CASES]) if c.status == "open"]
    for case in rich:
        if Message.objects.filter(case=case).exists():
            continue
        for i in range(6):
            services.case_add_message(
                actor=None if i % 2 == 0 else agent,
                case=case,
                body=(
                    "您好，机器还是" + rng.choice(REPAIR_WORDS_ZH) + "，请尽快处理。"
                    if i % 2 == 0
                    else "We have booked a courier pickup for tomorrow; reference RMA-" + str(i)
                ),
                by_customer=i % 2 == 0,
            )
        services.case_add_message(actor=agent, case=case, body="Check stock", internal=True)
        case = services.case_assign(actor=supervisor, case=case, owner=agent)
        case = services.case_update(
            actor=agent, case=case, version=case.version, changes={"priority": "high"}
        )
    numbers = list(Case.objects.filter(pk__in=sample).values_list("number", flat=True))
    order_refs = list(
        visible.exclude(order_ref="")
        .order_by("-created_at")
        .values_list("order_ref", flat=True)[:5]
    )
    sessions = {}
    for who, user in (("agent", agent), ("supervisor", supervisor)):
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions[who] = store.session_key
    summary = {
        "cases": Case.objects.count(),
        "queue_counter_buckets": buckets,
        "rich_cases": len(rich),
        "case_numbers": numbers,
        "order_refs": order_refs,
        "sessions": sessions,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "seconds": round(time.monotonic() - started, 1),
    }
    output.write_text(json.dumps(summary, indent=2))
    output.chmod(0o600)


# --- measuring over HTTP ----------------------------------------------------------------------


def _request(path: str, cookie: str, port: int) -> bytes:
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        f"Cookie: {cookie}",
        "Accept: text/html",
        "Accept-Language: en",
        "Connection: keep-alive",
        "",
        "",
    ]
    return "\r\n".join(lines).encode("latin-1")


def measure(
    server: Server, cookie: str, paths: list[str], *, rounds: int, expect: tuple[int, ...] = (200,)
) -> tuple[list[float], list[dict[str, Any]]]:
    """GET each path `rounds` times (after one warm-up each); latencies in seconds, errors."""
    connection = RawConnection(HOST, server.port)
    latencies: list[float] = []
    errors: list[dict[str, Any]] = []
    for path in paths:
        connection.send(_request(path, cookie, server.port))
    for _ in range(rounds):
        for path in paths:
            response = connection.send(_request(path, cookie, server.port))
            latencies.append(response.latency)
            if response.status not in expect:
                errors.append({"path": path, "status": response.status})
    connection.close()
    return latencies, errors


def scenarios(prep: dict[str, Any], rng: random.Random) -> dict[str, dict[str, list[str]]]:
    """Per page kind, per user: the paths to GET."""
    queues = [
        "/desk/",
        "/desk/?tab=unassigned",
        "/desk/?tab=all",
        "/desk/?tab=all&status=working&priority=high",
        "/desk/?tab=all&kind=repair&ordering=-updated_at",
        "/desk/?tab=all&status=closed&channel=phone",
        "/desk/?tab=unassigned&ordering=created_at",
    ]
    cases = [f"/desk/cases/{n}" for n in prep["case_numbers"]]
    index = rng.randrange(SEED_CUSTOMERS)
    searches = [f"/desk/search?q={quote(word)}" for word in SEARCH_WORDS]
    searches += [f"/desk/search?q={quote(ref)}" for ref in prep["order_refs"][:2]]
    searches += [
        f"/desk/search?q={quote(customer_email(index))}",
        f"/desk/search?q={quote(customer_phone(index))}",
        f"/desk/search?q={quote('王')}",
    ]
    return {
        "queue": {"agent": queues, "supervisor": [*queues, "/desk/?tab=due"]},
        "case": {"agent": cases, "supervisor": cases[: len(cases) // 2]},
        "search": {"agent": searches, "supervisor": searches},
    }


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark the agent workspace pages.")
    parser.add_argument("--cases", type=int, default=100_000, help="cases to seed (100000)")
    parser.add_argument("--rounds", type=int, default=10, help="GETs of each path per user")
    parser.add_argument("--fresh", action="store_true", help="seed from scratch")
    parser.add_argument("--web-concurrency", type=int, default=None)
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
        help="scheduling priority of the benchmark and its server (negative: root only)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 2 when a budget fails")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.prepare:
        prepare(args.prepare, args.seed)
        return 0
    if args.nice:
        renice(os.getpid(), args.nice)
    if not os.environ.get("BENCH_DATABASE_URL", "").strip():
        # A database of its own, so that the create benchmark of bench/run.py (which adds
        # cases to bench-<N>.sqlite3) never changes what the pages show here.
        path = VAR_BENCH / f"ui-{args.cases}.sqlite3"
        if args.fresh:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["BENCH_DATABASE_URL"] = f"sqlite:///{path}"
        args.fresh = False
    env = bench_env(args.cases)
    if args.web_concurrency:
        env["WEB_CONCURRENCY"] = str(args.web_concurrency)
    started_at = datetime.now(UTC)
    seed_summary = VAR_BENCH / f"ui-seed-{args.cases}.json"
    command = [python(), str(BENCH_DIR / "seed.py"), "--cases", str(args.cases)]
    command += ["--output", str(seed_summary)] + (["--fresh"] if args.fresh else [])
    log(f"seeding {args.cases:,} cases into {env['DATABASE_URL']}")
    subprocess.run(command, env=env, check=True)
    prep_path = VAR_BENCH / f"ui-prepare-{args.cases}.json"
    log("preparing the workspace: counters, rich cases, static files, sessions")
    subprocess.run(
        [python(), str(Path(__file__).resolve()), "--prepare", str(prep_path)],
        env=env,
        check=True,
    )
    prep = json.loads(prep_path.read_text())
    rng = random.Random(args.seed)
    plan = scenarios(prep, rng)

    server = Server(env=env, log_path=VAR_BENCH / "ui-server.log", nice=args.nice)
    result: dict[str, Any] = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "cases": prep["cases"],
        "rounds": args.rounds,
        "budgets_p95_ms": BUDGETS_MS,
        "prepare": {k: v for k, v in prep.items() if k not in ("sessions", "case_numbers")},
        "code": code_info(env),
    }
    errors: list[dict[str, Any]] = []
    try:
        server.start()
        log(f"serving on {HOST}:{server.port} with {server.web_workers()} web processes")
        result["machine"] = machine_info(server, env)
        if args.wait_quiet:
            result["machine"]["other_cores_busy_before"] = wait_until_quiet(
                server.pids(), limit_s=args.wait_quiet
            )
        pages: dict[str, Any] = {}
        for kind, by_user in plan.items():
            everyone: list[float] = []
            per_user: dict[str, Any] = {}
            cpu = CpuWindow(server.pids())
            for who, paths in by_user.items():
                cookie = f"{prep['session_cookie']}={prep['sessions'][who]}"
                rounds = max(1, args.rounds // 5) if kind == "case" else args.rounds
                latencies, errs = measure(server, cookie, paths, rounds=rounds, expect=(200, 302))
                errors += errs
                everyone += latencies
                per_user[who] = latency_summary(latencies)
                log(f"{kind} as {who}: p95 {per_user[who]['p95_ms']} ms over {len(latencies)}")
            pages[kind] = {
                "all": {**latency_summary(everyone), **cpu.finish(len(everyone))},
                "by_user": per_user,
            }
        result["pages"] = pages
    finally:
        server.stop()
    result["errors"] = len(errors)
    result["error_samples"] = errors[:10]
    rows: list[tuple[str, ...]] = [
        (
            "page",
            "requests",
            "p50 ms",
            "p95 ms",
            "max ms",
            "budget p95",
            "within",
            "server CPU ms/req",
            "other cores busy",
        )
    ]
    failed = []
    for kind, data in result.get("pages", {}).items():
        summary = data["all"]
        within = summary["p95_ms"] <= BUDGETS_MS[kind]
        if not within:
            failed.append(kind)
        rows.append(
            (
                kind,
                str(summary["count"]),
                f"{summary['p50_ms']:.1f}",
                f"{summary['p95_ms']:.1f}",
                f"{summary['max_ms']:.1f}",
                f"{BUDGETS_MS[kind]:.0f}",
                "yes" if within else "NO",
                f"{summary['server_cpu_ms_per_request']:.1f}",
                f"{summary['other_cores_busy']:.2f}",
            )
        )
    result["budgets_failed"] = failed
    out = VAR_BENCH / "ui.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"\nAgent workspace at {prep['cases']:,} cases ({result['machine']['database_vendor']}):")
    print_table(rows)
    print(f"\nwritten to {out}")
    if errors:
        log(f"{len(errors)} unexpected responses, e.g. {errors[:3]}")
        return 1
    return 2 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
