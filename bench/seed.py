"""Seed a benchmark database with N cases; run by bench/run.py with the bench environment.

Migrates, creates the bench users and fresh API tokens, ~5,000 customers with contact points,
then bulk-inserts cases (numbers AS-YYYYMMDD-NNNNN consistent with CaseNumberCounter) with one
`case.created` event each. A database that already holds N cases is reused as it is; one with
fewer is topped up. Writes a JSON summary (with the raw tokens) to --output.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import django

from benchenv import (
    LIST_SCENARIOS,
    SEED_CUSTOMERS,
    customer_email,
    customer_phone,
    database_lock,
    database_url,
    sqlite_path,
    uses_own_sqlite_file,
)
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

BATCH = 10_000
HISTORY_DAYS = 365
TOKEN_NAME = "bench"

# Cases of the last two days are mostly untouched; older ones mostly done, with a backlog.
RECENT_STATUS_WEIGHTS = {
    "new": 40,
    "open": 40,
    "pending_customer": 8,
    "pending_internal": 8,
    "resolved": 3,
    "cancelled": 1,
}
OLDER_STATUS_WEIGHTS = {
    "closed": 44,
    "open": 25,
    "resolved": 10,
    "pending_customer": 8,
    "pending_internal": 6,
    "cancelled": 6,
    "new": 1,
}
DEPARTMENT_OF_KIND = {
    "complaint": "customer-service",
    "inquiry": "customer-service",
    "dispute": "customer-service",
    "repair": "repair",
    "return": "logistics",
    "exchange": "logistics",
}
ESCALATION = {"repair": "tech", "complaint": "product", "return": "product", "dispute": "product"}
CATEGORIES_OF_KIND = {
    "repair": ["product.quality", "product.doa", "product.missing_parts"],
    "return": [
        "product.not_as_described",
        "product.wrong_item",
        "product.quality",
        "transaction.refund",
    ],
    "exchange": ["product.wrong_item", "product.quality", "logistics.damage"],
    "complaint": [
        "service.slow_response",
        "service.attitude",
        "service.after_sales",
        "logistics.delay",
        "logistics.loss",
        "product.counterfeit",
    ],
    "inquiry": ["transaction.cancellation", "transaction.payment_security", "logistics.delay"],
    "dispute": ["transaction.refund", "product.counterfeit", "product.not_as_described"],
}
VIP_WEIGHTS = {"none": 90, "silver": 6, "gold": 3, "platinum": 1}
STAFF_PER_DEPARTMENT = 4


@dataclass(frozen=True)
class Reference:
    departments: dict[str, int]
    categories: dict[str, int]
    staff_by_department: dict[str, list[int]]
    all_staff: list[int]
    intake_staff: list[int]
    tags: list[int]


def log(message: str) -> None:
    print(f"[seed] {message}", flush=True)


def _weighted(rng: random.Random, weights: dict[str, int], k: int) -> list[str]:
    return rng.choices(list(weights), weights=list(weights.values()), k=k)


def chinese_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES_ZH) + "".join(rng.choices(GIVEN_ZH, k=rng.randint(1, 2)))


def english_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_EN)} {rng.choice(LAST_EN)}"


def prepare_database(*, fresh: bool, cases: int) -> None:
    """With --fresh, start from an empty database: delete the file, or empty the bench tables."""
    if not fresh:
        return
    if uses_own_sqlite_file():
        base = sqlite_path(cases)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{base}{suffix}").unlink(missing_ok=True)
        log(f"fresh: removed {base}")
        return
    from django.db import connection

    from afterdesk.accounts.models import ApiToken
    from afterdesk.cases.models import (
        Attachment,
        Case,
        CaseEvent,
        CaseLink,
        CaseNumberCounter,
        Message,
    )
    from afterdesk.customers.models import ContactPoint, Customer, Order, OrderLine

    models = [
        CaseEvent,
        Case.tags.through,
        Attachment,
        Message,
        CaseLink,
        Case,
        CaseNumberCounter,
        ContactPoint,
        OrderLine,
        Order,
        Customer,
        ApiToken,
    ]
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
    existing = set(connection.introspection.table_names())
    if not {m._meta.db_table for m in models} <= existing:
        return  # not migrated yet: nothing to empty
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    log("fresh: emptied the case, customer and token tables")


def tune_for_bulk_load() -> None:
    """Bulk loading on SQLite: no fsync per batch and a large page cache (this connection)."""
    from django.db import connection

    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-1048576")  # 1 GiB, only as far as it is used


def load_reference() -> Reference:
    from afterdesk.accounts.choices import Role
    from afterdesk.accounts.models import Department, User
    from afterdesk.cases.models import Category, Tag

    departments = {d.code: d.pk for d in Department.objects.all()}
    categories = {c.code: c.pk for c in Category.objects.all()}
    rng = random.Random(7)
    staff_by_department: dict[str, list[int]] = {}
    for code, department_id in departments.items():
        ids = []
        for k in range(STAFF_PER_DEPARTMENT):
            # The repair department's first agent is the one the list benchmark logs in as.
            username = "bench-agent" if (code, k) == ("repair", 0) else f"bench-{code}-{k}"
            first, last = (
                (rng.choice(GIVEN_ZH), rng.choice(SURNAMES_ZH))
                if k % 2
                else (rng.choice(FIRST_EN), rng.choice(LAST_EN))
            )
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"role": Role.AGENT, "first_name": first, "last_name": last},
            )
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            user.departments.add(department_id)
            ids.append(user.pk)
        staff_by_department[code] = ids
    supervisor, created = User.objects.get_or_create(
        username="bench-supervisor",
        defaults={"role": Role.SUPERVISOR, "first_name": "Sue", "last_name": "Visor"},
    )
    if created:
        supervisor.set_unusable_password()
        supervisor.save(update_fields=["password"])
    Tag.objects.bulk_create([Tag(name=n) for n in TAG_NAMES], ignore_conflicts=True)
    tags = list(Tag.objects.filter(name__in=TAG_NAMES).values_list("pk", flat=True))
    all_staff = [pk for ids in staff_by_department.values() for pk in ids]
    return Reference(
        departments=departments,
        categories=categories,
        staff_by_department=staff_by_department,
        all_staff=all_staff,
        intake_staff=staff_by_department.get("customer-service", all_staff),
        tags=tags,
    )


def issue_tokens() -> dict[str, str]:
    """New tokens for the supervisor and the repair agent.

    Other runs may still be using their tokens, so only bench tokens older than a day go.
    """
    from django.utils import timezone

    from afterdesk.accounts.models import ApiToken, User
    from afterdesk.accounts.services import api_token_create

    tokens: dict[str, str] = {}
    stale = timezone.now() - timedelta(days=1)
    for role, username in (("supervisor", "bench-supervisor"), ("agent", "bench-agent")):
        user = User.objects.get(username=username)
        ApiToken.objects.filter(user=user, name=TOKEN_NAME, created_at__lt=stale).delete()
        _token, raw = api_token_create(user=user, name=TOKEN_NAME)
        tokens[role] = raw
    return tokens


def ensure_customers() -> list[int]:
    """The seeded customers' ids in index order, creating the ones that are missing."""
    from django.db import transaction

    from afterdesk.customers.models import ContactPoint, Customer

    rng = random.Random(11)
    emails = [customer_email(i) for i in range(SEED_CUSTOMERS)]
    known = dict(
        ContactPoint.objects.filter(kind="email", normalized__in=emails).values_list(
            "normalized", "customer_id"
        )
    )
    missing = [i for i in range(SEED_CUSTOMERS) if emails[i] not in known]
    if missing:
        with transaction.atomic():
            customers = []
            for i in missing:
                english = i % 5 == 0
                customers.append(
                    Customer(
                        name=english_name(rng) if english else chinese_name(rng),
                        language="en" if english else "zh-hans",
                        vip_tier=_weighted(rng, VIP_WEIGHTS, 1)[0],
                        email=emails[i],
                        phone=customer_phone(i),
                    )
                )
            Customer.objects.bulk_create(customers, batch_size=BATCH)
            points = []
            for i, customer in zip(missing, customers, strict=True):
                known[emails[i]] = customer.pk
                points.append(
                    ContactPoint(
                        customer_id=customer.pk,
                        kind="email",
                        value=emails[i],
                        normalized=emails[i],
                    )
                )
                points.append(
                    ContactPoint(
                        customer_id=customer.pk,
                        kind="phone",
                        value=customer_phone(i),
                        normalized="+86" + customer_phone(i),
                    )
                )
            ContactPoint.objects.bulk_create(points, batch_size=BATCH)
        log(f"created {len(missing)} customers with {len(missing) * 2} contact points")
    return [known[e] for e in emails]


def _created_times(rng: random.Random, count: int, now: datetime) -> list[datetime]:
    """`count` creation times over the last HISTORY_DAYS days, oldest first."""
    span = HISTORY_DAYS * 86_400
    offsets = sorted((rng.random() * span for _ in range(count)), reverse=True)
    return [now - timedelta(seconds=max(offset, 1.0)) for offset in offsets]


def _batches(items: list[datetime], size: int) -> Iterator[list[datetime]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class CaseFactory:
    """Builds realistic Case rows; numbering continues each day's counter."""

    def __init__(
        self,
        *,
        rng: random.Random,
        ref: Reference,
        customers: list[int],
        counters: dict[date, int],
        now: datetime,
    ) -> None:
        from django.conf import settings

        self.rng = rng
        self.ref = ref
        self.customers = customers
        self.counters = counters
        self.now = now
        self.prefix = settings.CASE_NUMBER_PREFIX
        self.touched: set[date] = set()

    def _number(self, at: datetime) -> str:
        from django.utils import timezone

        day = timezone.localtime(at).date()
        sequence = self.counters.get(day, 0) + 1
        self.counters[day] = sequence
        self.touched.add(day)
        return f"{self.prefix}-{day:%Y%m%d}-{sequence:05d}"

    def _customer(self) -> int:
        # A tenth of the customers (the frequent buyers) open a third of the cases.
        if self.rng.random() < 0.33:
            return self.customers[self.rng.randrange(len(self.customers) // 10 or 1)]
        return self.rng.choice(self.customers)

    def build(self, times: list[datetime]) -> tuple[list[Any], list[list[int]]]:
        from afterdesk.cases.models import Case

        rng, ref = self.rng, self.ref
        n = len(times)
        kinds = _weighted(rng, KIND_WEIGHTS, n)
        channels = _weighted(rng, CHANNEL_WEIGHTS, n)
        priorities = _weighted(rng, PRIORITY_WEIGHTS, n)
        recent_cut = self.now - timedelta(days=2)
        cases: list[Any] = []
        tags: list[list[int]] = []
        for at, kind, channel, priority in zip(times, kinds, channels, priorities, strict=True):
            weights = RECENT_STATUS_WEIGHTS if at >= recent_cut else OLDER_STATUS_WEIGHTS
            status = _weighted(rng, weights, 1)[0]
            department = DEPARTMENT_OF_KIND[kind]
            if kind in ESCALATION and rng.random() < 0.04:
                department = ESCALATION[kind]
            owner = None
            if status != "new" and rng.random() < 0.9:
                if rng.random() < 0.01:
                    owner = rng.choice(ref.all_staff)  # helping out another department
                else:
                    owner = rng.choice(ref.staff_by_department[department])
            category = None
            if rng.random() < 0.85:
                category = ref.categories.get(rng.choice(CATEGORIES_OF_KIND[kind]))
            sku, product_zh, product_en = rng.choice(PRODUCTS)
            order_ref = f"{rng.choice(('JD', 'TB', 'PDD', 'WEB'))}{rng.randrange(10**9, 10**10)}"
            if rng.random() < 0.7:
                subject = rng.choice(SUBJECTS_ZH[kind]).format(p=product_zh)
                description = rng.choice(DESCRIPTIONS_ZH).format(o=order_ref)
            else:
                subject = rng.choice(SUBJECTS_EN[kind]).format(p=product_en)
                description = rng.choice(DESCRIPTIONS_EN).format(o=order_ref)
            has_order = rng.random() < 0.75
            money = kind in ("return", "exchange", "dispute") and has_order
            age = (self.now - at).total_seconds()
            updated = at + timedelta(seconds=rng.random() * min(age, 20 * 86_400))
            first_response = (
                at + timedelta(seconds=rng.random() * min(age, 8 * 3600))
                if status != "new"
                else None
            )
            resolved = closed = None
            if status in ("resolved", "closed"):
                resolved = updated
                if status == "closed":
                    closed = min(self.now, resolved + timedelta(days=rng.random() * 7))
                    updated = closed
            cases.append(
                Case(
                    number=self._number(at),
                    kind=kind,
                    channel=channel,
                    status=status,
                    priority=priority,
                    category_id=category,
                    subject=subject,
                    description=description,
                    customer_id=self._customer(),
                    owner_id=owner,
                    department_id=ref.departments.get(department),
                    order_ref=order_ref if has_order else "",
                    product_sku=sku if has_order else "",
                    serial=f"SN{rng.randrange(10**11, 10**12)}" if kind == "repair" else "",
                    amount=Decimal(rng.randrange(1_900, 899_900)) / 100 if money else None,
                    currency="CNY" if money else "",
                    is_complex=rng.random() < 0.03,
                    version=1 if status == "new" else rng.randint(2, 8),
                    created_by_id=rng.choice(ref.intake_staff)
                    if channel in ("phone", "chat")
                    else None,
                    created_at=at,
                    updated_at=updated,
                    first_response_at=first_response,
                    resolved_at=resolved,
                    closed_at=closed,
                )
            )
            tags.append(rng.sample(ref.tags, rng.randint(1, 2)) if rng.random() < 0.15 else [])
        return cases, tags


def _search_documents() -> Callable[[list[Any]], None] | None:
    """Writes the search documents (CaseSearch) of new cases as case_create does, when the
    Afterdesk being benchmarked has full-text search."""
    try:
        from afterdesk.cases.models import CaseSearch
        from afterdesk.cases.search import document_of
    except ImportError:
        return None
    from afterdesk.customers.models import Customer

    contacts = {
        pk: (name, email, phone)
        for pk, name, email, phone in Customer.objects.values_list("pk", "name", "email", "phone")
    }

    def write(cases: list[Any]) -> None:
        rows = []
        for c in cases:
            name, email, phone = contacts.get(c.customer_id, ("", "", ""))
            tokens = document_of(
                c.number,
                c.subject,
                c.description,
                c.order_ref,
                c.product_sku,
                c.serial,
                name,
                email,
                phone,
            )
            rows.append(CaseSearch(case_id=c.pk, tokens=tokens))
        CaseSearch.objects.bulk_create(rows, batch_size=BATCH)

    return write


def rebuild_derived() -> None:
    """What the services maintain and a bulk load bypasses: search documents of cases that lack
    one (a database seeded before search existed) and the queue counters."""
    from django.db import transaction

    from afterdesk.cases.models import Case

    write_search = _search_documents()
    if write_search is not None:
        missing = list(
            Case.objects.filter(search_document__isnull=True).values_list("pk", flat=True)
        )
        for start in range(0, len(missing), BATCH):
            with transaction.atomic():
                write_search(list(Case.objects.filter(pk__in=missing[start : start + BATCH])))
        if missing:
            log(f"indexed {len(missing):,} cases for search")
    try:
        from afterdesk.cases.counters import queue_counters_rebuild
    except ImportError:
        return
    log(f"rebuilt the queue counters: {queue_counters_rebuild()} buckets")


def insert_cases(*, count: int, ref: Reference, customers: list[int], seed: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from afterdesk.cases.models import Case, CaseEvent, CaseNumberCounter

    write_search = _search_documents()
    rng = random.Random(seed)
    now = timezone.now()
    counters = dict(CaseNumberCounter.objects.values_list("day", "last"))
    factory = CaseFactory(rng=rng, ref=ref, customers=customers, counters=counters, now=now)
    department_codes = {pk: code for code, pk in ref.departments.items()}
    category_codes = _category_codes()
    TagLink = Case.tags.through
    started = time.monotonic()
    done = 0
    step = 1
    for times in _batches(_created_times(rng, count, now), BATCH):
        cases, tags = factory.build(times)
        with transaction.atomic():
            Case.objects.bulk_create(cases, batch_size=BATCH)
            CaseEvent.objects.bulk_create(
                [
                    CaseEvent(
                        case_id=c.pk,
                        at=c.created_at,
                        actor_id=c.created_by_id,
                        type="case.created",
                        payload={
                            "number": c.number,
                            "kind": c.kind,
                            "channel": c.channel,
                            "priority": c.priority,
                            "status": "new",
                            "category": category_codes.get(c.category_id),
                            "department": department_codes.get(c.department_id),
                            "customer": c.customer_id,
                        },
                    )
                    for c in cases
                ],
                batch_size=BATCH,
            )
            TagLink.objects.bulk_create(
                [
                    TagLink(case_id=c.pk, tag_id=tag)
                    for c, names in zip(cases, tags, strict=True)
                    for tag in names
                ],
                batch_size=BATCH,
            )
            if write_search is not None:
                write_search(cases)
        done += len(cases)
        if done * 10 >= step * count:  # progress every tenth
            rate = done / max(time.monotonic() - started, 1e-9)
            log(f"{done:>9,} / {count:,} cases ({rate:,.0f}/s)")
            step = done * 10 // count + 1
    with transaction.atomic():
        CaseNumberCounter.objects.bulk_create(
            [CaseNumberCounter(day=d, last=factory.counters[d]) for d in sorted(factory.touched)],
            update_conflicts=True,
            unique_fields=["day"],
            update_fields=["last"],
            batch_size=BATCH,
        )


def _category_codes() -> dict[int | None, str | None]:
    from afterdesk.cases.models import Category

    codes: dict[int | None, str | None] = {None: None}
    codes.update(dict(Category.objects.values_list("pk", "code")))
    return codes


def analyse() -> None:
    """Fresh statistics, so the query planner knows the new distribution."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def scenario_counts() -> dict[str, int]:
    """How many cases each list scenario matches, as the user who asks may see them."""
    from afterdesk.accounts.models import User
    from afterdesk.cases.models import Case
    from afterdesk.cases.permissions import restrict_cases

    lookups = {
        "status": "status__in",
        "kind": "kind__in",
        "priority": "priority__in",
        "channel": "channel__in",
        "department": "department__code",
    }
    users = {
        "supervisor": User.objects.get(username="bench-supervisor"),
        "agent": User.objects.get(username="bench-agent"),
    }
    counts: dict[str, int] = {}
    for who, query in LIST_SCENARIOS:
        filters: dict[str, Any] = {}
        for key, value in parse_qsl(query):
            if key in lookups:
                lookup = lookups[key]
                filters[lookup] = value.split(",") if lookup.endswith("__in") else value
        qs = restrict_cases(Case.objects.all(), users[who]).filter(**filters)
        counts[f"{who}: {query}"] = qs.count()
    return counts


def seed(cases: int, *, fresh: bool, output: Path) -> None:
    started = time.monotonic()
    if uses_own_sqlite_file():
        prepare_database(fresh=fresh, cases=cases)
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from afterdesk.cases.models import Case

    if not uses_own_sqlite_file():
        prepare_database(fresh=fresh, cases=cases)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    tune_for_bulk_load()
    ref = load_reference()
    tokens = issue_tokens()
    customers = ensure_customers()
    existing = Case.objects.count()
    if existing >= cases:
        log(f"reusing {database_url(cases)}: {existing:,} cases (>= {cases:,})")
        seeded = 0
        rebuild_derived()
    else:
        seeded = cases - existing
        if existing:
            log(f"topping up from {existing:,} to {cases:,} cases")
        insert_cases(count=seeded, ref=ref, customers=customers, seed=cases + existing)
        rebuild_derived()
        analyse()
    counts = scenario_counts()
    elapsed = time.monotonic() - started
    summary = {
        "database_url": database_url(cases),
        "vendor": connection.vendor,
        "cases": Case.objects.count(),
        "seeded": seeded,
        "reused": seeded == 0,
        "seconds": round(elapsed, 1),
        "tokens": tokens,
        "scenario_counts": counts,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(summary, indent=2))
    output.chmod(0o600)
    for name, count in counts.items():
        log(f"{count:>9,} cases match {name}")
    log(f"done in {elapsed:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, required=True)
    parser.add_argument("--fresh", action="store_true", help="start from an empty database")
    parser.add_argument("--output", type=Path, required=True, help="JSON summary (with tokens)")
    args = parser.parse_args(argv)
    with database_lock(args.cases, exclusive=True, who="seed"):
        seed(args.cases, fresh=args.fresh, output=args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
