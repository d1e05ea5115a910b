"""`python bench/sla.py`: the SLA engine against its budgets, on SQLite.

- **due time**: one working-time due computation (`WorkCalendar.add`) on cn-business, from
  random starts over 2026 (holidays and make-up days included) for the seeded targets
  (1 h … 5 working days); median and p99 of 20,000 single calls, caches warm as in a running
  process. Budget: median <= 50 µs. The first computation on a fresh calendar version (cold
  caches) is shown too.
- **sweep**: one `timers_sweep` over 100,000 open timers (25,000 open cases × 4 clocks) of which
  500 are past due and 500 past their warning threshold: breaches, warnings, escalation-queue
  flags, events and notification tasks. Budget: <= 2 s. Then the next sweep, which finds
  nothing to do.

Seeds var/bench/sla-<N>.template.sqlite3 once (migrate, bulk-inserted cases and timers) and
runs each time on a fresh copy, because a sweep changes what it sweeps. The template is rebuilt
when the migrations change or with --fresh. Prints `| metric | measured | budget | ok |` and
writes var/bench/sla.json. Exit 0; with --strict, 2 when a budget is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR_BENCH = ROOT / "var" / "bench"
sys.path.insert(0, str(ROOT / "src"))

DUE_MEDIAN_MAX_US = 50.0
SWEEP_MAX_SECONDS = 2.0
CLOCKS_PER_CASE = 4
PAST_DUE = 500
PAST_WARNING = 500
DUE_SAMPLES = 20_000
BATCH = 5_000
SEED = 20261123


def _migrations_key() -> str:
    names = sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "src" / "afterdesk").glob("*/migrations/0*.py")
    )
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]


def _paths(timers: int) -> tuple[Path, Path, Path]:
    template = VAR_BENCH / f"sla-{timers}.template.sqlite3"
    return template, template.with_suffix(".json"), VAR_BENCH / f"sla-{timers}.sqlite3"


def _configure(db_path: Path) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="afterdesk.settings",
        AFTERDESK_VAR_DIR=str(VAR_BENCH),
        DATABASE_URL=f"sqlite:///{db_path}",
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
        DEBUG="0",
    )


def _remove(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def _checkpoint_and_close() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


def seed(timers: int) -> dict[str, Any]:
    """Migrate and bulk-insert the open cases and their running clocks; returns the summary."""
    from django.core.management import call_command
    from django.utils import timezone

    from afterdesk.accounts.models import Department, User
    from afterdesk.cases.models import Case
    from afterdesk.customers.models import Customer
    from afterdesk.sla import selectors
    from afterdesk.sla.models import BusinessCalendar, SlaTarget, SlaTimer

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    rng = random.Random(SEED)
    now = timezone.now().replace(microsecond=0)
    department = Department.objects.get(code="customer-service")
    agent = User.objects.create_user(
        username="bench-agent", email="agent@bench.example", role="agent"
    )
    supervisor = User.objects.create_user(
        username="bench-supervisor", email="supervisor@bench.example", role="supervisor"
    )
    agent.departments.add(department)
    supervisor.departments.add(department)
    customer = Customer.objects.create(name="Bench customer", email="customer@bench.example")

    calendar = BusinessCalendar.objects.get(name="cn-business")
    work = selectors.work_calendar(calendar)
    targets = [
        SlaTarget.objects.select_related("policy").get(policy__name=policy, metric=metric)
        for policy, metric in (
            ("Normal priority", "first_response"),
            ("Standard", "first_feedback"),
            ("Standard", "solution_plan"),
            ("Complex cases", "resolution"),
        )
    ]
    cases_total = timers // CLOCKS_PER_CASE
    special = rng.sample(range(timers), PAST_DUE + PAST_WARNING)
    past_due, past_warning = set(special[:PAST_DUE]), set(special[PAST_DUE:])
    index = 0
    for first in range(0, cases_total, BATCH):
        count = min(BATCH, cases_total - first)
        cases = []
        for i in range(first, first + count):
            created = now - timedelta(minutes=rng.randint(1, 8 * 60))
            cases.append(
                Case(
                    number=f"SB-{created:%Y%m%d}-{i:06d}",
                    kind="complaint",
                    channel="web",
                    status="open",
                    priority="normal",
                    is_complex=True,
                    subject=f"Bench case {i}",
                    customer=customer,
                    owner=agent,
                    department=department,
                    created_at=created,
                    updated_at=created,
                )
            )
        Case.objects.bulk_create(cases, batch_size=1000)
        clocks = []
        for case in cases:
            for target in targets:
                due = work.add(case.created_at, target.working_seconds)
                warn = work.add(case.created_at, round(target.working_seconds * 0.75))
                if index in past_due:
                    due = now - timedelta(seconds=rng.randint(1, 3600))
                    warn = due - timedelta(hours=1)
                elif index in past_warning:
                    due = now + timedelta(hours=rng.randint(1, 48))
                    warn = now - timedelta(seconds=rng.randint(1, 3600))
                else:
                    # Nothing to do yet: due and warning ahead.
                    due = max(due, now + timedelta(minutes=rng.randint(5, 60 * 24 * 7)))
                    warn = max(warn, now + timedelta(minutes=rng.randint(2, 60)))
                    warn = min(warn, due)
                clocks.append(
                    SlaTimer(
                        case=case,
                        metric=target.metric,
                        policy=target.policy,
                        target=target,
                        calendar=calendar,
                        state="running",
                        target_seconds=target.working_seconds,
                        started_at=case.created_at,
                        anchor_at=case.created_at,
                        remaining_seconds=target.working_seconds,
                        due_at=due,
                        warn_at=warn,
                    )
                )
                index += 1
        SlaTimer.objects.bulk_create(clocks, batch_size=2000)
    _checkpoint_and_close()
    return {
        "now": now.isoformat(),
        "cases": cases_total,
        "timers": timers,
        "past_due": PAST_DUE,
        "past_warning": PAST_WARNING,
        "seconds": round(time.perf_counter() - started, 1),
    }


def bench_due() -> dict[str, float]:
    """Single due-time computations on cn-business, warm and cold."""
    from afterdesk.sla import selectors
    from afterdesk.sla.models import BusinessCalendar

    calendar = BusinessCalendar.objects.get(name="cn-business")
    work = selectors.work_calendar(calendar)
    rng = random.Random(SEED)
    year_start = datetime(2026, 1, 1, tzinfo=UTC)
    seconds = [3600, 4 * 3600, 24 * 3600, 48 * 3600, 72 * 3600, 40 * 3600]
    samples = [
        (year_start + timedelta(minutes=rng.randint(0, 364 * 1440)), rng.choice(seconds))
        for _ in range(DUE_SAMPLES)
    ]
    for start, target in samples[:2000]:
        work.add(start, target)
    timings = []
    clock = time.perf_counter_ns
    for start, target in samples:
        before = clock()
        work.add(start, target)
        timings.append(clock() - before)
    timings.sort()
    cold = []
    for start, target in samples[:200]:
        fresh = selectors.build_work_calendar(calendar.spec)
        before = clock()
        fresh.add(start, target)
        cold.append(clock() - before)
    return {
        "median_us": timings[len(timings) // 2] / 1000,
        "p99_us": timings[int(len(timings) * 0.99)] / 1000,
        "cold_median_us": statistics.median(cold) / 1000,
    }


def bench_sweep(now: datetime) -> dict[str, Any]:
    from afterdesk.sla.models import SlaTimer
    from afterdesk.sla.sweep import timers_sweep

    open_timers = SlaTimer.objects.filter(state__in=["running", "paused", "breached"]).count()
    started = time.perf_counter()
    first = timers_sweep(now=now)
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    second = timers_sweep(now=now)
    second_seconds = time.perf_counter() - started
    return {
        "open_timers": open_timers,
        "seconds": first_seconds,
        "breached": first.breached,
        "warned": first.warned,
        "idle_seconds": second_seconds,
        "idle_acted": second.breached + second.warned,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timers", type=int, default=100_000, help="open timers to sweep")
    parser.add_argument("--fresh", action="store_true", help="rebuild the seeded template")
    parser.add_argument("--strict", action="store_true", help="exit 2 when a budget is missed")
    args = parser.parse_args()
    VAR_BENCH.mkdir(parents=True, exist_ok=True)
    template, meta_path, work_db = _paths(args.timers)
    key = _migrations_key()
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    reuse = template.exists() and meta.get("key") == key and not args.fresh
    if not reuse:
        _remove(template)
        _configure(template)
    else:
        _remove(work_db)
        shutil.copyfile(template, work_db)
        _configure(work_db)

    import django

    django.setup()
    if not reuse:
        print(f"Seeding {args.timers:,} open timers into {template.relative_to(ROOT)} …")
        meta = {"key": key, "seed": seed(args.timers)}
        meta_path.write_text(json.dumps(meta, indent=2))
        from django.db import connections

        _remove(work_db)
        shutil.copyfile(template, work_db)
        connections["default"].settings_dict["NAME"] = str(work_db)

    due = bench_due()
    sweep = bench_sweep(datetime.fromisoformat(meta["seed"]["now"]))
    expected = (PAST_DUE, PAST_WARNING)
    rows = [
        (
            "due time, median (warm)",
            f"{due['median_us']:.1f} µs",
            f"<= {DUE_MEDIAN_MAX_US:.0f} µs",
            due["median_us"] <= DUE_MEDIAN_MAX_US,
        ),
        ("due time, p99 (warm)", f"{due['p99_us']:.1f} µs", "", None),
        ("due time, first on a new calendar version", f"{due['cold_median_us']:.0f} µs", "", None),
        (
            f"sweep over {sweep['open_timers']:,} open timers "
            f"({sweep['breached']} breached, {sweep['warned']} warned)",
            f"{sweep['seconds']:.2f} s",
            f"<= {SWEEP_MAX_SECONDS:.0f} s",
            sweep["seconds"] <= SWEEP_MAX_SECONDS
            and (sweep["breached"], sweep["warned"]) == expected,
        ),
        (
            "sweep again (nothing left to do)",
            f"{sweep['idle_seconds'] * 1000:.1f} ms",
            f"<= {SWEEP_MAX_SECONDS:.0f} s, acts 0",
            sweep["idle_seconds"] <= SWEEP_MAX_SECONDS and sweep["idle_acted"] == 0,
        ),
    ]
    header = ("metric", "measured", "budget")
    widths = [max(len(header[i]), *(len(str(r[i])) for r in rows)) for i in range(3)]
    print(
        f"| {'metric':<{widths[0]}} | {'measured':<{widths[1]}} | {'budget':<{widths[2]}} | ok  |"
    )
    print(f"|{'-' * (widths[0] + 2)}|{'-' * (widths[1] + 2)}|{'-' * (widths[2] + 2)}|-----|")
    for name, measured, budget, ok in rows:
        mark = "" if ok is None else ("yes" if ok else "NO")
        print(
            f"| {name:<{widths[0]}} | {measured:<{widths[1]}} | {budget:<{widths[2]}} | {mark:<3} |"
        )
    passed = all(ok for *_rest, ok in rows if ok is not None)
    result = {
        "at": datetime.now(UTC).isoformat(),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "seed": meta["seed"],
        "due_time": due,
        "sweep": sweep,
        "budgets": {"due_median_us": DUE_MEDIAN_MAX_US, "sweep_seconds": SWEEP_MAX_SECONDS},
        "ok": passed,
    }
    (VAR_BENCH / "sla.json").write_text(json.dumps(result, indent=2))
    return 2 if args.strict and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
