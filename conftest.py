"""Shared fixtures: a small cast of personas and an API client per persona."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from afterdesk.accounts.models import Department, User
from afterdesk.accounts.services import api_token_create
from afterdesk.cases.services import CaseInput, case_create
from afterdesk.customers.models import Customer
from afterdesk.customers.services import CustomerInput, customer_resolve


@pytest.fixture(autouse=True)
def _fresh_config_caches() -> Any:
    """Each test starts with empty configuration caches: a rolled-back test transaction
    sends no signal, so a cache filled in one test could name rows the next one lacks."""
    from afterdesk.core.configcache import clear_all

    clear_all()
    yield
    clear_all()


class ApiClient:
    """A Django test client that speaks JSON with a bearer token."""

    def __init__(self, token: str | None) -> None:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        self.client = Client(**headers)

    def _send(self, method: str, path: str, data: Any = None, **extra: Any) -> Any:
        body = data if isinstance(data, str | bytes) else json.dumps(data)
        fn = getattr(self.client, method)
        if data is None:
            return fn(path, **extra)
        return fn(path, data=body, content_type="application/json", **extra)

    def get(self, path: str, params: dict[str, Any] | None = None, **extra: Any) -> Any:
        return self.client.get(path, params or {}, **extra)

    def post(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self._send("post", path, data if data is not None else {}, **extra)

    def patch(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self._send("patch", path, data if data is not None else {}, **extra)


@pytest.fixture
def departments(db: None) -> dict[str, Department]:
    return {d.code: d for d in Department.objects.all()}


def _staff(username: str, role: str, departments: list[Department]) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username, role=role)
    user.departments.set(departments)
    return user


@pytest.fixture
def agent(departments: dict[str, Department]) -> User:
    """A customer-service agent."""
    return _staff("agent", "agent", [departments["customer-service"]])


@pytest.fixture
def repair_agent(departments: dict[str, Department]) -> User:
    """An agent of the repair department only."""
    return _staff("repairer", "technician", [departments["repair"]])


@pytest.fixture
def supervisor(departments: dict[str, Department]) -> User:
    return _staff("supervisor", "supervisor", [departments["customer-service"]])


@pytest.fixture
def admin_user(departments: dict[str, Department]) -> User:
    user = _staff("admin", "admin", [])
    user.is_staff = user.is_superuser = True
    user.save()
    return user


def _customer_with_login(name: str, email: str) -> Customer:
    customer = customer_resolve(data=CustomerInput(name=name, email=email))
    customer.user = User.objects.create_user(username=email, role="customer", email=email)
    customer.save(update_fields=["user"])
    return customer


@pytest.fixture
def customer_a(db: None) -> Customer:
    return _customer_with_login("王小明", "a@example.com")


@pytest.fixture
def customer_b(db: None) -> Customer:
    return _customer_with_login("Bob Smith", "b@example.com")


@pytest.fixture
def api() -> Callable[[User | None], ApiClient]:
    """api(user) -> a client authenticated with a fresh token of `user` (None: anonymous)."""

    def make(user: User | None) -> ApiClient:
        if user is None:
            return ApiClient(None)
        _token, raw = api_token_create(user=user)
        return ApiClient(raw)

    return make


@pytest.fixture
def make_case(departments: dict[str, Department]) -> Callable[..., Any]:
    """make_case(customer=..., kind=..., **fields) through the real service."""

    def make(*, customer: Customer | None = None, actor: User | None = None, **fields: Any) -> Any:
        contact = CustomerInput(
            name=customer.name if customer else "Carol",
            email=customer.email if customer else "carol@example.com",
        )
        values: dict[str, Any] = {
            "kind": "complaint",
            "channel": "web",
            "subject": "Parcel arrived damaged",
            "description": "The box was crushed and the screen is cracked.",
        }
        values.update(fields)
        return case_create(actor=actor, data=CaseInput(customer=contact, **values))

    return make


# --- A settable clock (services, numbering, selectors, periodic and rate-limit tests) ----------


class Clock:
    """Stands in for `django.utils.timezone.now`: returns `now` until moved with set/advance."""

    def __init__(self, now: Any) -> None:
        self.now = now

    def __call__(self) -> Any:
        return self.now

    def set(self, now: Any) -> Any:
        self.now = now
        return now

    def advance(self, **delta: float) -> Any:
        from datetime import timedelta

        self.now = self.now + timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Freeze `timezone.now()` at 2026-11-23 09:00 UTC (17:00 in Asia/Shanghai)."""
    from datetime import UTC, datetime

    from django.utils import timezone

    frozen = Clock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    monkeypatch.setattr(timezone, "now", frozen)
    return frozen


# --- API test suite: raw-token clients, before/after snapshots, driving a case's status -------


@pytest.fixture
def api_raw() -> Callable[[str | None], ApiClient]:
    """api_raw(raw) -> a client that sends exactly `Authorization: Bearer <raw>` (None: none)."""
    return ApiClient


@pytest.fixture
def db_state(db: None) -> Callable[..., dict[str, Any]]:
    """db_state(*cases) -> row counts plus each case's row and tags, to compare before/after.

    On a refused request `db_state(case) == before` proves nothing was written.
    """
    from afterdesk.cases.models import Attachment, Case, CaseEvent, CaseLink, Message
    from afterdesk.customers.models import ContactPoint, Order

    def snapshot(*cases: Any) -> dict[str, Any]:
        state: dict[str, Any] = {
            "cases": Case.objects.count(),
            "customers": Customer.objects.count(),
            "contacts": ContactPoint.objects.count(),
            "events": CaseEvent.objects.count(),
            "messages": Message.objects.count(),
            "attachments": Attachment.objects.count(),
            "links": CaseLink.objects.count(),
            "orders": Order.objects.count(),
        }
        for case in cases:
            state[case.number] = Case.objects.filter(pk=case.pk).values().get()
            state[case.number]["tags"] = sorted(case.tags.values_list("name", flat=True))
        return state

    return snapshot


@pytest.fixture
def drive_case() -> Callable[..., Any]:
    """drive_case(case, status, at=None) -> the case moved to `status` through the service.

    `closed` goes by way of `resolved`; `at` back-dates the moves (e.g. out of a reopen window).
    """
    from afterdesk.cases.services import case_transition

    def drive(case: Any, status: str, *, at: Any = None) -> Any:
        if status == "new":
            return case
        if status == "closed":
            case = case_transition(actor=None, case=case, to="resolved", at=at)
        return case_transition(actor=None, case=case, to=status, at=at)

    return drive


# --- Browser tests -------------------------------------------------------------------------
# Playwright drives Debian's Chromium (never a downloaded browser). Without Chromium the
# browser tests skip locally, but fail under CI=true.
import os  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

SCREENSHOT_DIR = Path(__file__).resolve().parent / "var" / "screenshots"


def _chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser():
    chromium = _chromium_path()
    if chromium is None:
        message = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test
    # itself are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser page (1280×800, English) against the live test server."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="en-US", base_url=live_server.url
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """screenshot(page, "name") saves var/screenshots/name.png (`make screenshots` copies
    the latest set to docs/screenshots/)."""

    def take(page, name: str) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        assert path.stat().st_size > 0
        return path

    return take


# --- Database-specific tests -----------------------------------------------------------------
# CI runs the suite once on SQLite and once on PostgreSQL. A test that exercises one engine's
# behaviour (row locks under real concurrency, SQLite's file locking) is deselected on the
# other, rather than skipped, so a skip always means something is missing.


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    unwanted = "sqlite_only" if "postgresql" in engine else "postgres_only"
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker(unwanted) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    for item in items:
        _restore_seed_data_around(item)


def _restore_seed_data_around(item):
    """Every transactional test starts from the migrated seed data (departments, categories,
    calendars, mailboxes...) and leaves none of its own rows behind.

    A transactional test ends by emptying every table. Without serialized rollback, the
    next transactional test would find no seed rows, and the content types re-created after
    the flush (with new ids) would collide with a later restore; with it on all of them, each
    one reloads the seed data and the flush skips that re-creation.
    """
    marker = item.get_closest_marker("django_db")
    if marker is None or not (marker.kwargs.get("transaction") or (marker.args[:1] == (True,))):
        return
    if marker.kwargs.get("serialized_rollback"):
        return
    kwargs = {**marker.kwargs, "transaction": True, "serialized_rollback": True}
    item.add_marker(pytest.mark.django_db(**kwargs), append=False)
