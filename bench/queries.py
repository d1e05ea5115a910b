"""Queries per request, in-process timings and the list queries' plans, on the bench database.

Runs in-process with Django's test client (the full middleware and API stack, no network) and
CaptureQueriesContext. For creates it also measures how long the write transaction is open
(BEGIN to COMMIT): on SQLite that is how long every other writer waits, so 1000 / hold_ms is
the ceiling of create throughput whatever the number of workers. For lists it times the bare
SQL next to the whole request, which splits database time from Python time.

Writes a JSON report to --output and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import django

from benchenv import DEEP_PAGE, LIST_SCENARIOS, customer_email

REPEAT = 25


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 2)


def _summary(captured: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"ms": round(float(q["time"]) * 1000, 3), "sql": q["sql"][:300]} for q in captured]


def _main_list_sql(captured: list[dict[str, Any]]) -> str | None:
    return next(
        (q["sql"] for q in captured if 'FROM "cases_case"' in q["sql"] and "LIMIT" in q["sql"]),
        None,
    )


def _plan(sql: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            return [str(row[-1]) for row in cursor.fetchall()]
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return [str(row[0]) for row in cursor.fetchall()]


def _sql_ms(sql: str) -> float:
    """Median time of the bare SQL (fetching every row), without Django around it."""
    from django.db import connection

    timings = []
    with connection.cursor() as cursor:
        for _ in range(REPEAT):
            started = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            timings.append(time.perf_counter() - started)
    return _median_ms(timings)


class TransactionClock:
    """Times each outermost transaction of the default connection, from its start to COMMIT.

    A transaction starts when Django turns autocommit off (on SQLite by BEGIN IMMEDIATE, which
    takes the write lock) and ends when the commit returns.
    """

    def __init__(self) -> None:
        from django.db import connection

        self.connection = connection
        self.begun: float | None = None
        self.holds: list[float] = []
        self.originals = {
            name: getattr(connection, name)
            for name in ("_set_autocommit", "_start_transaction_under_autocommit", "_commit")
            if hasattr(connection, name)
        }

    def __enter__(self) -> TransactionClock:
        for name, original in self.originals.items():
            wrapper = self._timed_commit if name == "_commit" else self._timed_begin(original)
            setattr(self.connection, name, wrapper)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.originals:
            delattr(self.connection, name)  # the class's method shows through again

    def _timed_begin(self, original: Callable[..., None]) -> Callable[..., None]:
        def begin(*args: Any) -> None:
            if not args or args[0] is False:  # _set_autocommit(False) or BEGIN on SQLite
                self.begun = time.perf_counter()
            original(*args)

        return begin

    def _timed_commit(self) -> None:
        self.originals["_commit"]()
        if self.begun is not None:
            self.holds.append(time.perf_counter() - self.begun)
        self.begun = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=Path, required=True, help="seed summary with tokens")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    django.setup()

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    tokens: dict[str, str] = json.loads(args.tokens.read_text())["tokens"]
    client = Client()

    def send(who: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens[who]}"}
        if body is not None:
            response = client.post(path, data=body, content_type="application/json", **auth)
        else:
            response = client.get(path, **auth)
        return response.status_code, response.json()

    def captured(
        who: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, Any, list[dict[str, Any]]]:
        with CaptureQueriesContext(connection) as ctx:
            status, data = send(who, path, body)
        return status, data, list(ctx.captured_queries)

    report: dict[str, Any] = {"vendor": connection.vendor, "create": {}, "list": {}}
    stamp = time.time_ns()
    send("supervisor", "/api/v1/cases?limit=1")  # token last_used_at, warm caches
    send("agent", "/api/v1/cases?limit=1")

    def bodies(k: int) -> dict[str, dict[str, Any]]:
        return {
            "existing customer": {
                "kind": "repair",
                "channel": "phone",
                "subject": "查询次数探针：扫地机器人 X8 无法开机",
                "customer": {"name": "王芳", "email": customer_email(42 + k)},
                "order_ref": "JD1234567890",
                "product_sku": "SKU-RV-X8",
            },
            "new customer": {
                "kind": "return",
                "channel": "web",
                "subject": "Query count probe: return request",
                "customer": {"name": "Probe", "email": f"probe-{stamp}-{k}@example.net"},
            },
            "new customer, tags, category": {
                "kind": "complaint",
                "channel": "email",
                "subject": "Query count probe: courier was rude",
                "customer": {"name": "Probe", "email": f"probe-{stamp}-{k}-t@example.net"},
                "category": "service.attitude",
                "priority": "high",
                "tags": ["VIP", "加急"],
            },
        }

    # One create first, so that the counted ones find the per-process configuration caches
    # (SLA policies, triage rules and model, categories) loaded, as a running server does.
    send("supervisor", "/api/v1/cases", bodies(0)["new customer"])
    for label, body in bodies(1).items():
        status, _data, queries = captured("supervisor", "/api/v1/cases", body)
        walls = []
        with TransactionClock() as clock:
            for k in range(2, REPEAT + 2):
                started = time.perf_counter()
                send("supervisor", "/api/v1/cases", bodies(k)[label])
                walls.append(time.perf_counter() - started)
        report["create"][label] = {
            "status": status,
            "queries": len(queries),
            "request_ms": _median_ms(walls),
            "transaction_ms": _median_ms(clock.holds) if clock.holds else None,
            "detail": _summary(queries),
        }

    for who, query in LIST_SCENARIOS:
        path = f"/api/v1/cases?{query}"
        entry: dict[str, Any] = {}
        pages, cursor = 0, None
        while pages == 0 or (cursor and pages < DEEP_PAGE):
            page_path = f"{path}&cursor={cursor}" if cursor else path
            _status, data = send(who, page_path)
            cursor = data.get("next_cursor")
            pages += 1
        targets = [("first", path, 1)]
        if cursor:
            targets.append(("deep", f"{path}&cursor={cursor}", pages + 1))
        for key, page_path, page in targets:
            status, _data, queries = captured(who, page_path)
            walls = []
            for _ in range(REPEAT):
                started = time.perf_counter()
                send(who, page_path)
                walls.append(time.perf_counter() - started)
            item: dict[str, Any] = {
                "page": page,
                "status": status,
                "queries": len(queries),
                "request_ms": _median_ms(walls),
                "detail": _summary(queries),
            }
            sql = _main_list_sql(queries)
            if sql:
                item["plan"] = _plan(sql)
                item["sql_ms"] = _sql_ms(sql)
            entry[key] = item
        report["list"][f"{who}: {query}"] = entry

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    for label, item in report["create"].items():
        print(
            f"[queries] POST /api/v1/cases ({label}): {item['queries']} queries, "
            f"{item['request_ms']} ms in-process, write transaction {item['transaction_ms']} ms"
        )
    for name, entry in report["list"].items():
        for item in entry.values():
            print(
                f"[queries] GET {name} page {item['page']}: {item['queries']} queries, "
                f"{item['request_ms']} ms in-process, main SQL {item.get('sql_ms')} ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
