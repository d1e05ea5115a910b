"""`afterdesk demo`: load a realistic, back-dated demo installation.

Staff, products, customers with orders and about a year of cases, written through the same
services the product uses (`customer_import`, `order_import`, `case_create`, `case_assign`,
`case_add_message`, `case_transition`, `case_link`), so every case has its complete event log.
The texts come from `afterdesk.core.demo_data`; the random generator is seeded, so the same
seed gives the same data.
"""

from __future__ import annotations

import bisect
import random
import string
import time
from argparse import ArgumentParser
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from afterdesk.accounts.models import Department, User
from afterdesk.cases.choices import Channel, Kind, LinkKind, Priority, Status
from afterdesk.cases.models import Case, CaseEvent, CaseLink, Message
from afterdesk.cases.services import (
    CaseInput,
    case_add_message,
    case_assign,
    case_create,
    case_link,
    case_transition,
)
from afterdesk.core import demo_data as data
from afterdesk.customers.choices import Language, VipTier
from afterdesk.customers.models import Customer, Order, Product
from afterdesk.customers.services import (
    CustomerImport,
    CustomerInput,
    OrderLineInput,
    customer_import,
    order_import,
)
from afterdesk.rma.demo import rma_demo_load
from afterdesk.settings.env import env_int, env_str
from afterdesk.triage.demo import triage_demo_load

BATCH_SIZE = 100
MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
HISTORY_DAYS = 365
ORDER_HISTORY_DAYS = 540
# Nothing is dated later than this before the moment the command runs.
SAFETY_MARGIN = timedelta(minutes=2)
AUTO_CLOSE_NOTE = "auto-closed: no reply within 7 days of the resolution"
# Cases arriving through these channels are filed by the shop integration, not the customer.
INTEGRATION_CHANNELS = frozenset({Channel.MARKETPLACE, Channel.API})
# Which statuses a case of a given age (in days, upper bound) is likely to be in.
STATUS_BY_AGE: tuple[tuple[float, dict[str, float]], ...] = (
    (1, {"new": 40, "open": 30, "pending_customer": 10, "pending_internal": 8, "resolved": 8,
         "cancelled": 4}),
    (3, {"new": 12, "open": 30, "pending_customer": 18, "pending_internal": 15, "resolved": 18,
         "closed": 2, "cancelled": 5}),
    (10, {"new": 2, "open": 14, "pending_customer": 12, "pending_internal": 12, "resolved": 30,
          "closed": 25, "cancelled": 5}),
    (30, {"open": 4, "pending_customer": 3, "pending_internal": 4, "resolved": 6, "closed": 78,
          "cancelled": 5}),
    (float("inf"), {"open": 0.6, "pending_internal": 0.8, "closed": 93.6, "cancelled": 5}),
)  # fmt: skip
ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_INTERNAL)


@dataclass
class DemoOrder:
    customer: DemoCustomer
    order: Order
    placed_at: datetime
    delivered_at: datetime | None
    currency: str
    # (product, serial, unit price)
    lines: list[tuple[data.DemoProduct, str, Decimal]]


@dataclass
class DemoCustomer:
    customer: Customer
    name: str
    greeting: str
    language: str
    email: str
    phone: str
    tier: str
    weight: float
    dedicated_agent: User | None = None
    orders: list[DemoOrder] = field(default_factory=list)


@dataclass
class CasePlan:
    # Seeds the plan's own random stream, so one case can't shift the draws of all others.
    key: int
    at: datetime
    scenario: data.Scenario
    customer: DemoCustomer
    channel: str
    status: str = ""
    order: DemoOrder | None = None
    line: int = 0
    department: str = ""
    priority: str = Priority.NORMAL
    tags: set[str] = field(default_factory=set)
    duplicate_of: CasePlan | None = None
    pinned: bool = False
    case: Case | None = None


@dataclass(frozen=True)
class Step:
    """One back-dated service call in a case's history, `offset` seconds after creation."""

    offset: float
    action: str  # assign | transition | message
    actor: User | None = None
    owner: User | None = None
    to: str = ""
    note: str = ""
    body: str = ""
    internal: bool = False
    by_customer: bool = False


class Command(BaseCommand):
    help = "Load demo staff, customers, orders and a year of back-dated cases."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--cases",
            type=int,
            default=env_int("AFTERDESK_DEMO_CASES", 800, minimum=0),
            help="how many cases (default 800, or AFTERDESK_DEMO_CASES)",
        )
        parser.add_argument(
            "--customers",
            type=int,
            default=env_int("AFTERDESK_DEMO_CUSTOMERS", 200, minimum=1),
            help="how many customers (default 200, or AFTERDESK_DEMO_CUSTOMERS)",
        )
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when any case exists"
        )
        parser.add_argument(
            "--force", action="store_true", help="add demo data even when cases exist"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        existing = Case.objects.count()
        if existing:
            if options["if_empty"]:
                self.stdout.write(f"Demo data already exists ({existing} cases); nothing loaded.")
                return
            if not options["force"]:
                raise CommandError(
                    f"The database already holds {existing} cases. Use --if-empty to skip "
                    "loading, or --force to add demo data anyway."
                )
        if options["cases"] < 0:
            raise CommandError("--cases must be 0 or more.")
        if options["customers"] < 1:
            raise CommandError("--customers must be at least 1.")
        missing = {"customer-service", "repair", "logistics", "tech", "product"} - set(
            Department.objects.values_list("code", flat=True)
        )
        if missing:
            raise CommandError(
                "Departments missing (run `afterdesk migrate` first): " + ", ".join(missing)
            )

        password = env_str("DEMO_PASSWORD", "afterdesk-demo")
        before = _counts()
        started = time.monotonic()
        loader = DemoLoader(seed=options["seed"], password=password)
        loader.load(customers=options["customers"], cases=options["cases"])
        elapsed = time.monotonic() - started
        after = _counts()

        created = ", ".join(f"{after[k] - before[k]} {k}" for k in after)
        self.stdout.write(f"Demo data loaded in {elapsed:.1f} s: {created}.")
        self.stdout.write("Demo logins (username / password):")
        for username, label in (
            ("admin", "administrator"),
            ("supervisor", "supervisor"),
            ("zhang.wei", "customer-service agent"),
            ("sun.hao", "repair technician"),
            ("huang.li", "warehouse"),
        ):
            self.stdout.write(f"  {username} / {password} ({label})")
        host, port = env_str("HOST", "127.0.0.1"), env_str("PORT", "8000")
        self.stdout.write(f"Open http://{host}:{port}/ — API docs at /api/v1/docs")


def _counts() -> dict[str, int]:
    return {
        "staff": User.objects.exclude(role="customer").count(),
        "products": Product.objects.count(),
        "customers": Customer.objects.count(),
        "orders": Order.objects.count(),
        "cases": Case.objects.count(),
        "messages": Message.objects.count(),
        "events": CaseEvent.objects.count(),
        "links": CaseLink.objects.count(),
    }


class DemoLoader:
    """Builds the demo installation; one instance per run."""

    def __init__(self, *, seed: int, password: str) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.password = password
        self.now = timezone.now()
        self.staff: dict[str, User] = {}
        self.customers: list[DemoCustomer] = []
        self.orders_by_placed: list[tuple[datetime, int, DemoOrder]] = []
        self.orders_by_delivered: list[tuple[datetime, int, DemoOrder]] = []
        self.products_by_line: dict[str, list[data.DemoProduct]] = {}
        self.serials: set[str] = set()
        self.members = {m.username: m for m in (*data.STAFF, data.INTEGRATION_USER)}
        # Staff by role, and agents by their department: "technician", "customer-service", …
        self.by_role: dict[str, list[User]] = {}
        self.department_of_kind: dict[str, str] = {}

    def _reseed(self, *parts: object) -> None:
        """Start a fresh random stream for one customer, case or step of the load.

        Dates are relative to the moment of the run, so a draw can depend on the time of day
        (an order that fits one morning may not fit that evening). Separate streams keep such a
        difference from reshuffling everything drawn after it.
        """
        self.rng.seed(":".join(str(p) for p in (self.seed, *parts)))

    # ---- staff, products, customers, orders ------------------------------------------------

    def load(self, *, customers: int, cases: int) -> None:
        with transaction.atomic():
            self._create_staff()
            self._create_products()
            self._create_customers(customers)
        plans = self._plan_cases(cases)
        for start in range(0, len(plans), BATCH_SIZE):
            with transaction.atomic():
                for plan in plans[start : start + BATCH_SIZE]:
                    self._play(plan)
        with transaction.atomic():
            self._link(plans)
        # RMAs on the repair, return and exchange cases (afterdesk.rma.demo).
        rma_demo_load(seed=self.seed, now=self.now)
        # Default rules, agents' skills and shifts, and the first model (afterdesk.triage.demo).
        triage_demo_load(staff=self.staff)

    def _create_staff(self) -> None:
        # Hashing is deliberately slow; one hash serves every demo login (same password).
        hashed = make_password(self.password)
        departments = {d.code: d for d in Department.objects.all()}
        for department in departments.values():
            for kind in department.handles_kinds or []:
                self.department_of_kind.setdefault(kind, department.code)
        for member in (*data.STAFF, data.INTEGRATION_USER):
            user, _created = User.objects.get_or_create(username=member.username)
            user.role = member.role
            user.first_name = member.first_name
            user.last_name = member.last_name
            user.language = member.language
            user.email = f"{member.username}@afterdesk.example.com"
            user.is_active = True
            user.is_staff = user.is_superuser = member.role == "admin"
            if member.role == "integration":
                user.set_unusable_password()  # integrations sign in with API tokens only
            else:
                user.password = hashed
            user.save()
            user.departments.set([departments[code] for code in member.departments])
            self.staff[member.username] = user
        for member in data.STAFF:
            key = member.role if member.role != "agent" else member.departments[0]
            self.by_role.setdefault(key, []).append(self.staff[member.username])

    def _create_products(self) -> None:
        for product in data.PRODUCTS:
            Product.objects.update_or_create(
                sku=product.sku,
                defaults={
                    "name": product.name,
                    "product_line": product.product_line,
                    "warranty_months": product.warranty_months,
                },
            )
            self.products_by_line.setdefault(product.product_line, []).append(product)

    def _create_customers(self, count: int) -> None:
        rng = self.rng
        emails: set[str] = set()
        phones: set[str] = set()
        cs_agents = self.by_role["customer-service"]
        for index in range(count):
            self._reseed("customer", index)
            language = Language.EN if rng.random() < 0.25 else Language.ZH_HANS
            if language == Language.ZH_HANS:
                surname, surname_py = rng.choice(data.SURNAMES)
                given, given_py, gender = rng.choice(data.GIVEN_NAMES)
                name = surname + given
                greeting = surname + ("女士" if gender == "f" else "先生")
                local, domains = f"{given_py}.{surname_py}", data.EMAIL_DOMAINS_ZH
            else:
                first = rng.choice(data.ENGLISH_FIRST_NAMES)
                last = rng.choice(data.ENGLISH_LAST_NAMES)
                name, greeting = f"{first} {last}", first
                local, domains = f"{first}.{last}".lower(), data.EMAIL_DOMAINS_EN
            email = f"{local}@{rng.choice(domains)}"
            while email in emails:
                email = f"{local}{rng.randint(1, 999)}@{rng.choice(domains)}"
            emails.add(email)
            phone = _mobile(rng)
            while phone in phones:
                phone = _mobile(rng)
            phones.add(phone)
            tier = rng.choices(
                [VipTier.NONE, VipTier.SILVER, VipTier.GOLD, VipTier.PLATINUM], [80, 11, 6, 3]
            )[0]
            segment = rng.choices(["consumer", "business", "reseller"], [80, 13, 7])[0]
            organisation = ""
            if segment != "consumer":
                names = (
                    data.ORGANISATIONS_ZH if language == Language.ZH_HANS else data.ORGANISATIONS_EN
                )
                organisation = rng.choice(names)
            notes = ""
            if tier in (VipTier.GOLD, VipTier.PLATINUM):
                notes = "偏好电话联系。" if language == Language.ZH_HANS else "Prefers e-mail."
            customer, _created = customer_import(
                data=CustomerImport(
                    name=name,
                    external_ref=f"CRM-{index + 1:06d}",
                    emails=(email,),
                    phones=(phone,),
                    language=language,
                    vip_tier=tier,
                    segment=segment,
                    organisation=organisation,
                    notes=notes,
                )
            )
            dedicated = None
            if tier in (VipTier.GOLD, VipTier.PLATINUM) or (
                tier == VipTier.SILVER and rng.random() < 0.3
            ):
                english = [u for u in cs_agents if u.language == "en"]
                pool = english if language == Language.EN and english else cs_agents
                dedicated = rng.choice(pool)
                # customer_import does not carry the dedicated agent; set it beside it.
                Customer.objects.filter(pk=customer.pk).update(dedicated_agent=dedicated)
            weight = 1.0 + (0.8 if tier != VipTier.NONE else 0.0)
            weight += 1.0 if segment != "consumer" else 0.0
            demo_customer = DemoCustomer(
                customer, name, greeting, language, email, phone, tier, weight, dedicated
            )
            self.customers.append(demo_customer)
            for _n in range(rng.choices([1, 2, 3], [35, 40, 25])[0]):
                self._create_order(demo_customer)
        self.orders_by_placed.sort(key=lambda item: (item[0], item[1]))
        self.orders_by_delivered.sort(key=lambda item: (item[0], item[1]))

    def _create_order(self, customer: DemoCustomer) -> None:
        rng = self.rng
        source, prefix, currency, _share = rng.choices(
            data.ORDER_SOURCES, [s[3] for s in data.ORDER_SOURCES]
        )[0]
        if customer.language == Language.ZH_HANS and currency != "CNY":
            source, prefix, currency = "tmall", "TM", "CNY"
        age_days = max(1.5, ORDER_HISTORY_DAYS * rng.random() ** 1.3)
        placed = self.now - timedelta(days=age_days, minutes=rng.randint(0, 600))
        late = rng.random() < 0.15
        delivered: datetime | None = placed + timedelta(
            days=rng.uniform(5, 12) if late else rng.uniform(1, 4)
        )
        if delivered and delivered > self.now - timedelta(hours=2):
            delivered = None
        products = rng.choices(data.PRODUCTS, [p.popularity for p in data.PRODUCTS], k=2)
        lines = products[:1] if rng.random() < 0.7 or products[0] == products[1] else products
        demo_lines: list[tuple[data.DemoProduct, str, Decimal]] = []
        inputs: list[OrderLineInput] = []
        for product in lines:
            serial = self._serial(product, placed)
            price = product.price if currency == "CNY" else _usd(product.price)
            demo_lines.append((product, serial, price))
            inputs.append(OrderLineInput(sku=product.sku, serial=serial, unit_price=price))
        reference = f"{prefix}{placed:%y%m%d}{rng.randint(100000, 999999)}"
        while Order.objects.filter(reference=reference).exists():
            reference = f"{prefix}{placed:%y%m%d}{rng.randint(100000, 999999)}"
        order, _created = order_import(
            customer=customer.customer,
            reference=reference,
            placed_at=placed,
            delivered_at=delivered,
            source=source,
            currency=currency,
            lines=inputs,
        )
        demo_order = DemoOrder(customer, order, placed, delivered, currency, demo_lines)
        customer.orders.append(demo_order)
        key = len(self.orders_by_placed)
        self.orders_by_placed.append((placed, key, demo_order))
        if delivered is not None:
            self.orders_by_delivered.append((delivered, key, demo_order))

    def _serial(self, product: data.DemoProduct, placed: datetime) -> str:
        alphabet = string.ascii_uppercase + string.digits
        while True:
            tail = "".join(self.rng.choice(alphabet) for _ in range(6))
            serial = f"{product.sku.replace('-', '')}{placed:%y%m}{tail}"
            if serial not in self.serials:
                self.serials.add(serial)
                return serial

    # ---- planning ----------------------------------------------------------------------------

    def _plan_cases(self, count: int) -> list[CasePlan]:
        rng = self.rng
        kinds = list(data.KIND_WEIGHTS)
        by_kind = {k: [s for s in data.SCENARIOS if s.kind == k] for k in kinds}
        duplicates = count // 80 if count >= 20 else 0
        plans: list[CasePlan] = []
        for key in range(count - duplicates):
            self._reseed("plan", key)
            kind = rng.choices(kinds, [data.KIND_WEIGHTS[k] for k in kinds])[0]
            scenario = rng.choices(by_kind[kind], [s.weight for s in by_kind[kind]])[0]
            plans.append(self._plan(key, scenario))
        self._reseed("duplicates")
        for key, original in enumerate(rng.sample(plans, duplicates), start=len(plans)):
            self._reseed("plan", key)
            plans.append(self._duplicate(key, original))
        self._reseed("cover")
        self._cover(plans, by_kind)
        plans.sort(key=lambda p: (p.at, p.key))
        self._reseed("repeat")
        last_case: dict[int, datetime] = {}
        for plan in plans:
            previous = last_case.get(plan.customer.customer.pk)
            if previous and plan.at - previous < timedelta(days=14) and rng.random() < 0.5:
                plan.tags.add("repeat")
            last_case[plan.customer.customer.pk] = plan.at
        return plans

    def _plan(self, key: int, scenario: data.Scenario, at: datetime | None = None) -> CasePlan:
        rng = self.rng
        order: DemoOrder | None = None
        for _attempt in range(40):
            when = at or self._case_time()
            if scenario.order == "none":
                break
            order = self._order_for(scenario.order, when)
            if order is not None:
                break
        if scenario.order != "none" and order is None:
            # No order fits any sampled moment: take any order and date the case after it.
            order = rng.choice(self.orders_by_placed)[2]
            anchor = order.delivered_at or order.placed_at
            when = min(anchor + timedelta(hours=rng.uniform(2, 72)), self._latest())
        customer = (
            order.customer
            if order
            else rng.choices(self.customers, [c.weight for c in self.customers])[0]
        )
        channel = (
            rng.choice(scenario.channels)
            if scenario.channels
            else rng.choices(list(data.CHANNEL_WEIGHTS), list(data.CHANNEL_WEIGHTS.values()))[0]
        )
        plan = CasePlan(key=key, at=when, scenario=scenario, customer=customer, channel=channel)
        plan.order = order
        plan.line = rng.randrange(len(order.lines)) if order else 0
        plan.status = self._status_for(when)
        plan.department = scenario.department or self.department_of_kind.get(
            scenario.kind, "customer-service"
        )
        if scenario.kind in (Kind.RETURN, Kind.EXCHANGE) and rng.random() < 0.35:
            plan.department = "customer-service"
        plan.priority = self._priority(scenario, customer)
        plan.tags = set(scenario.tags)
        if customer.tier != VipTier.NONE:
            plan.tags.add("vip")
        if channel == Channel.SOCIAL:
            plan.tags.add("social-media")
        return plan

    def _duplicate(self, key: int, original: CasePlan) -> CasePlan:
        """The same problem sent again through another channel shortly after."""
        rng = self.rng
        at = min(original.at + timedelta(minutes=rng.uniform(5, 180)), self._latest())
        channels = [c for c in data.CHANNEL_WEIGHTS if c != original.channel]
        plan = CasePlan(
            key=key,
            at=max(at, original.at + timedelta(seconds=1)),
            scenario=original.scenario,
            customer=original.customer,
            channel=rng.choice(channels),
            status=Status.CANCELLED,
            order=original.order,
            line=original.line,
            department=original.department,
            priority=original.priority,
            tags=set(original.tags),
            duplicate_of=original,
            pinned=True,
        )
        original.pinned = True
        return plan

    def _cover(self, plans: list[CasePlan], by_kind: dict[str, list[data.Scenario]]) -> None:
        """Make sure every kind, channel and status occurs, even in a small demo."""
        if len(plans) < len(Status.values):
            return
        rng = self.rng
        free = [p for p in plans if not p.pinned]
        for kind in Kind.values:
            if not any(p.scenario.kind == kind for p in plans):
                common = Counter(p.scenario.kind for p in free).most_common(1)[0][0]
                replaced = next(p for p in free if p.scenario.kind == common)
                # The replacement keeps the moment; its status is planned afresh.
                scenario = rng.choices(by_kind[kind], [s.weight for s in by_kind[kind]])[0]
                replacement = self._plan(replaced.key, scenario, at=replaced.at)
                plans[plans.index(replaced)] = replacement
                free[free.index(replaced)] = replacement
        for channel in Channel.values:
            if not any(p.channel == channel for p in plans):
                common = Counter(p.channel for p in free).most_common(1)[0][0]
                victim = next(
                    (p for p in free if p.channel == common and not p.scenario.channels), None
                )
                if victim is None:
                    continue
                victim.channel = channel
                if channel == Channel.SOCIAL:
                    victim.tags.add("social-media")
        recent_first = sorted(free, key=lambda p: p.at, reverse=True)
        for status in Status.values:
            if any(p.status == status for p in plans):
                continue
            candidates = recent_first if status in ACTIVE_STATUSES else recent_first[::-1]
            chosen = next((p for p in candidates if not p.pinned), None)
            if chosen is None:
                break
            chosen.status = status
            chosen.pinned = True

    def _case_time(self) -> datetime:
        """More cases lately; at daytime hours in the installation's time zone."""
        rng = self.rng
        age_days = HISTORY_DAYS * rng.random() ** 1.5
        day = timezone.localtime(self.now - timedelta(days=age_days)).replace(
            hour=rng.choices(range(24), _HOUR_WEIGHTS)[0],
            minute=rng.randrange(60),
            second=rng.randrange(60),
        )
        if day > self._latest():
            day = self.now - timedelta(minutes=rng.uniform(10, 240))
        return day

    def _latest(self) -> datetime:
        return self.now - timedelta(minutes=10)

    def _order_for(self, timing: str, at: datetime) -> DemoOrder | None:
        if timing == "before_delivery":
            pool = self.orders_by_placed
            low, high = at - timedelta(days=12), at - timedelta(hours=20)
        elif timing == "after_delivery":
            pool = self.orders_by_delivered
            low, high = at - timedelta(days=10), at - timedelta(hours=1)
        else:  # in_use
            pool = self.orders_by_delivered
            low, high = at - timedelta(days=330), at - timedelta(days=20)
        start = bisect.bisect_left(pool, (low, -1))
        end = bisect.bisect_right(pool, (high, len(self.orders_by_placed)))
        candidates = [item[2] for item in pool[start:end]]
        if timing == "before_delivery":
            candidates = [o for o in candidates if o.delivered_at is None or o.delivered_at > at]
        return self.rng.choice(candidates) if candidates else None

    def _status_for(self, at: datetime) -> str:
        age = (self.now - at).total_seconds() / DAY
        weights = next(w for limit, w in STATUS_BY_AGE if age < limit)
        return self.rng.choices(list(weights), list(weights.values()))[0]

    def _priority(self, scenario: data.Scenario, customer: DemoCustomer) -> str:
        rng = self.rng
        priority = scenario.priority
        if priority == Priority.LOW and rng.random() < 0.2:
            priority = Priority.NORMAL
        elif priority == Priority.NORMAL:
            if customer.tier in (VipTier.GOLD, VipTier.PLATINUM) and rng.random() < 0.5:
                priority = Priority.HIGH
            else:
                priority = rng.choices([Priority.NORMAL, Priority.HIGH, Priority.LOW], [88, 7, 5])[
                    0
                ]
        return priority

    # ---- playing a plan through the services ---------------------------------------------

    def _play(self, plan: CasePlan) -> None:
        self._reseed("case", plan.key)
        rng = self.rng
        language = plan.customer.language
        texts = plan.scenario.zh if language == Language.ZH_HANS else plan.scenario.en
        phrases = data.PHRASES[language]
        owner = self._owner(plan)
        context = self._context(plan, owner)
        amount, currency = self._amount(plan)
        if amount is not None:
            context["amount"], context["currency"] = f"{amount:.2f}", currency
        description = _fill(rng.choice(texts.bodies), context)
        prefix = phrases.channel_prefixes.get(plan.channel, "")
        if prefix and not description.startswith(("[", "【")):
            description = prefix + description
        sku, serial = "", ""
        if plan.order:
            product, serial, _price = plan.order.lines[plan.line]
            sku = product.sku
        creator, by_customer = self._creator(plan, owner)
        case = case_create(
            actor=creator,
            by_customer=by_customer,
            at=plan.at,
            data=CaseInput(
                kind=plan.scenario.kind,
                channel=plan.channel,
                subject=_fill(rng.choice(texts.subjects), context),
                description=description,
                customer=CustomerInput(
                    name=plan.customer.name,
                    email="" if plan.channel == Channel.PHONE else plan.customer.email,
                    phone=plan.customer.phone,
                    language=language,
                ),
                order_ref=plan.order.order.reference if plan.order else "",
                product_sku=sku,
                serial=serial,
                amount=amount,
                currency=currency,
                priority=plan.priority,
                category=plan.scenario.category,
                department=plan.department,
                tags=tuple(sorted(plan.tags)),
                # Cases still open after a month are the hard ones.
                is_complex=plan.status in (Status.OPEN, Status.PENDING_INTERNAL)
                and (self.now - plan.at).days > 30,
            ),
        )
        context["number"] = case.number
        if plan.duplicate_of and plan.duplicate_of.case:
            context["original"] = plan.duplicate_of.case.number
        steps = self._timeline(plan, owner, texts, phrases, context)
        plan.case = self._run(case, plan, steps)

    def _owner(self, plan: CasePlan) -> User:
        rng = self.rng
        department = plan.department
        if department == "customer-service":
            dedicated = plan.customer.dedicated_agent
            if dedicated is not None and rng.random() < 0.8:
                return dedicated
            agents = self.by_role["customer-service"]
            if plan.customer.language == Language.EN and rng.random() < 0.4:
                agents = [a for a in agents if a.language == "en"] or agents
            return rng.choice(agents)
        pools = {"repair": "technician", "logistics": "warehouse", "tech": "tech"}
        key = pools.get(department, department)
        return rng.choice(self.by_role.get(key) or self.by_role["customer-service"])

    def _creator(self, plan: CasePlan, owner: User) -> tuple[User | None, bool]:
        if plan.channel in INTEGRATION_CHANNELS:
            return self.staff["shop-sync"], False
        if plan.channel == Channel.PHONE:
            # An agent logs the call; the call centre is customer service.
            if owner.role == "agent" and plan.department == "customer-service":
                return owner, False
            return self.rng.choice(self.by_role["customer-service"]), False
        return None, True

    def _amount(self, plan: CasePlan) -> tuple[Decimal | None, str]:
        kind = plan.scenario.amount
        if not kind:
            return None, ""
        if plan.order:
            _product, _serial, price = plan.order.lines[plan.line]
            currency = plan.order.currency
            total = sum((line[2] for line in plan.order.lines), Decimal("0"))
        else:
            price = self.rng.choice(data.PRODUCTS).price
            currency, total = "CNY", price
        if kind == "total":
            return total, currency
        if kind == "part":
            share = Decimal(str(round(self.rng.uniform(0.08, 0.3), 2)))
            return (price * share).quantize(Decimal("0.01")), currency
        return price, currency

    def _context(self, plan: CasePlan, owner: User) -> dict[str, Any]:
        rng = self.rng
        zh = plan.customer.language == Language.ZH_HANS
        if plan.order:
            product = plan.order.lines[plan.line][0]
            serial = plan.order.lines[plan.line][1]
            placed = timezone.localtime(plan.order.placed_at)
        else:
            product = rng.choices(data.PRODUCTS, [p.popularity for p in data.PRODUCTS])[0]
            serial = self._serial(product, plan.at)
            placed = timezone.localtime(plan.at - timedelta(days=rng.randint(3, 20)))
        siblings = [p for p in self.products_by_line[product.product_line] if p != product]
        wrong = rng.choice(siblings or list(data.PRODUCTS))
        courier_zh, courier_en, courier_code = rng.choice(data.COURIERS)
        if plan.scenario.order == "before_delivery" and plan.order:
            days = max(2, (plan.at - plan.order.placed_at).days)
        else:
            days = rng.randint(3, 15)
        return {
            "product": product.name_zh if zh else product.name,
            "wrong": wrong.name_zh if zh else wrong.name,
            "symptom": product.symptom_zh if zh else product.symptom_en,
            "fault": product.fault_zh if zh else product.fault_en,
            "part": product.part_zh if zh else product.part_en,
            "order": plan.order.order.reference if plan.order else "",
            "serial": serial,
            "date": f"{placed.month}月{placed.day}日" if zh else f"{placed.day} {placed:%B}",
            "days": days,
            "warranty": product.warranty_months,
            "amount": "",
            "currency": "",
            "courier": courier_zh if zh else courier_en,
            "tracking": _tracking(rng, courier_code),
            "customer_tracking": _tracking(rng, rng.choice(data.COURIERS)[2]),
            "customer": plan.customer.greeting,
            "agent": self._signature(owner, plan.customer.language),
            "number": "",
            "original": "",
            "tier": data.TIER_NAMES[plan.customer.language].get(plan.customer.tier, ""),
        }

    def _timeline(
        self,
        plan: CasePlan,
        owner: User,
        texts: data.Texts,
        phrases: data.Phrases,
        context: dict[str, Any],
    ) -> list[Step]:
        """The history of the case after its creation, ending in the planned status."""
        rng = self.rng
        steps: list[Step] = []
        clock = 0.0
        fast = plan.priority in (Priority.URGENT, Priority.HIGH) or plan.customer.tier in (
            VipTier.GOLD,
            VipTier.PLATINUM,
        )
        supervisor = self.staff["supervisor"]
        status = plan.status

        def later(low: float, high: float, *, quick: tuple[float, float] | None = None) -> None:
            """Advance the clock; `quick` is the range for urgent and VIP cases."""
            nonlocal clock
            if fast and quick is not None:
                low, high = quick
            clock += rng.uniform(low, high)

        def say(text: str, *, by_customer: bool = False, internal: bool = False) -> None:
            body = _fill(text, context)
            if not by_customer and not internal:
                body += _fill(phrases.signature, context)
            steps.append(
                Step(
                    clock,
                    "message",
                    actor=None if by_customer else owner,
                    body=body,
                    internal=internal,
                    by_customer=by_customer,
                )
            )

        def move(to: str, actor: User | None, note: str = "", by_customer: bool = False) -> None:
            steps.append(
                Step(clock, "transition", actor=actor, to=to, note=note, by_customer=by_customer)
            )

        assigner = rng.choices([None, supervisor, owner], [50, 30, 20])[0]
        if status == Status.NEW:
            if rng.random() < 0.4:
                later(2 * MINUTE, 60 * MINUTE)
                steps.append(Step(clock, "assign", actor=assigner, owner=owner))
            if rng.random() < 0.15:
                later(1 * HOUR, 10 * HOUR)
                say(rng.choice(phrases.chasers), by_customer=True)
            return self._fit(plan, steps)
        if plan.duplicate_of is not None:
            later(5 * MINUTE, 3 * HOUR)
            steps.append(Step(clock, "assign", actor=assigner, owner=owner))
            later(1 * MINUTE, 10 * MINUTE)
            say(phrases.duplicate_note, internal=True)
            move(Status.CANCELLED, owner, note="duplicate")
            return self._fit(plan, steps)
        if status == Status.CANCELLED and rng.random() < 0.35:
            later(10 * MINUTE, 5 * HOUR)
            say(rng.choice(phrases.withdrawals), by_customer=True)
            later(5 * MINUTE, 2 * HOUR)
            move(Status.CANCELLED, supervisor, note="withdrawn by customer")
            return self._fit(plan, steps)

        later(2 * MINUTE, 90 * MINUTE, quick=(1 * MINUTE, 15 * MINUTE))
        steps.append(Step(clock, "assign", actor=assigner, owner=owner))
        if plan.customer.tier != VipTier.NONE and rng.random() < 0.3:
            say(phrases.vip_note, internal=True)
        later(10 * MINUTE, 6 * HOUR, quick=(3 * MINUTE, 40 * MINUTE))
        first_contact = rng.random() < (0.6 if plan.scenario.kind == Kind.INQUIRY else 0.2)
        if status in (Status.RESOLVED, Status.CLOSED) and first_contact:
            # Answered and solved with the first reply.
            say(rng.choice(texts.resolutions))
            move(Status.RESOLVED, owner)
            return self._close(plan, steps, later, say, move, phrases)

        if status == Status.PENDING_CUSTOMER or rng.random() < 0.3:
            # The first reply asks for what is missing (photos, address, serial number).
            say(rng.choice(texts.asks or phrases.asks))
            move(Status.PENDING_CUSTOMER, owner)
            if status == Status.PENDING_CUSTOMER:
                return self._fit(plan, steps)
            later(1 * HOUR, 36 * HOUR)
            say(rng.choice(phrases.follow_ups), by_customer=True)  # reopens the case
        else:
            move(Status.OPEN, owner)
            say(rng.choice(phrases.acknowledgements))
        if status == Status.OPEN:
            if rng.random() < 0.3:
                later(2 * HOUR, 30 * HOUR)
                say(rng.choice(phrases.chasers), by_customer=True)
            return self._fit(plan, steps)
        if status == Status.PENDING_INTERNAL or rng.random() < 0.15:
            later(10 * MINUTE, 4 * HOUR)
            say(rng.choice(texts.notes + phrases.waiting_notes), internal=True)
            move(Status.PENDING_INTERNAL, owner)
            if status == Status.PENDING_INTERNAL:
                return self._fit(plan, steps)
            later(4 * HOUR, 72 * HOUR)
            move(Status.OPEN, owner, note=_fill(rng.choice(phrases.resumed_notes), context))
        if rng.random() < 0.04:
            others = [u for u in self._colleagues(owner) if u != owner]
            if others:
                owner = rng.choice(others)
                context["agent"] = self._signature(owner, plan.customer.language)
                later(30 * MINUTE, 8 * HOUR)
                say(phrases.handover_note, internal=True)
                steps.append(Step(clock, "assign", actor=supervisor, owner=owner))
        if rng.random() < 0.08:
            later(6 * HOUR, 48 * HOUR)
            say(rng.choice(phrases.chasers), by_customer=True)
            later(10 * MINUTE, 4 * HOUR)
            say(rng.choice(phrases.chase_answers))
        if status == Status.CANCELLED:
            later(2 * HOUR, 48 * HOUR)
            say(rng.choice(phrases.withdrawals), by_customer=True)
            later(10 * MINUTE, 3 * HOUR)
            move(Status.CANCELLED, owner, note="withdrawn by customer")
            return self._fit(plan, steps)

        later(4 * HOUR, 96 * HOUR, quick=(2 * HOUR, 36 * HOUR))
        say(rng.choice(texts.resolutions))
        move(Status.RESOLVED, owner)
        return self._close(plan, steps, later, say, move, phrases)

    def _close(
        self,
        plan: CasePlan,
        steps: list[Step],
        later: Callable[..., None],
        say: Callable[..., None],
        move: Callable[..., None],
        phrases: data.Phrases,
    ) -> list[Step]:
        """After the resolution: the customer confirms, or the case closes itself a week on."""
        if plan.status == Status.CLOSED:
            if self.rng.random() < 0.3:
                later(1 * HOUR, 48 * HOUR)
                say(self.rng.choice(phrases.thanks), by_customer=True)
                later(1, 2 * MINUTE)
                move(Status.CLOSED, None, by_customer=True)
            else:
                later(7 * DAY, 7 * DAY + 12 * HOUR)
                move(Status.CLOSED, None, note=AUTO_CLOSE_NOTE)
        return self._fit(plan, steps)

    def _fit(self, plan: CasePlan, steps: list[Step]) -> list[Step]:
        """Squeeze a history that would reach into the future into the time available."""
        if not steps:
            return steps
        available = (self.now - SAFETY_MARGIN - plan.at).total_seconds()
        last = steps[-1].offset
        if last <= available or last <= 0:
            return steps
        factor = max(available, 0.0) / last
        return [replace(step, offset=step.offset * factor) for step in steps]

    def _run(self, case: Case, plan: CasePlan, steps: list[Step]) -> Case:
        channel = Channel.EMAIL if plan.channel == Channel.API else plan.channel
        for step in steps:
            at = plan.at + timedelta(seconds=step.offset)
            if step.action == "assign":
                case = case_assign(actor=step.actor, case=case, owner=step.owner, at=at)
            elif step.action == "transition":
                case = case_transition(
                    actor=step.actor,
                    case=case,
                    to=step.to,
                    note=step.note,
                    by_customer=step.by_customer,
                    at=at,
                )
            else:
                case_add_message(
                    actor=step.actor,
                    case=case,
                    body=step.body,
                    internal=step.internal,
                    channel=Channel.WEB if step.internal else channel,
                    by_customer=step.by_customer,
                    at=at,
                )
        return case

    def _colleagues(self, user: User) -> list[User]:
        return next((group for group in self.by_role.values() if user in group), [user])

    def _signature(self, user: User, language: str) -> str:
        member = self.members[user.username]
        return member.chinese_signature if language == Language.ZH_HANS else member.latin_name

    # ---- links -------------------------------------------------------------------------------

    def _link(self, plans: list[CasePlan]) -> None:
        """Duplicates point at their original; some cases about one order are related."""
        supervisor = self.staff["supervisor"]
        for plan in plans:
            if plan.duplicate_of and plan.case and plan.duplicate_of.case:
                case_link(
                    actor=supervisor,
                    source=plan.case,
                    target=plan.duplicate_of.case,
                    kind=LinkKind.DUPLICATE_OF,
                )
        first_by_order: dict[str, CasePlan] = {}
        related = 0
        for plan in plans:
            if plan.order is None or plan.case is None or plan.duplicate_of is not None:
                continue
            reference = plan.order.order.reference
            earlier = first_by_order.setdefault(reference, plan)
            if (
                earlier is not plan
                and earlier.case is not None
                and earlier.scenario.kind != plan.scenario.kind
            ):
                case_link(
                    actor=supervisor, source=plan.case, target=earlier.case, kind=LinkKind.RELATED
                )
                related += 1
                if related >= max(1, len(plans) // 100):
                    return


# Cases arrive mostly in office hours and in the evening (Asia/Shanghai by default).
_HOUR_WEIGHTS = [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 3, 6, 9, 10, 9, 7, 8, 9, 9, 8, 7, 6, 7, 8, 7, 5, 3]


def _fill(template: str, context: dict[str, Any]) -> str:
    return template.format_map(context)


# Mobile number prefixes of the mainland networks.
_MOBILE_PREFIXES = (
    "130", "131", "132", "135", "136", "137", "138", "139", "150", "151",
    "152", "158", "159", "176", "177", "180", "186", "187", "188", "189",
)  # fmt: skip


def _mobile(rng: random.Random) -> str:
    prefix = rng.choice(_MOBILE_PREFIXES)
    return f"+86 {prefix} {rng.randint(0, 9999):04d} {rng.randint(0, 9999):04d}"


def _tracking(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{rng.randint(10**11, 10**12 - 1)}"


def _usd(cny: Decimal) -> Decimal:
    return (cny * data.USD_PER_CNY).quantize(Decimal("1")) - Decimal("0.01")
