"""cases_list: keyset pagination, filters and visibility."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from afterdesk.cases.models import Case
from afterdesk.cases.selectors import (
    ORDERINGS,
    CaseFilters,
    cases_list,
    decode_cursor,
    encode_cursor,
)
from afterdesk.cases.services import (
    CaseInput,
    case_assign,
    case_create,
    case_transition,
    case_update,
)
from afterdesk.core.errors import ValidationFailed
from afterdesk.customers.services import CustomerInput

pytestmark = pytest.mark.django_db


def _all_pages(user, *, ordering, limit, filters=None) -> tuple[list[int], int]:
    """Walk every page; the ids in order and the number of pages."""
    ids: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = cases_list(
            user=user,
            filters=filters or CaseFilters(),
            ordering=ordering,
            cursor=cursor,
            limit=limit,
        )
        pages += 1
        assert len(page.items) <= limit
        ids += [case.pk for case in page.items]
        if page.next_cursor is None:
            return ids, pages
        assert len(page.items) == limit
        cursor = page.next_cursor
        assert pages < 100, "pagination does not end"


def _ids(page) -> list[int]:
    return [case.pk for case in page.items]


@pytest.fixture
def tied_cases(clock, make_case, supervisor) -> list[Case]:
    """11 cases in three bursts with identical created_at; updated_at ties differently.

    The bursts are a microsecond apart, the middle one on a whole second, so the cursor must
    carry microseconds and compare correctly with and without a fraction.
    """
    clock.set(clock.now.replace(microsecond=999_999))
    cases = []
    for burst in (4, 5, 2):
        for _ in range(burst):
            cases.append(make_case())
        clock.advance(microseconds=1)
    # Touch some cases at one instant so updated_at has its own ties and order.
    clock.advance(minutes=10)
    for case in (cases[9], cases[1], cases[5]):
        case_update(actor=supervisor, case=case, version=1, changes={"priority": "high"})
    clock.advance(minutes=1)
    case_update(actor=supervisor, case=cases[0], version=1, changes={"priority": "low"})
    return list(Case.objects.order_by("id"))


@pytest.mark.parametrize("ordering", list(ORDERINGS))
@pytest.mark.parametrize("limit", [1, 2, 3, 4, 11, 12])
def test_keyset_pages_cover_every_case_once_in_order(ordering, limit, tied_cases, supervisor):
    field, descending = ORDERINGS[ordering]
    expected = [
        c.pk
        for c in sorted(tied_cases, key=lambda c: (getattr(c, field), c.pk), reverse=descending)
    ]

    ids, pages = _all_pages(supervisor, ordering=ordering, limit=limit)

    assert ids == expected
    assert pages == max(1, -(-len(expected) // limit))


def test_the_fixture_has_ties_in_both_orderings(tied_cases):
    assert len({c.created_at for c in tied_cases}) == 3
    # The three bursts, the three cases touched together and the one touched last.
    assert len({c.updated_at for c in tied_cases}) == 5


def test_a_page_that_is_exactly_full_has_no_next_cursor(tied_cases, supervisor):
    page = cases_list(user=supervisor, filters=CaseFilters(), limit=len(tied_cases))

    assert len(page.items) == len(tied_cases)
    assert page.next_cursor is None


def test_a_cursor_survives_a_new_case(clock, tied_cases, supervisor, make_case):
    first = cases_list(user=supervisor, filters=CaseFilters(), ordering="created_at", limit=5)
    clock.advance(hours=1)
    newest = make_case()

    rest, _ = _all_pages(supervisor, ordering="created_at", limit=50)
    second = cases_list(
        user=supervisor,
        filters=CaseFilters(),
        ordering="created_at",
        cursor=first.next_cursor,
        limit=50,
    )

    assert _ids(first) + _ids(second) == rest
    assert _ids(second)[-1] == newest.pk


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "!!!!",
        "",  # empty is "no cursor": first page
        base64.urlsafe_b64encode(b"[1, 2, 3]").decode(),
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b'["2026-11-23T09:00:00+00:00", "7"]').decode(),
        base64.urlsafe_b64encode(b'["yesterday", 7]').decode(),
        base64.urlsafe_b64encode(b'["2026-13-45T09:00:00+00:00", 7]').decode(),
        base64.urlsafe_b64encode(b"[null, 7]").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe\x00garbage").decode(),
        "é".encode().hex(),
    ],
)
def test_a_bad_cursor_is_invalid_cursor(cursor, supervisor, make_case):
    make_case()
    if cursor == "":
        assert len(cases_list(user=supervisor, filters=CaseFilters(), cursor=cursor).items) == 1
        return

    with pytest.raises(ValidationFailed) as excinfo:
        cases_list(user=supervisor, filters=CaseFilters(), cursor=cursor)

    assert excinfo.value.code == "invalid_cursor"
    assert excinfo.value.status == 422
    assert list(excinfo.value.fields) == ["cursor"]


def test_cursor_round_trips(clock):
    assert decode_cursor(encode_cursor(clock.now, 42)) == (clock.now, 42)
    assert "=" not in encode_cursor(clock.now, 42)


def test_unknown_ordering_and_bad_limits_are_refused(supervisor):
    with pytest.raises(ValidationFailed) as excinfo:
        cases_list(user=supervisor, filters=CaseFilters(), ordering="subject")
    assert excinfo.value.code == "invalid_ordering"
    for limit in (0, 201, -1):
        with pytest.raises(ValidationFailed) as excinfo:
            cases_list(user=supervisor, filters=CaseFilters(), limit=limit)
        assert list(excinfo.value.fields) == ["limit"]


# --- Filters ------------------------------------------------------------------------------------


@pytest.fixture
def varied(clock, make_case, supervisor, agent, customer_a, customer_b):
    """A handful of cases that differ in every filtered field."""
    cases = {
        "complaint": make_case(customer=customer_a, category="logistics.damage", order_ref="ORD-7"),
        "repair": make_case(
            kind="repair", channel="phone", priority="urgent", category="product.doa"
        ),
        "return": make_case(
            customer=customer_b, kind="return", channel="email", subject="Wrong colour sent"
        ),
    }
    clock.advance(days=1)
    cases["phone"] = case_create(
        actor=None,
        data=CaseInput(
            kind="inquiry",
            channel="chat",
            subject="Where is my invoice",
            priority="low",
            customer=CustomerInput(name="Phone only", phone="138 0013 8000"),
        ),
    )
    case_transition(actor=supervisor, case=cases["repair"], to="open")
    case_assign(actor=supervisor, case=cases["complaint"], owner=agent)
    return {name: Case.objects.get(pk=case.pk) for name, case in cases.items()}


def _names(varied, user, **filters) -> set[str]:
    page = cases_list(user=user, filters=CaseFilters(**filters), limit=200)
    by_pk = {case.pk: name for name, case in varied.items()}
    return {by_pk[case.pk] for case in page.items}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, {"complaint", "repair", "return", "phone"}),
        ({"status": ("new",)}, {"complaint", "return", "phone"}),
        ({"status": ("open", "resolved")}, {"repair"}),
        ({"kind": ("repair", "return")}, {"repair", "return"}),
        ({"channel": ("web",)}, {"complaint"}),
        ({"priority": ("urgent", "low")}, {"repair", "phone"}),
        ({"category": "logistics.damage"}, {"complaint"}),
        ({"category": "product"}, {"repair"}),  # a parent takes its children
        ({"category": "logistics"}, {"complaint"}),
        ({"owner": "none"}, {"repair", "return", "phone"}),
        ({"owner": "agent"}, {"complaint"}),
        ({"department": "logistics"}, {"return"}),
        ({"department": "customer-service"}, {"complaint", "phone"}),
        ({"q": "ORD-7"}, {"complaint"}),
        ({"q": "colour"}, {"return"}),
        ({"q": "B@Example.com"}, {"return"}),
        ({"q": "+86 138-0013-8000"}, {"phone"}),
        ({"q": "nothing matches this"}, set()),
    ],
    ids=repr,
)
def test_filters(filters, expected, varied, supervisor):
    assert _names(varied, supervisor, **filters) == expected


def test_filter_by_owner_me(varied, agent):
    assert _names(varied, agent, owner="me") == {"complaint"}


def test_filter_by_customer(varied, supervisor, customer_b):
    assert _names(varied, supervisor, customer=customer_b.pk) == {"return"}


def test_filter_by_creation_time(clock, varied, supervisor):
    day_two = varied["phone"].created_at

    assert _names(varied, supervisor, created_after=day_two) == {"phone"}
    assert _names(varied, supervisor, created_before=day_two) == {"complaint", "repair", "return"}
    assert _names(
        varied, supervisor, created_after=day_two - timedelta(days=2), created_before=day_two
    ) == {"complaint", "repair", "return"}


def test_quick_search_by_case_number_in_any_case(varied, supervisor):
    number = varied["return"].number

    assert _names(varied, supervisor, q=number.lower()) == {"return"}
    assert _names(varied, supervisor, q=f"  {number} ") == {"return"}


@pytest.mark.parametrize(
    "filters",
    [
        {"status": ("archived",)},
        {"kind": ("refund",)},
        {"channel": ("fax",)},
        {"priority": ("p1",)},
    ],
    ids=repr,
)
def test_unknown_filter_values_are_refused(filters, supervisor):
    with pytest.raises(ValidationFailed) as excinfo:
        cases_list(user=supervisor, filters=CaseFilters(**filters))

    assert list(excinfo.value.fields) == list(filters)


# --- Visibility ---------------------------------------------------------------------------------


def test_agent_sees_own_departments_and_owned_cases(varied, agent, supervisor):
    # agent is in customer-service and owns nothing yet beyond the complaint (customer-service).
    assert _names(varied, agent) == {"complaint", "phone"}

    case_assign(actor=supervisor, case=varied["return"], owner=agent)

    assert _names(varied, agent) == {"complaint", "phone", "return"}


def test_agent_of_another_department_sees_only_that_department(varied, repair_agent):
    assert _names(varied, repair_agent) == {"repair"}


def test_supervisor_and_admin_see_every_case(varied, supervisor, admin_user):
    everything = {"complaint", "repair", "return", "phone"}
    assert _names(varied, supervisor) == everything
    assert _names(varied, admin_user) == everything


def test_customer_sees_only_own_cases(varied, customer_a, customer_b):
    assert _names(varied, customer_a.user) == {"complaint"}
    assert _names(varied, customer_b.user) == {"return"}


def test_filters_cannot_widen_visibility(varied, customer_a, customer_b, repair_agent):
    assert _names(varied, customer_a.user, customer=customer_b.pk) == set()
    assert _names(varied, customer_a.user, q=varied["return"].number) == set()
    assert _names(varied, repair_agent, department="customer-service") == set()


def test_inactive_staff_sees_nothing(varied, supervisor):
    supervisor.is_active = False
    supervisor.save(update_fields=["is_active"])

    assert _names(varied, supervisor) == set()


def test_paging_respects_visibility(tied_cases, make_case, customer_a):
    own = [make_case(customer=customer_a) for _ in range(3)]

    ids, pages = _all_pages(customer_a.user, ordering="-created_at", limit=2)

    assert ids == [c.pk for c in reversed(own)]
    assert pages == 2


def test_decoded_cursor_json_has_two_fields(clock):
    raw = encode_cursor(clock.now, 5)
    padded = raw + "=" * (-len(raw) % 4)

    assert json.loads(base64.urlsafe_b64decode(padded)) == [clock.now.isoformat(), 5]
