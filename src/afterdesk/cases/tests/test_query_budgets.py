"""Query budgets of the case API: the exact number of SQL statements per request.

Each budget is the same for 1 and for 30 cases (or messages, events, attachments, tags): no
N+1. A change that adds a query fails here; raise a budget only for a query that is worth it.
The counts include the token look-up and, for writes, the SAVEPOINT/RELEASE of the service's
transaction. They are the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from afterdesk.accounts.models import ApiToken
from afterdesk.cases import services

pytestmark = pytest.mark.django_db

CASES = "/api/v1/cases"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

# (endpoint, persona) -> queries per request.
# list:     token; [agent: department ids]; the page of cases; their tags.
# detail:   token; the case; its tags; [agent: department ids]; its links.
# events:   token; the case; [agent: department ids]; the events.
# messages: token; the case; [agent: department ids]; the messages with authors; attachments.
# create:   token; [customer: profile]; SAVEPOINT; the look-up of both contacts; the day's
#           number counter; the case; its search row; the created event; its queue counter;
#           RELEASE. (Categories and departments come from the per-process configuration cache.)
BASE: dict[tuple[str, str], int] = {
    ("list", "supervisor"): 3,
    ("list", "agent"): 4,
    ("list", "customer"): 3,
    ("detail", "supervisor"): 4,
    ("detail", "agent"): 5,
    ("detail", "customer"): 4,
    ("events", "supervisor"): 3,
    ("events", "agent"): 4,
    ("events", "customer"): 3,
    ("messages", "supervisor"): 4,
    ("messages", "agent"): 5,
    ("messages", "customer"): 4,
    ("create", "supervisor"): 9,
    ("create", "agent"): 9,
    ("create", "customer"): 10,
}
# With the SLA app (afterdesk.sla): staff lists and details load the clocks (a list +2: the
# page's timers in one prefetch and their few calendars in another, rather than a calendar
# built for each of hundreds of timers; a detail +1: the case's timers); a create inserts the timers (+1), matching
# the policies from the per-process configuration cache (their sla.started events go into the
# INSERT of the created event); an agent's create also looks up the agent's departments (+1).
SLA_EXTRA: dict[tuple[str, str], int] = {
    ("list", "supervisor"): 2,
    ("list", "agent"): 2,
    ("detail", "supervisor"): 1,
    ("detail", "agent"): 1,
    ("create", "supervisor"): 1,
    ("create", "agent"): 2,
    ("create", "customer"): 1,
}
# With the intake app (afterdesk.intake): a create queues the e-mail acknowledgement (+1: the
# outbound message; its hourly cap per address is applied when it is sent).
INTAKE_EXTRA: dict[tuple[str, str], int] = {
    ("create", "supervisor"): 1,
    ("create", "agent"): 1,
    ("create", "customer"): 1,
}
# With the triage app (afterdesk.triage): an uncategorised case with no rule, route or model
# to categorise it waits in "needs triage" (+1: its suggestion row); rules, routes and the
# model come from the per-process configuration cache.
TRIAGE_EXTRA: dict[tuple[str, str], int] = {
    ("create", "supervisor"): 1,
    ("create", "agent"): 1,
    ("create", "customer"): 1,
}
BUDGETS: dict[tuple[str, str], int] = {
    key: base
    + (SLA_EXTRA.get(key, 0) if apps.is_installed("afterdesk.sla") else 0)
    + (INTAKE_EXTRA.get(key, 0) if apps.is_installed("afterdesk.intake") else 0)
    + (TRIAGE_EXTRA.get(key, 0) if apps.is_installed("afterdesk.triage") else 0)
    for key, base in BASE.items()
}
PERSONAS = ["supervisor", "agent", "customer"]


@pytest.fixture
def personas(supervisor, agent, customer_a) -> dict[str, Any]:
    return {"supervisor": supervisor, "agent": agent, "customer": customer_a.user}


@pytest.fixture
def quiet_api(api):
    """api(user) whose token was just used: the request does not also stamp last_used_at."""

    def make(user: Any) -> Any:
        client = api(user)
        ApiToken.objects.filter(user=user).update(last_used_at=timezone.now())
        return client

    return make


def _populate(n: int, *, make_case, customer_a, supervisor, agent) -> Any:
    """n cases of customer A in customer service (tags, category, owner on each), and on the
    first one n public messages, each with an attachment, and n events of each kind."""
    cases = [
        make_case(
            customer=customer_a,
            subject=f"case {i}",
            category="product.doa" if i % 2 else "logistics.delay",
            tags=(f"t{i}", "common"),
        )
        for i in range(n)
    ]
    for case in cases:
        services.case_assign(actor=supervisor, case=case, owner=supervisor)
    first = cases[0]
    for i in range(n):
        message = services.case_add_message(actor=supervisor, case=first, body=f"reply {i}")
        services.case_add_attachment(
            actor=supervisor,
            case=first,
            upload=SimpleUploadedFile(f"p{i}.png", PNG + bytes([i]), "image/png"),
            message=message,
        )
    return first


@pytest.mark.parametrize("n", [1, 30])
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", ["list", "detail", "events", "messages"])
def test_read_budgets(
    django_assert_num_queries,
    quiet_api,
    personas,
    make_case,
    customer_a,
    supervisor,
    agent,
    endpoint,
    persona,
    n,
):
    first = _populate(
        n, make_case=make_case, customer_a=customer_a, supervisor=supervisor, agent=agent
    )
    client = quiet_api(personas[persona])
    path = {
        "list": CASES,
        "detail": f"{CASES}/{first.number}",
        "events": f"{CASES}/{first.number}/events",
        "messages": f"{CASES}/{first.number}/messages",
    }[endpoint]

    with django_assert_num_queries(BUDGETS[(endpoint, persona)]):
        response = client.get(path)

    assert response.status_code == 200
    if endpoint == "list":
        assert len(response.json()["items"]) == n
    elif endpoint == "messages":
        assert len(response.json()) == n
        assert all(len(m["attachments"]) == 1 for m in response.json())


def test_list_budget_with_filters_and_a_cursor(
    django_assert_num_queries, quiet_api, make_case, customer_a, supervisor, agent
):
    _populate(30, make_case=make_case, customer_a=customer_a, supervisor=supervisor, agent=agent)
    client = quiet_api(agent)
    cursor = client.get(CASES, {"limit": 10}).json()["next_cursor"]
    ApiToken.objects.update(last_used_at=timezone.now())

    with django_assert_num_queries(BUDGETS[("list", "agent")]):
        response = client.get(
            CASES,
            {
                "limit": 10,
                "cursor": cursor,
                "category": "product",
                "owner": "supervisor",
                "q": "case",
            },
        )

    assert response.status_code == 200
    assert len(response.json()["items"]) == 10


@pytest.mark.parametrize("persona", PERSONAS)
def test_create_budget(
    django_assert_num_queries, quiet_api, personas, make_case, customer_a, persona
):
    make_case()  # today's number counter and the queue's counter row exist, as they mostly do
    client = quiet_api(personas[persona])
    body = {
        "kind": "complaint",
        "channel": "web",
        "subject": "Budget",
        "customer": {"name": customer_a.name, "email": customer_a.email},
    }

    with django_assert_num_queries(BUDGETS[("create", persona)]):
        response = client.post(CASES, body)

    assert response.status_code == 201
    assert response.json()["customer"]["id"] == customer_a.pk


def _warm_configuration_caches() -> None:
    """Load the per-process configuration a create reads, as a running server has it."""
    from afterdesk.cases.config import taxonomy

    taxonomy()
    if apps.is_installed("afterdesk.sla"):
        from afterdesk.sla.selectors import sla_config

        sla_config()
    if apps.is_installed("afterdesk.triage"):
        from afterdesk.triage.cache import snapshot

        snapshot()


def test_configuration_is_cached_between_creates(django_assert_num_queries, quiet_api, supervisor):
    """The first create in a process loads categories, departments and SLA policies; the
    next one reads none of them, and a change to a category is seen at once."""
    from afterdesk.cases.models import Category

    client = quiet_api(supervisor)
    body = {"kind": "inquiry", "subject": "One", "customer": {"email": "one@example.com"}}
    assert client.post(CASES, body).status_code == 201
    with CaptureQueriesContext(connection) as queries:
        assert client.post(CASES, body).status_code == 201
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    assert "cases_category" not in tables
    assert "accounts_department" not in tables
    assert "sla_slatarget" not in tables

    Category.objects.create(code="fresh", name_en="Fresh", name_zh="新")
    response = client.post(CASES, {**body, "category": "fresh"})
    assert response.status_code == 201, response.content


def test_first_case_of_the_day_also_creates_the_counter(
    django_assert_num_queries, quiet_api, supervisor
):
    client = quiet_api(supervisor)
    body = {"kind": "inquiry", "subject": "First", "customer": {"email": "new@example.com"}}
    _warm_configuration_caches()

    # The create budget, but a new customer: the customer and its contact inserted inside
    # their own SAVEPOINT/RELEASE (+4); and neither a number counter row for the day nor a
    # queue counter row for the bucket yet: after each UPDATE finds none,
    # SAVEPOINT/INSERT/RELEASE (+3 each).
    with django_assert_num_queries(BUDGETS[("create", "supervisor")] + 10):
        response = client.post(CASES, body)

    assert response.status_code == 201
    assert response.json()["number"].endswith("-00001")


def _list_queries(client: Any) -> int:
    ApiToken.objects.update(last_used_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CASES, {"limit": 200})
    assert response.status_code == 200
    return len(queries)


def test_list_budget_does_not_grow_with_closed_cases(quiet_api, make_case, drive_case, supervisor):
    client = quiet_api(supervisor)
    drive_case(make_case(subject="closed 0"), "closed")
    one = _list_queries(client)
    for i in range(1, 30):
        drive_case(make_case(subject=f"closed {i}"), "closed")

    thirty = _list_queries(client)

    # The reopen window (CaseSettings) is read once for a page with closed cases.
    assert one == thirty == BUDGETS[("list", "supervisor")] + 1
