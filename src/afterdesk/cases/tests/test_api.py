"""API v1, case endpoints: the contract as written in the issue, asserted exactly.

Permissions (who may see and do what) live in test_permissions.py, query counts in
test_query_budgets.py; this module covers shapes, behaviour, validation and errors.
"""

from __future__ import annotations

import base64
import json
import math
import re
import struct
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from afterdesk.cases import services
from afterdesk.cases.choices import ALLOWED, Status
from afterdesk.cases.models import Attachment, Case, CaseEvent, CaseSettings, Message
from afterdesk.customers.models import Customer
from afterdesk.customers.services import CustomerInput

pytestmark = pytest.mark.django_db

CASES = "/api/v1/cases"
NUMBER_RE = re.compile(r"^AS-(\d{8})-(\d{5})$")


def _png() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG = _png()


def case_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "repair",
        "channel": "phone",
        "subject": "Screen stays black",
        "description": "The TV does not switch on since yesterday.",
        "customer": {"name": "李雷", "email": "lilei@example.com", "phone": "+86 138 0013 8000"},
    }
    body.update(overrides)
    return body


def allowed_from(status: str) -> list[str]:
    return [s for s in Status.values if s in ALLOWED[status]]


def case_events(case: Case) -> Any:
    """The case's own audit events (`case.*`); other modules may log theirs beside them."""
    return CaseEvent.objects.filter(case=case, type__startswith="case.").order_by("at", "id")


def events_of(case: Case) -> list[tuple[str, str, Any, Any]]:
    return [(e.type, e.field, e.old, e.new) for e in case_events(case)]


# --- health, schema, docs ---------------------------------------------------------------------


def test_healthz_reports_ok(api):
    response = api(None).get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == connection.vendor


def test_openapi_is_openapi_3_and_lists_the_case_paths(api):
    response = api(None).get("/api/v1/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/cases",
        "/api/v1/cases/{number}",
        "/api/v1/cases/{number}/messages",
        "/api/v1/cases/{number}/transitions",
        "/api/v1/cases/{number}/events",
        "/api/v1/cases/{number}/attachments",
        "/api/v1/cases/{number}/attachments/{attachment_id}",
        "/api/v1/cases/{number}/links",
        "/api/v1/track",
        "/api/v1/customers",
        "/api/v1/customers/{customer_id}",
        "/api/v1/customers/{customer_id}/orders",
    } <= set(schema["paths"])
    assert set(schema["paths"]["/api/v1/cases"]) == {"get", "post"}
    assert set(schema["paths"]["/api/v1/cases/{number}"]) == {"get", "patch"}


def test_docs_page_is_served(api):
    response = api(None).get("/api/v1/docs")

    assert response.status_code == 200
    assert b"openapi.json" in response.content


# --- POST /cases --------------------------------------------------------------------------------


def test_create_case_returns_the_case(api, supervisor):
    day_before = timezone.localdate()
    start = timezone.now()

    response = api(supervisor).post(
        CASES,
        case_body(
            order_ref="SO-1001",
            product_sku="TV-55",
            serial="SN-0042",
            amount="199.90",
            currency="usd",
        ),
    )

    assert response.status_code == 201, response.content
    body = dict(response.json())
    case = Case.objects.get()
    match = NUMBER_RE.match(body["number"])
    assert match is not None
    assert match.group(1) in {f"{day_before:%Y%m%d}", f"{timezone.localdate():%Y%m%d}"}
    assert body["number"] == case.number
    created_at = parse_datetime(body["created_at"])
    assert created_at is not None
    assert start <= created_at <= timezone.now()
    del body["created_at"], body["updated_at"]
    if apps.is_installed("afterdesk.sla"):
        # The SLA clocks the seeded policies start (their figures are tested in afterdesk.sla).
        assert set(body.pop("sla")) == {"first_response", "first_feedback", "solution_plan"}
    assert body == {
        "number": case.number,
        "kind": "repair",
        "channel": "phone",
        "status": "new",
        "priority": "normal",
        "category": None,
        "subject": "Screen stays black",
        "description": "The TV does not switch on since yesterday.",
        "owner": None,
        "department": "repair",
        "customer": {
            "id": case.customer_id,
            "name": "李雷",
            "email": "lilei@example.com",
            "phone": "+86 138 0013 8000",
            "vip_tier": "none",
        },
        "order_ref": "SO-1001",
        "product_sku": "TV-55",
        "serial": "SN-0042",
        "amount": "199.90",
        "currency": "USD",
        "tags": [],
        "is_complex": False,
        "first_response_at": None,
        "resolved_at": None,
        "closed_at": None,
        "version": 1,
        "allowed_transitions": allowed_from("new"),
    }
    assert events_of(case) == [("case.created", "", None, None)]


def test_case_numbers_count_up_within_the_day(api, supervisor):
    client = api(supervisor)

    first = client.post(CASES, case_body()).json()["number"]
    second = client.post(CASES, case_body(subject="Another")).json()["number"]

    day1, seq1 = NUMBER_RE.match(first).groups()  # type: ignore[union-attr]
    day2, seq2 = NUMBER_RE.match(second).groups()  # type: ignore[union-attr]
    assert day1 == day2
    assert int(seq2) == int(seq1) + 1


def test_second_case_for_the_same_email_reuses_the_customer(api, supervisor):
    client = api(supervisor)
    first = client.post(CASES, case_body()).json()

    second = client.post(
        CASES,
        case_body(subject="Remote lost", customer={"name": "Li Lei", "email": "LiLei@Example.com"}),
    )

    assert second.status_code == 201
    assert second.json()["customer"]["id"] == first["customer"]["id"]
    assert Customer.objects.count() == 1
    assert Case.objects.filter(customer_id=first["customer"]["id"]).count() == 2


def test_create_with_category_department_priority_and_tags(api, supervisor):
    response = api(supervisor).post(
        CASES,
        case_body(
            kind="complaint",
            category="product.doa",
            department="logistics",
            priority="urgent",
            tags=["vip", "tv", "vip"],
            is_complex=True,
        ),
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["category"], body["department"], body["priority"]) == (
        "product.doa",
        "logistics",
        "urgent",
    )
    assert body["tags"] == ["tv", "vip"]
    assert body["is_complex"] is True
    created = CaseEvent.objects.get(case__number=body["number"], type="case.created")
    assert created.payload["category"] == "product.doa"
    assert created.payload["department"] == "logistics"
    assert created.payload["priority"] == "urgent"


def test_amount_without_currency_defaults_to_cny(api, supervisor):
    client = api(supervisor)
    number = client.post(CASES, case_body(amount="12.5")).json()["number"]

    detail = client.get(f"{CASES}/{number}").json()

    assert (detail["amount"], detail["currency"]) == ("12.50", "CNY")


def test_create_response_renders_the_amount_as_stored(api, supervisor):
    client = api(supervisor)
    created = client.post(CASES, case_body(amount="12.5")).json()

    detail = client.get(f"{CASES}/{created['number']}").json()

    assert created["amount"] == detail["amount"] == "12.50"


# --- GET /cases/{number} -------------------------------------------------------------------------


def test_get_case(api, supervisor, make_case, customer_a):
    case = make_case(customer=customer_a)

    response = api(supervisor).get(f"{CASES}/{case.number}")

    assert response.status_code == 200
    body = response.json()
    assert body["number"] == case.number
    assert body["customer"]["id"] == customer_a.pk
    assert body["status"] == "new"
    assert body["version"] == 1
    assert body["links"] == []


def test_get_unknown_case_is_404(api, supervisor):
    response = api(supervisor).get(f"{CASES}/AS-20200101-00001")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert set(response.json()["error"]) == {"code", "message"}


def test_get_case_shows_links_both_ways(api, supervisor, make_case):
    source = make_case()
    target = make_case(subject="Same parcel")
    client = api(supervisor)

    linked = client.post(
        f"{CASES}/{source.number}/links", {"target": target.number, "kind": "duplicate_of"}
    )

    assert linked.status_code == 201, linked.content
    assert linked.json() == {
        "kind": "duplicate_of",
        "direction": "outgoing",
        "number": target.number,
        "subject": "Same parcel",
        "status": "new",
    }
    incoming = client.get(f"{CASES}/{target.number}").json()["links"]
    assert incoming == [
        {
            "kind": "duplicate_of",
            "direction": "incoming",
            "number": source.number,
            "subject": source.subject,
            "status": "new",
        }
    ]
    assert events_of(source)[-1] == (
        "case.linked",
        "links",
        None,
        {"kind": "duplicate_of", "target": target.number},
    )


# --- GET /cases ----------------------------------------------------------------------------------


@pytest.fixture
def catalogue(make_case, departments, agent, supervisor, drive_case):
    """Six cases that differ in every filterable field, by label."""
    carol = CustomerInput(name="Carol", email="carol@example.com", phone="13812345678")
    dave = CustomerInput(name="Dave", email="dave@example.com")
    erin = CustomerInput(name="Erin", phone="+44 20 7946 0000")

    def create(label: str, contact: CustomerInput, **fields: Any) -> Case:
        values: dict[str, Any] = {"kind": "complaint", "channel": "web", "subject": label}
        values.update(fields)
        return services.case_create(actor=None, data=services.CaseInput(customer=contact, **values))

    cases = {
        "c1": create(
            "c1 parcel arrived damaged",
            carol,
            category="product.doa",
            priority="high",
            order_ref="SO-1001",
        ),
        "c2": create(
            "c2 screen flickers",
            dave,
            kind="repair",
            channel="phone",
            priority="urgent",
            category="logistics.damage",
        ),
        "c3": create(
            "c3 where is my refund",
            carol,
            kind="inquiry",
            channel="email",
            priority="low",
            order_ref="20261123001",
        ),
        "c4": create("c4 wrong colour", erin, kind="return", channel="chat", category="product"),
        "c5": create("c5 rude courier", dave, kind="dispute", channel="social"),
        "c6": create("c6 假冒商品 counterfeit", erin, kind="complaint", channel="marketplace"),
    }
    services.case_assign(actor=supervisor, case=cases["c2"], owner=agent)
    services.case_assign(actor=supervisor, case=cases["c3"], owner=supervisor)
    drive_case(cases["c3"], "open")
    drive_case(cases["c4"], "resolved")
    return {label: Case.objects.get(pk=c.pk) for label, c in cases.items()}


def _labels(response: Any, catalogue: dict[str, Case]) -> list[str]:
    by_number = {c.number: label for label, c in catalogue.items()}
    return [by_number[item["number"]] for item in response.json()["items"]]


FILTERS: list[tuple[str, Callable[[dict[str, Case]], dict[str, Any]], set[str]]] = [
    ("no filter", lambda c: {}, {"c1", "c2", "c3", "c4", "c5", "c6"}),
    ("status", lambda c: {"status": "open"}, {"c3"}),
    ("status list", lambda c: {"status": "open,resolved"}, {"c3", "c4"}),
    ("kind", lambda c: {"kind": "repair"}, {"c2"}),
    ("kind list", lambda c: {"kind": "inquiry,dispute"}, {"c3", "c5"}),
    ("channel", lambda c: {"channel": "chat"}, {"c4"}),
    ("category child", lambda c: {"category": "product.doa"}, {"c1"}),
    ("category parent matches children", lambda c: {"category": "product"}, {"c1", "c4"}),
    ("category other parent", lambda c: {"category": "logistics"}, {"c2"}),
    ("priority", lambda c: {"priority": "urgent,high"}, {"c1", "c2"}),
    ("owner username", lambda c: {"owner": "agent"}, {"c2"}),
    ("owner me", lambda c: {"owner": "me"}, {"c3"}),
    ("owner none", lambda c: {"owner": "none"}, {"c1", "c4", "c5", "c6"}),
    ("department", lambda c: {"department": "repair"}, {"c2"}),
    ("department 2", lambda c: {"department": "logistics"}, {"c4"}),
    ("customer", lambda c: {"customer": c["c1"].customer_id}, {"c1", "c3"}),
    (
        "created_after",
        lambda c: {"created_after": c["c4"].created_at.isoformat()},
        {"c4", "c5", "c6"},
    ),
    (
        "created_before",
        lambda c: {"created_before": c["c4"].created_at.isoformat()},
        {"c1", "c2", "c3"},
    ),
    (
        "created window",
        lambda c: {
            "created_after": c["c2"].created_at.isoformat(),
            "created_before": c["c5"].created_at.isoformat(),
        },
        {"c2", "c3", "c4"},
    ),
    ("q case number", lambda c: {"q": c["c5"].number}, {"c5"}),
    ("q case number lower case", lambda c: {"q": c["c5"].number.lower()}, {"c5"}),
    ("q email", lambda c: {"q": "Dave@Example.COM"}, {"c2", "c5"}),
    ("q phone other format", lambda c: {"q": "138 1234 5678"}, {"c1", "c3"}),
    ("q phone international", lambda c: {"q": "+8613812345678"}, {"c1", "c3"}),
    ("q order ref", lambda c: {"q": "SO-1001"}, {"c1"}),
    ("q subject text", lambda c: {"q": "COURIER"}, {"c5"}),
    ("q subject text in Chinese", lambda c: {"q": "假冒"}, {"c6"}),
    ("q nothing", lambda c: {"q": "no such thing"}, set()),
    ("combined", lambda c: {"customer": c["c1"].customer_id, "status": "open"}, {"c3"}),
]


@pytest.mark.parametrize(
    ("params", "expected"), [(f[1], f[2]) for f in FILTERS], ids=[f[0] for f in FILTERS]
)
def test_list_filters(api, supervisor, catalogue, params, expected):
    response = api(supervisor).get(CASES, params(catalogue))

    assert response.status_code == 200, response.content
    labels = _labels(response, catalogue)
    assert sorted(labels) == sorted(expected)  # each case at most once
    assert response.json()["next_cursor"] is None


def test_list_q_numeric_order_ref_lists_the_case_once(api, supervisor, catalogue):
    response = api(supervisor).get(CASES, {"q": "20261123001"})

    assert response.status_code == 200
    assert _labels(response, catalogue) == ["c3"]


def test_list_items_have_the_case_shape(api, supervisor, catalogue):
    response = api(supervisor).get(CASES, {"q": catalogue["c2"].number})

    assert set(response.json()) == {"items", "next_cursor"}
    (item,) = response.json()["items"]
    detail = api(supervisor).get(f"{CASES}/{catalogue['c2'].number}").json()
    del detail["links"]
    assert item == detail
    assert item["owner"] == {"username": "agent", "name": "agent"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"kind": "complaint,foo"}, "kind"),
        ({"channel": "pigeon"}, "channel"),
        ({"priority": "asap"}, "priority"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"customer": "abc"}, "customer"),
    ],
)
def test_list_rejects_bad_filters(api, supervisor, params, field):
    response = api(supervisor).get(CASES, params)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize("ordering", ["subject", "-id", "status", "created_at,id", "?"])
def test_list_ordering_outside_the_allow_list_is_refused(api, supervisor, make_case, ordering):
    make_case()

    response = api(supervisor).get(CASES, {"ordering": ordering})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_ordering"
    assert set(response.json()["error"]["fields"]) == {"ordering"}


@pytest.fixture
def timeline(make_case, customer_a):
    """Nine cases with ties in created_at and an updated_at order unlike the created order."""
    base = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    cases = []
    with pytest.MonkeyPatch.context() as patch:
        for minute in (0, 0, 0, 5, 5, 9, 12, 12, 30):
            patch.setattr(timezone, "now", lambda m=minute: base + timedelta(minutes=m))
            cases.append(make_case(customer=customer_a, subject=f"at +{minute} min"))
        # Touch three older cases later, two of them at the same instant.
        for index, minute in ((0, 40), (3, 40), (5, 45)):
            patch.setattr(timezone, "now", lambda m=minute: base + timedelta(minutes=m))
            services.case_add_message(actor=None, case=cases[index], body="still waiting")
    return list(Case.objects.all())


def _expected_order(cases: list[Case], ordering: str) -> list[str]:
    field = ordering.lstrip("-")
    rows = sorted(cases, key=lambda c: (getattr(c, field), c.pk), reverse=ordering.startswith("-"))
    return [c.number for c in rows]


@pytest.mark.parametrize("ordering", ["-created_at", "created_at", "-updated_at", "updated_at"])
@pytest.mark.parametrize("limit", [1, 2, 4, 9, 50])
def test_keyset_pages_list_every_case_once_in_order(api, supervisor, timeline, ordering, limit):
    client = api(supervisor)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"ordering": ordering, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = client.get(CASES, params)
        assert response.status_code == 200, response.content
        page = response.json()
        assert len(page["items"]) <= limit
        seen += [item["number"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 20

    assert seen == _expected_order(timeline, ordering)
    assert len(set(seen)) == len(timeline) == 9
    # A page that ends exactly at the last case has no next cursor: no empty trailing page.
    assert pages == math.ceil(9 / limit)


def test_default_ordering_is_newest_first(api, supervisor, timeline):
    response = api(supervisor).get(CASES)

    assert [i["number"] for i in response.json()["items"]] == _expected_order(
        timeline, "-created_at"
    )


def test_pages_with_filters_keep_the_filter(api, supervisor, timeline, make_case):
    make_case(kind="repair", subject="not in the filter")
    client = api(supervisor)

    first = client.get(CASES, {"kind": "complaint", "limit": 5, "ordering": "created_at"}).json()
    second = client.get(
        CASES,
        {"kind": "complaint", "limit": 5, "ordering": "created_at", "cursor": first["next_cursor"]},
    ).json()

    numbers = [i["number"] for i in first["items"] + second["items"]]
    assert numbers == _expected_order(timeline, "created_at")
    assert second["next_cursor"] is None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


TAMPERINGS: list[tuple[str, Callable[[str], str]]] = [
    ("garbage", lambda c: "garbage!!"),
    ("appended", lambda c: c + "x"),
    ("truncated", lambda c: c[:-3]),
    ("reversed", lambda c: c[::-1]),
    ("prefixed", lambda c: "A" + c),
    ("not a list", lambda c: _b64(b'{"at": "2026-11-20T02:00:00+00:00", "pk": 1}')),
    ("bad date", lambda c: _b64(b'["yesterday", 1]')),
    ("pk not an int", lambda c: _b64(b'["2026-11-20T02:00:00+00:00", "1"]')),
    ("three items", lambda c: _b64(b'["2026-11-20T02:00:00+00:00", 1, 2]')),
    ("not utf-8", lambda c: _b64(b"\xff\xfe\xfd")),
]


@pytest.mark.parametrize("tamper", [t[1] for t in TAMPERINGS], ids=[t[0] for t in TAMPERINGS])
def test_tampered_cursor_is_refused(api, supervisor, timeline, tamper):
    client = api(supervisor)
    cursor = client.get(CASES, {"limit": 2}).json()["next_cursor"]
    assert cursor

    response = client.get(CASES, {"limit": 2, "cursor": tamper(cursor)})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_cursor"
    assert set(response.json()["error"]["fields"]) == {"cursor"}


def test_overlong_tampered_cursor_is_an_invalid_cursor(api, supervisor, timeline):
    client = api(supervisor)
    cursor = client.get(CASES, {"limit": 2}).json()["next_cursor"]

    response = client.get(CASES, {"limit": 2, "cursor": cursor * 5})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_cursor"


def test_list_path_issues_no_count_query(api, supervisor, timeline):
    client = api(supervisor)
    cursor = client.get(CASES, {"limit": 3}).json()["next_cursor"]

    with CaptureQueriesContext(connection) as queries:
        first = client.get(CASES, {"limit": 3, "status": "new", "q": "min"})
        second = client.get(CASES, {"limit": 3, "cursor": cursor, "ordering": "-created_at"})

    assert first.status_code == second.status_code == 200
    assert len(queries) > 0
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]


# --- PATCH /cases/{number} -------------------------------------------------------------------


def test_patch_changes_fields_bumps_version_and_records_one_event_per_field(
    api, supervisor, make_case
):
    case = make_case()

    response = api(supervisor).patch(
        f"{CASES}/{case.number}",
        {
            "version": 1,
            "priority": "high",
            "category": "logistics.damage",
            "subject": "Parcel crushed",
            "amount": "20.00",
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == 2
    assert (body["priority"], body["category"], body["subject"]) == (
        "high",
        "logistics.damage",
        "Parcel crushed",
    )
    assert (body["amount"], body["currency"]) == ("20.00", "CNY")
    changes = CaseEvent.objects.filter(case=case, type="case.field_changed").order_by("field")
    assert sorted((e.field, e.old, e.new) for e in changes) == [
        ("amount", None, "20.00"),
        ("category", None, "logistics.damage"),
        ("currency", "", "CNY"),
        ("priority", "normal", "high"),
        ("subject", "Parcel arrived damaged", "Parcel crushed"),
    ]
    assert all(e.actor_id == supervisor.pk for e in changes)
    assert len(events_of(case)) == 1 + 5
    case.refresh_from_db()
    assert (case.version, case.priority, case.category.code) == (2, "high", "logistics.damage")


def test_patch_owner_records_case_assigned(api, supervisor, agent, make_case):
    case = make_case()

    response = api(supervisor).patch(f"{CASES}/{case.number}", {"version": 1, "owner": "agent"})

    assert response.status_code == 200, response.content
    assert response.json()["owner"] == {"username": "agent", "name": "agent"}
    assert response.json()["version"] == 2
    assert events_of(case)[1:] == [("case.assigned", "owner", None, "agent")]

    unassigned = api(supervisor).patch(f"{CASES}/{case.number}", {"version": 2, "owner": None})

    assert unassigned.status_code == 200
    assert unassigned.json()["owner"] is None
    assert events_of(case)[2:] == [("case.assigned", "owner", "agent", None)]


def test_patch_department_and_tags_store_codes(api, supervisor, make_case):
    case = make_case()

    response = api(supervisor).patch(
        f"{CASES}/{case.number}", {"version": 1, "department": "repair", "tags": ["b", "a"]}
    )

    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["a", "b"]
    assert sorted(events_of(case)[1:]) == [
        ("case.field_changed", "department", "customer-service", "repair"),
        ("case.field_changed", "tags", [], ["a", "b"]),
    ]


def test_patch_without_a_change_keeps_the_version(api, supervisor, make_case, db_state):
    case = make_case(priority="high")
    before = db_state(case)

    response = api(supervisor).patch(
        f"{CASES}/{case.number}", {"version": 1, "priority": "high", "subject": case.subject}
    )

    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert db_state(case) == before


def test_patch_with_a_stale_version_is_409_and_writes_nothing(api, supervisor, make_case, db_state):
    case = make_case()
    client = api(supervisor)
    assert (
        client.patch(f"{CASES}/{case.number}", {"version": 1, "priority": "low"}).status_code == 200
    )
    before = db_state(case)

    response = client.patch(
        f"{CASES}/{case.number}", {"version": 1, "priority": "urgent", "subject": "Mine wins"}
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "version_conflict"
    assert error["current_version"] == 2
    assert db_state(case) == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"version": 1, "bogus": 1}, "bogus"),
        ({"version": 1, "status": "closed"}, "status"),
        ({"version": 1, "number": "AS-20200101-00001"}, "number"),
        ({"version": 1, "customer": 1}, "customer"),
        ({"version": 1, "created_at": "2020-01-01T00:00:00Z"}, "created_at"),
        ({"priority": "high"}, "version"),
        ({"version": 0, "priority": "high"}, "version"),
        ({"version": 1, "priority": "asap"}, "priority"),
        ({"version": 1, "subject": ""}, "subject"),
        ({"version": 1, "subject": "x" * 201}, "subject"),
        ({"version": 1, "subject": "bad\x00subject"}, "subject"),
        ({"version": 1, "owner": "a@example.com"}, "owner"),
        ({"version": 1, "owner": "nobody"}, "owner"),
        ({"version": 1, "category": "nope"}, "category"),
        ({"version": 1, "department": "nope"}, "department"),
        ({"version": 1, "amount": "-1"}, "amount"),
        ({"version": 1, "currency": "EURO"}, "currency"),
    ],
)
def test_patch_refuses_bad_fields_with_422_and_writes_nothing(
    api, supervisor, make_case, customer_a, db_state, payload, field
):
    case = make_case()
    before = db_state(case)

    response = api(supervisor).patch(f"{CASES}/{case.number}", payload)

    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert field in response.json()["error"]["fields"]
    assert db_state(case) == before


# --- messages ------------------------------------------------------------------------------------


def test_post_reply_and_internal_note(api, supervisor, make_case, customer_a):
    case = make_case(customer=customer_a)
    client = api(supervisor)

    reply = client.post(f"{CASES}/{case.number}/messages", {"body": "We will send a courier."})
    note = client.post(
        f"{CASES}/{case.number}/messages", {"body": "Customer sounds angry.", "internal": True}
    )

    assert reply.status_code == note.status_code == 201
    body = dict(reply.json())
    del body["created_at"]
    assert body == {
        "id": Message.objects.get(internal=False).pk,
        "body": "We will send a courier.",
        "internal": False,
        "from_customer": False,
        "channel": "api",
        "author": {"username": "supervisor", "name": "supervisor"},
        "attachments": [],
    }
    assert note.json()["internal"] is True
    assert [t for t, *_ in events_of(case)] == [
        "case.created",
        "case.message_added",
        "case.note_added",
    ]
    case.refresh_from_db()
    assert case.first_response_at is not None

    staff_view = client.get(f"{CASES}/{case.number}/messages").json()
    assert [m["body"] for m in staff_view] == ["We will send a courier.", "Customer sounds angry."]


def test_internal_notes_are_invisible_to_the_customer(api, supervisor, make_case, customer_a):
    case = make_case(customer=customer_a)
    staff = api(supervisor)
    staff.post(f"{CASES}/{case.number}/messages", {"body": "Public answer"})
    staff.post(f"{CASES}/{case.number}/messages", {"body": "SECRET note", "internal": True})
    staff.patch(f"{CASES}/{case.number}", {"version": 1, "priority": "high"})
    customer = api(customer_a.user)

    messages = customer.get(f"{CASES}/{case.number}/messages")
    events = customer.get(f"{CASES}/{case.number}/events")

    assert messages.status_code == events.status_code == 200
    assert [(m["body"], m["internal"]) for m in messages.json()] == [("Public answer", False)]
    assert [e["type"] for e in events.json()] == ["case.created", "case.message_added"]
    assert b"SECRET" not in messages.content + events.content
    staff_events = staff.get(f"{CASES}/{case.number}/events").json()
    assert [e["type"] for e in staff_events if e["type"].startswith("case.")] == [
        "case.created",
        "case.message_added",
        "case.note_added",
        "case.field_changed",
    ]


def test_customer_reply_reopens_a_case_waiting_for_them(api, make_case, customer_a, drive_case):
    case = drive_case(make_case(customer=customer_a), "pending_customer")

    response = api(customer_a.user).post(f"{CASES}/{case.number}/messages", {"body": "Here it is"})

    assert response.status_code == 201
    assert response.json()["from_customer"] is True
    assert response.json()["author"] is None
    case.refresh_from_db()
    assert case.status == "open"
    assert events_of(case)[-2:] == [
        ("case.message_added", "", None, None),
        ("case.status_changed", "status", "pending_customer", "open"),
    ]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "body"),
        ({"body": ""}, "body"),
        ({"body": "x", "internal": "maybe"}, "internal"),
        ({"body": "a\x00b"}, "body"),
        ({"body": "x", "author": "admin"}, "author"),
    ],
)
def test_post_message_validation(api, supervisor, make_case, db_state, payload, field):
    case = make_case()
    before = db_state(case)

    response = api(supervisor).post(f"{CASES}/{case.number}/messages", payload)

    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]
    assert db_state(case) == before


# --- transitions ---------------------------------------------------------------------------------

PAIRS = [(a, b) for a in Status.values for b in Status.values]


@pytest.mark.parametrize(("start", "to"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_transition_table(api, supervisor, make_case, drive_case, db_state, start, to):
    case = drive_case(make_case(), start)
    case.refresh_from_db()
    before = db_state(case)
    before_events = events_of(case)

    response = api(supervisor).post(f"{CASES}/{case.number}/transitions", {"to": to})

    if start == to:
        # Already there: a no-op, nothing written.
        assert response.status_code == 200
        assert response.json()["status"] == start
        assert db_state(case) == before
    elif to in ALLOWED[start]:
        assert response.status_code == 200, response.content
        assert response.json()["status"] == to
        assert response.json()["version"] == case.version + 1
        assert events_of(case)[len(before_events) :] == [
            ("case.status_changed", "status", start, to)
        ]
    else:
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "transition_not_allowed"
        assert error["allowed"] == allowed_from(start)
        assert error["status"] == start
        assert db_state(case) == before


def test_transition_sets_and_clears_the_dates(api, supervisor, make_case):
    case = make_case()
    client = api(supervisor)

    resolved = client.post(f"{CASES}/{case.number}/transitions", {"to": "resolved"}).json()
    closed = client.post(f"{CASES}/{case.number}/transitions", {"to": "closed"}).json()
    reopened = client.post(
        f"{CASES}/{case.number}/transitions", {"to": "open", "note": "Broke again"}
    ).json()

    assert resolved["resolved_at"] is not None and resolved["closed_at"] is None
    assert closed["closed_at"] is not None and closed["resolved_at"] == resolved["resolved_at"]
    assert reopened["resolved_at"] is None and reopened["closed_at"] is None
    assert (resolved["version"], closed["version"], reopened["version"]) == (2, 3, 4)
    assert reopened["allowed_transitions"] == allowed_from("open")
    reopen_event = case_events(case).last()
    assert reopen_event.payload == {"note": "Broke again"}


@pytest.mark.parametrize(("days_ago", "allowed"), [(13, True), (15, False)])
def test_reopen_only_inside_the_reopen_window(
    api, supervisor, make_case, drive_case, db_state, days_ago, allowed
):
    CaseSettings.objects.filter(pk=1).update(reopen_window_days=14)
    case = drive_case(make_case(), "closed", at=timezone.now() - timedelta(days=days_ago))
    before = db_state(case)

    response = api(supervisor).post(f"{CASES}/{case.number}/transitions", {"to": "open"})

    if allowed:
        assert response.status_code == 200
        assert response.json()["status"] == "open"
    else:
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "transition_not_allowed"
        assert response.json()["error"]["allowed"] == []
        assert db_state(case) == before


def test_reopen_window_follows_the_settings(api, supervisor, make_case, drive_case):
    CaseSettings.objects.filter(pk=1).update(reopen_window_days=30)
    case = drive_case(make_case(), "closed", at=timezone.now() - timedelta(days=20))

    detail = api(supervisor).get(f"{CASES}/{case.number}").json()

    assert detail["allowed_transitions"] == ["open"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"to": "done"}, "to"), ({}, "to"), ({"to": "open", "note": "x" * 5001}, "note")],
)
def test_transition_validation(api, supervisor, make_case, db_state, payload, field):
    case = make_case()
    before = db_state(case)

    response = api(supervisor).post(f"{CASES}/{case.number}/transitions", payload)

    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]
    assert db_state(case) == before


# --- events --------------------------------------------------------------------------------------


def test_events_are_the_audit_trail_oldest_first_with_codes(api, supervisor, agent, make_case):
    case = make_case()
    client = api(supervisor)
    client.patch(f"{CASES}/{case.number}", {"version": 1, "priority": "urgent", "owner": "agent"})
    client.post(f"{CASES}/{case.number}/transitions", {"to": "pending_internal", "note": "parts"})
    client.post(f"{CASES}/{case.number}/messages", {"body": "Parts ordered", "internal": True})

    response = client.get(f"{CASES}/{case.number}/events")

    assert response.status_code == 200
    trail = response.json()
    # The whole log of the case, in order; the case's own events are exactly these.
    assert [e["type"] for e in trail] == [
        e.type for e in CaseEvent.objects.filter(case=case).order_by("at", "id")
    ]
    times = [parse_datetime(e["at"]) for e in trail]
    assert times == sorted(times)
    events = [e for e in trail if e["type"].startswith("case.")]
    assert [(e["type"], e["field"], e["old"], e["new"]) for e in events] == [
        ("case.created", "", None, None),
        ("case.field_changed", "priority", "normal", "urgent"),
        ("case.assigned", "owner", None, "agent"),
        ("case.status_changed", "status", "new", "pending_internal"),
        ("case.note_added", "", None, None),
    ]
    assert events[0]["payload"]["status"] == "new"
    assert events[0]["payload"]["department"] == "customer-service"
    assert events[-2]["payload"] == {"note": "parts"}
    assert {e["actor"] for e in events[1:]} == {"supervisor"}
    assert all(e["by_customer"] is False for e in events)


# --- errors: one JSON shape, never a 500, nothing half-saved --------------------------------------

BAD_CREATES: list[tuple[str, Any, int, str, str | None]] = [
    ("malformed json", '{"kind": "repair",', 400, "malformed_json", None),
    ("not utf-8", b"\xff\xfe{}", 400, "malformed_json", None),
    ("array body", [1, 2], 422, "validation_error", "body"),
    ("subject int", case_body(subject=123), 422, "validation_error", "subject"),
    ("amount text", case_body(amount="abc"), 422, "validation_error", "amount"),
    ("amount negative", case_body(amount="-1"), 422, "validation_error", "amount"),
    ("amount 3 decimals", case_body(amount="1.005"), 422, "validation_error", "amount"),
    ("amount NaN", case_body(amount="NaN"), 422, "validation_error", "amount"),
    ("amount huge", case_body(amount="1e400"), 422, "validation_error", "amount"),
    ("currency", case_body(currency="EURO"), 422, "validation_error", "currency"),
    ("customer string", case_body(customer="x"), 422, "validation_error", "customer"),
    ("customer missing", {"kind": "repair", "subject": "s"}, 422, "validation_error", "customer"),
    ("kind unknown", case_body(kind="foo"), 422, "validation_error", "kind"),
    ("kind missing", {**case_body(), "kind": None}, 422, "validation_error", "kind"),
    ("channel unknown", case_body(channel="pigeon"), 422, "validation_error", "channel"),
    ("priority unknown", case_body(priority="asap"), 422, "validation_error", "priority"),
    ("subject 201", case_body(subject="x" * 201), 422, "validation_error", "subject"),
    ("subject empty", case_body(subject=""), 422, "validation_error", "subject"),
    ("subject blank", case_body(subject="   "), 422, "validation_error", "subject"),
    ("subject NUL", case_body(subject="bad\x00subject"), 422, "validation_error", "subject"),
    ("subject BEL", case_body(subject="bad\x07subject"), 422, "validation_error", "subject"),
    ("subject ESC", case_body(subject="bad\x1b[31m"), 422, "validation_error", "subject"),
    ("description NUL", case_body(description="a\x00"), 422, "validation_error", "description"),
    (
        "name NUL",
        case_body(customer={"name": "a\x00", "email": "n@example.com"}),
        422,
        "validation_error",
        "customer.name",
    ),
    (
        "name 201",
        case_body(customer={"name": "x" * 201, "email": "n@example.com"}),
        422,
        "validation_error",
        "customer.name",
    ),
    (
        "email invalid",
        case_body(customer={"email": "not-an-email"}),
        422,
        "validation_error",
        "email",
    ),
    ("phone invalid", case_body(customer={"phone": "call me"}), 422, "validation_error", "phone"),
    ("no contact", case_body(customer={"name": "Nobody"}), 422, "validation_error", "customer"),
    ("order_ref 65", case_body(order_ref="x" * 65), 422, "validation_error", "order_ref"),
    ("category unknown", case_body(category="nope"), 422, "validation_error", "category"),
    ("department unknown", case_body(department="nope"), 422, "validation_error", "department"),
    ("tags not a list", case_body(tags="a,b"), 422, "validation_error", "tags"),
    ("tag NUL", case_body(tags=["a\x00"]), 422, "validation_error", "tags.0"),
    (
        "too many tags",
        case_body(tags=[f"t{i}" for i in range(21)]),
        422,
        "validation_error",
        "tags",
    ),
    ("unknown field", case_body(status="closed"), 422, "validation_error", "status"),
    ("number given", case_body(number="AS-20200101-00001"), 422, "validation_error", "number"),
]


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [b[1:] for b in BAD_CREATES],
    ids=[b[0] for b in BAD_CREATES],
)
def test_bad_create_is_refused_with_nothing_saved(
    api, supervisor, db_state, body, status, code, field
):
    before = db_state()

    response = api(supervisor).post(CASES, body)

    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    if field is not None:
        assert field in error["fields"]
    assert db_state() == before


@pytest.mark.parametrize("method", ["post", "patch"])
def test_body_over_the_limit_is_413(api, supervisor, make_case, settings, db_state, method):
    settings.API_MAX_BODY_BYTES = 2048
    case = make_case()
    before = db_state(case)
    client = api(supervisor)
    big = "x" * 3000

    if method == "post":
        response = client.post(CASES, case_body(description=big))
    else:
        response = client.patch(f"{CASES}/{case.number}", {"version": 1, "description": big})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert db_state(case) == before


def test_body_just_under_the_limit_is_accepted(api, supervisor, settings):
    settings.API_MAX_BODY_BYTES = 2048
    body = case_body()
    body["description"] = "x" * (2048 - len(json.dumps(case_body(description=""))))
    assert len(json.dumps(body)) == 2048

    response = api(supervisor).post(CASES, body)

    assert response.status_code == 201


# NUL never reaches the database (PostgreSQL refuses it in text): look-ups answer 404, fields 422.
NUL_REQUESTS: list[tuple[str, str, str, Any, int, str, str | None]] = [
    ("get case", "get", f"{CASES}/a%00b", None, 404, "not_found", None),
    ("list q", "get", CASES, {"q": "a\x00b"}, 422, "validation_error", "q"),
    ("list q email", "get", CASES, {"q": "a\x00@example.com"}, 422, "validation_error", "q"),
    ("list q phone", "get", CASES, {"q": "1234567\x00"}, 422, "validation_error", "q"),
    ("list owner", "get", CASES, {"owner": "a\x00"}, 422, "validation_error", "owner"),
    ("list category", "get", CASES, {"category": "\x00"}, 422, "validation_error", "category"),
    (
        "list department",
        "get",
        CASES,
        {"department": "\x00"},
        422,
        "validation_error",
        "department",
    ),
    ("list cursor", "get", CASES, {"cursor": "abc\x00"}, 422, "validation_error", "cursor"),
    (
        "create category",
        "post",
        CASES,
        case_body(category="a\x00"),
        422,
        "validation_error",
        "category",
    ),
    (
        "create department",
        "post",
        CASES,
        case_body(department="a\x00"),
        422,
        "validation_error",
        "department",
    ),
    (
        "create language",
        "post",
        CASES,
        case_body(customer={"email": "n@example.com", "language": "\x00"}),
        422,
        "validation_error",
        "customer.language",
    ),
    (
        "track number",
        "post",
        "/api/v1/track",
        {"number": "AS\x00", "contact": "a@b.cn"},
        422,
        "validation_error",
        "number",
    ),
    (
        "track contact",
        "post",
        "/api/v1/track",
        {"number": "{number}", "contact": "a\x00@b.cn"},
        422,
        "validation_error",
        "contact",
    ),
    (
        "import segment",
        "post",
        "/api/v1/customers",
        {"name": "n", "segment": "\x00"},
        422,
        "validation_error",
        "segment",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "data", "status", "code", "field"),
    [r[1:] for r in NUL_REQUESTS],
    ids=[r[0] for r in NUL_REQUESTS],
)
def test_nul_in_look_ups_is_refused_not_a_500(
    api, supervisor, make_case, db_state, method, path, data, status, code, field
):
    case = make_case()
    if isinstance(data, dict) and data.get("number") == "{number}":
        data = {**data, "number": case.number}
    before = db_state(case)
    client = api(supervisor)

    response = client.get(path, data) if method == "get" else client.post(path, data)

    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    if field is not None:
        assert field in response.json()["error"]["fields"]
    assert db_state(case) == before


@pytest.mark.parametrize(
    ("suffix", "method", "data", "field"),
    [
        ("", "patch", {"version": 1, "owner": "a\x00"}, "owner"),
        ("", "patch", {"version": 1, "category": "a\x00"}, "category"),
        ("", "patch", {"version": 1, "department": "a\x00"}, "department"),
        ("/links", "post", {"target": "AS\x00", "kind": "related"}, "target"),
        ("/transitions", "post", {"to": "open", "note": "a\x00"}, "note"),
    ],
    ids=["owner", "category", "department", "link target", "transition note"],
)
def test_nul_in_case_writes_is_422(
    api, supervisor, make_case, db_state, suffix, method, data, field
):
    case = make_case()
    before = db_state(case)

    response = getattr(api(supervisor), method)(f"{CASES}/{case.number}{suffix}", data)

    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert field in response.json()["error"]["fields"]
    assert db_state(case) == before


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"customer": 10**20}, "validation_error", "customer"),
        ({"customer": 0}, "validation_error", "customer"),
        ({"created_after": "0001-01-01T00:00:00+14:00"}, "validation_error", "created_after"),
        ({"created_before": "9999-12-31T23:59:59-14:00"}, "validation_error", "created_before"),
        ({"created_after": "2026-01-01T00:00:00"}, "validation_error", "created_after"),
        ({"cursor": _b64(b'["0001-01-01T00:00:00+14:00", 1]')}, "invalid_cursor", "cursor"),
    ],
    ids=["customer-huge", "customer-zero", "year-1", "year-9999", "naive-date", "cursor-year-1"],
)
def test_out_of_range_list_parameters_are_422(api, supervisor, make_case, params, code, field):
    make_case()

    response = api(supervisor).get(CASES, params)

    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == code
    assert set(response.json()["error"]["fields"]) == {field}


# --- attachments -----------------------------------------------------------------------------


def upload(client: Any, number: str, content: bytes, content_type: str, **extra: Any) -> Any:
    data: dict[str, Any] = {"file": SimpleUploadedFile("photo.png", content, content_type)}
    data.update(extra)
    return client.client.post(f"{CASES}/{number}/attachments", data)


def test_upload_png(api, supervisor, make_case):
    case = make_case()
    client = api(supervisor)

    response = upload(client, case.number, PNG, "image/png")

    assert response.status_code == 201, response.content
    body = dict(response.json())
    attachment = Attachment.objects.get()
    del body["created_at"]
    assert body == {
        "id": attachment.pk,
        "filename": "photo.png",
        "content_type": "image/png",
        "size": len(PNG),
        "internal": False,
    }
    assert events_of(case)[-1][0] == "case.attachment_added"
    listed = client.get(f"{CASES}/{case.number}/attachments").json()
    assert [a["id"] for a in listed] == [attachment.pk]

    download = client.get(f"{CASES}/{case.number}/attachments/{attachment.pk}")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG
    assert download["Content-Type"] == "image/png"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"] == 'attachment; filename="photo.png"'


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b"MZ\x90\x00", "application/x-msdownload", 422, "file_type_not_allowed"),
        (b"<script>alert(1)</script>", "text/html", 422, "file_type_not_allowed"),
        (b"just some text, honestly", "image/png", 422, "file_type_mismatch"),
        (b"%PDF-1.7 ...", "image/png", 422, "file_type_mismatch"),
        (PNG, "application/pdf", 422, "file_type_mismatch"),
        (b"", "image/png", 422, "validation_error"),
    ],
    ids=["exe", "html", "text-as-png", "pdf-as-png", "png-as-pdf", "empty"],
)
def test_upload_refusals(api, supervisor, make_case, db_state, content, content_type, status, code):
    case = make_case()
    before = db_state(case)

    response = upload(api(supervisor), case.number, content, content_type)

    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert set(response.json()["error"]["fields"]) == {"file"}
    assert db_state(case) == before


def test_file_over_the_attachment_limit_is_422_file_too_large(
    api, supervisor, make_case, settings, db_state
):
    settings.ATTACHMENT_MAX_BYTES = 4096
    case = make_case()
    before = db_state(case)

    response = upload(api(supervisor), case.number, PNG + b"\x00" * 5000, "image/png")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "file_too_large"
    assert db_state(case) == before


def test_upload_body_over_limit_plus_envelope_is_413(
    api, supervisor, make_case, settings, db_state
):
    # The middleware allows ATTACHMENT_MAX_BYTES + 64 KiB of multipart envelope, then refuses.
    settings.ATTACHMENT_MAX_BYTES = 4096
    case = make_case()
    before = db_state(case)

    response = upload(api(supervisor), case.number, PNG + b"\x00" * (70 * 1024), "image/png")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert db_state(case) == before


def test_customer_cannot_see_or_download_an_internal_attachment(
    api, supervisor, make_case, customer_a
):
    case = make_case(customer=customer_a)
    staff = api(supervisor)
    internal = upload(staff, case.number, PNG, "image/png", internal="true").json()
    public = upload(staff, case.number, PNG, "image/png").json()
    assert internal["internal"] is True and public["internal"] is False
    customer = api(customer_a.user)

    listed = customer.get(f"{CASES}/{case.number}/attachments")
    hidden = customer.get(f"{CASES}/{case.number}/attachments/{internal['id']}")
    unknown = customer.get(f"{CASES}/{case.number}/attachments/999999")
    visible = customer.get(f"{CASES}/{case.number}/attachments/{public['id']}")

    assert [a["id"] for a in listed.json()] == [public["id"]]
    assert hidden.status_code == 404
    assert hidden.json() == unknown.json()
    assert visible.status_code == 200
    assert b"".join(visible.streaming_content) == PNG


def test_customer_cannot_upload_an_internal_file(api, make_case, customer_a, db_state):
    case = make_case(customer=customer_a)
    before = db_state(case)

    response = upload(api(customer_a.user), case.number, PNG, "image/png", internal="true")

    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"internal"}
    assert db_state(case) == before


# --- tracking ------------------------------------------------------------------------------------

TRACK = "/api/v1/track"


@pytest.fixture
def tracked(make_case, supervisor, agent, drive_case):
    """A case with public replies, an internal note, a field change and status changes."""
    contact = CustomerInput(name="Tina", email="tina@example.com", phone="+8613812345678")
    case = services.case_create(
        actor=None,
        data=services.CaseInput(
            kind="repair", channel="web", subject="Fan noise", customer=contact
        ),
    )
    services.case_add_message(actor=supervisor, case=case, body="Please send a video.")
    services.case_add_message(
        actor=supervisor, case=case, body="INTERNAL: warranty void?", internal=True
    )
    services.case_assign(actor=supervisor, case=case, owner=agent)
    drive_case(case, "pending_customer")
    services.case_add_message(actor=None, case=case, body="Video attached", by_customer=True)
    return Case.objects.get(pk=case.pk)


def test_track_shows_status_and_the_public_timeline_only(api, tracked):
    response = api(None).post(TRACK, {"number": tracked.number, "contact": "Tina@Example.com"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {
        "number",
        "kind",
        "status",
        "subject",
        "created_at",
        "updated_at",
        "timeline",
    }
    assert (body["number"], body["kind"], body["status"], body["subject"]) == (
        tracked.number,
        "repair",
        "open",
        "Fan noise",
    )
    assert [
        (e["type"], e.get("status"), e.get("body"), e.get("from_customer"))
        for e in body["timeline"]
    ] == [
        ("case.created", None, None, None),
        ("case.message_added", None, "Please send a video.", False),
        ("case.status_changed", "pending_customer", None, None),
        ("case.message_added", None, "Video attached", True),
        ("case.status_changed", "open", None, None),
    ]
    assert b"INTERNAL" not in response.content
    assert b"agent" not in response.content
    assert b"field_changed" not in response.content and b"assigned" not in response.content


@pytest.mark.parametrize(
    "contact", ["+8613812345678", "138 1234 5678", "13812345678", "0086 138-1234-5678"]
)
def test_track_by_phone_in_any_format(api, tracked, contact):
    response = api(None).post(TRACK, {"number": tracked.number, "contact": contact})

    assert response.status_code == 200
    assert response.json()["number"] == tracked.number


def test_track_case_number_is_case_insensitive(api, tracked):
    response = api(None).post(
        TRACK, {"number": tracked.number.lower(), "contact": "tina@example.com"}
    )

    assert response.status_code == 200


def test_track_unknown_number_and_wrong_contact_are_the_same_404(api, tracked, customer_a):
    client = api(None)

    unknown = client.post(TRACK, {"number": "AS-20200101-00001", "contact": "tina@example.com"})
    wrong_email = client.post(TRACK, {"number": tracked.number, "contact": "a@example.com"})
    wrong_phone = client.post(TRACK, {"number": tracked.number, "contact": "13900000000"})
    empty = client.post(TRACK, {"number": tracked.number, "contact": "   "})

    assert unknown.status_code == wrong_email.status_code == wrong_phone.status_code == 404
    assert empty.status_code == 404
    assert unknown.content == wrong_email.content == wrong_phone.content == empty.content
    assert unknown.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"number": "AS-1"}, "contact"),
        ({"contact": "a@b.cn"}, "number"),
        ({"number": "AS-1", "contact": "x" * 255}, "contact"),
        ({"number": "AS-1", "contact": "a@b.cn", "extra": 1}, "extra"),
    ],
)
def test_track_validation(api, payload, field):
    response = api(None).post(TRACK, payload)

    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]


def test_track_needs_no_login_even_with_a_bad_token(api_raw, tracked):
    response = api_raw("garbage").post(
        TRACK, {"number": tracked.number, "contact": "tina@example.com"}
    )

    assert response.status_code == 200


def test_track_is_rate_limited_per_client_address(api, tracked, settings, monkeypatch):
    settings.TRACK_RATE_LIMIT_PER_MINUTE = 3
    # One fixed minute, so the window cannot roll over in the middle of the test.
    from afterdesk.core import ratelimit

    fixed = datetime(2026, 11, 23, 9, 0, 30, tzinfo=UTC)
    monkeypatch.setattr(ratelimit, "timezone", SimpleNamespace(now=lambda: fixed))
    client = api(None)
    good = {"number": tracked.number, "contact": "tina@example.com"}
    bad = {"number": tracked.number, "contact": "guess@example.com"}

    answers = [
        client.post(TRACK, payload, REMOTE_ADDR="203.0.113.7").status_code
        for payload in (good, bad, good)
    ]
    limited = client.post(TRACK, good, REMOTE_ADDR="203.0.113.7")
    other = client.post(TRACK, good, REMOTE_ADDR="203.0.113.8")

    assert answers == [200, 404, 200]
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert b"Fan noise" not in limited.content
    assert other.status_code == 200
    # Forged X-Forwarded-For does not escape the limit without trusted proxies.
    spoofed = client.post(TRACK, good, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert spoofed.status_code == 429

    fixed = fixed + timedelta(minutes=1)
    monkeypatch.setattr(ratelimit, "timezone", SimpleNamespace(now=lambda: fixed))
    assert client.post(TRACK, good, REMOTE_ADDR="203.0.113.7").status_code == 200
