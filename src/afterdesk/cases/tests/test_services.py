"""Case services: creation, the state machine, optimistic locking, messages, files, links, events."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import override_settings

from afterdesk.cases.choices import ALLOWED, CUSTOMER_ALLOWED, EventType, Status
from afterdesk.cases.errors import CaseInvalid, CaseTransitionNotAllowed, CaseVersionConflict
from afterdesk.cases.models import (
    Attachment,
    Case,
    CaseEvent,
    CaseLink,
    CaseSettings,
    Message,
)
from afterdesk.cases.services import (
    CaseInput,
    case_add_attachment,
    case_add_message,
    case_assign,
    case_create,
    case_link,
    case_transition,
    case_update,
)
from afterdesk.customers.models import ContactPoint, Customer, Order
from afterdesk.customers.services import CustomerInput, order_import

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 64


class RawNameUpload(SimpleUploadedFile):
    """An upload whose name reaches the service as sent: Django's parser would strip the
    directories, but the service must not rely on every caller doing so."""

    def __init__(self, name: str, content: bytes, content_type: str) -> None:
        super().__init__("upload", content, content_type)
        self._name = name


def _input(**overrides):
    values = {
        "kind": "complaint",
        "channel": "web",
        "subject": "Parcel arrived damaged",
        "description": "The box was crushed.",
        "customer": CustomerInput(name="Carol", email="carol@example.com"),
    }
    values.update(overrides)
    return CaseInput(**values)


def _counts() -> dict[str, int]:
    """Row counts of everything a case service may write."""
    return {
        "cases": Case.objects.count(),
        "customers": Customer.objects.count(),
        "contacts": ContactPoint.objects.count(),
        "events": CaseEvent.objects.count(),
        "messages": Message.objects.count(),
        "attachments": Attachment.objects.count(),
        "links": CaseLink.objects.count(),
    }


def _events(case: Case, *types: str) -> list[CaseEvent]:
    """The case's own `case.*` events (other aggregates, e.g. SLA clocks, log there too)."""
    qs = CaseEvent.objects.filter(case=case, type__startswith="case.")
    if types:
        qs = qs.filter(type__in=types)
    return list(qs.order_by("at", "id"))


def _all_events(case: Case) -> list[CaseEvent]:
    """Every event row of the case, for asserting that nothing at all was written."""
    return list(CaseEvent.objects.filter(case=case).order_by("id"))


def _new_events(case: Case, before: list[CaseEvent]) -> list[CaseEvent]:
    """The case's `case.*` events written since `before` was taken, in writing order."""
    seen = {event.pk for event in before}
    return [
        event
        for event in _all_events(case)
        if event.pk not in seen and event.type.startswith("case.")
    ]


# --- case_create --------------------------------------------------------------------------------


def test_create_numbers_with_the_local_date_of_time_zone(clock, departments):
    # 17:00 UTC on the 23rd is 01:00 on the 24th in Asia/Shanghai.
    clock.set(datetime(2026, 11, 23, 17, 0, tzinfo=UTC))

    case = case_create(actor=None, data=_input())

    assert case.number == "AS-20261124-00001"
    assert case.created_at == datetime(2026, 11, 23, 17, 0, tzinfo=UTC)


def test_create_records_one_created_event(clock, agent):
    case = case_create(actor=agent, data=_input(priority="high", category="logistics.damage"))

    case.refresh_from_db()
    assert case.status == Status.NEW
    assert case.version == 1
    assert case.created_by == agent
    [event] = _events(case)
    assert event.type == EventType.CREATED
    assert event.actor == agent
    assert event.at == clock.now
    assert event.payload == {
        "number": case.number,
        "kind": "complaint",
        "channel": "web",
        "priority": "high",
        "status": "new",
        "category": "logistics.damage",
        "department": "customer-service",
        "customer": case.customer_id,
    }


def test_create_by_a_customer_records_no_staff_creator(customer_a):
    case = case_create(
        actor=customer_a.user,
        data=_input(customer=CustomerInput(name="x", email=customer_a.email)),
        by_customer=True,
    )

    assert case.created_by is None
    assert case.customer == customer_a
    [event] = _events(case)
    assert event.by_customer is True
    assert event.actor == customer_a.user


def test_create_back_dated_with_at_takes_the_number_and_time_of_that_day(clock, departments):
    at = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    clock.set(datetime(2026, 12, 5, 3, 0, tzinfo=UTC))

    case = case_create(actor=None, data=_input(), at=at)

    assert case.number == "AS-20261124-00001"
    assert case.created_at == at
    assert _events(case)[0].at == at


@pytest.mark.parametrize(
    ("kind", "department"),
    [
        ("repair", "repair"),
        ("return", "logistics"),
        ("exchange", "logistics"),
        ("complaint", "customer-service"),
        ("inquiry", "customer-service"),
        ("dispute", "customer-service"),
    ],
)
def test_create_routes_to_the_department_handling_the_kind(kind, department, departments):
    case = case_create(actor=None, data=_input(kind=kind))

    assert case.department.code == department


def test_create_takes_a_given_department_over_the_default(departments):
    case = case_create(actor=None, data=_input(kind="repair", department="tech"))

    assert case.department.code == "tech"


def test_create_reuses_the_customer_by_email_case_insensitively(departments):
    first = case_create(
        actor=None, data=_input(customer=CustomerInput(name="Dan", email="dan.li@example.com"))
    )
    second = case_create(
        actor=None,
        data=_input(customer=CustomerInput(name="Daniel", email="  Dan.Li@EXAMPLE.com ")),
    )

    assert second.customer_id == first.customer_id
    assert Customer.objects.count() == 1
    assert list(ContactPoint.objects.values_list("kind", "normalized")) == [
        ("email", "dan.li@example.com")
    ]


@pytest.mark.parametrize(
    "other_format",
    ["+86 138-0013-8000", "0086 138 0013 8000", "(138) 0013 8000", "138.0013.8000"],
)
def test_create_reuses_the_customer_by_phone_in_another_format(other_format, departments):
    first = case_create(
        actor=None, data=_input(customer=CustomerInput(name="Li", phone="13800138000"))
    )
    second = case_create(
        actor=None, data=_input(customer=CustomerInput(name="Li", phone=other_format))
    )

    assert second.customer_id == first.customer_id
    assert Customer.objects.count() == 1
    assert list(ContactPoint.objects.values_list("kind", "normalized")) == [
        ("phone", "+8613800138000")
    ]


def test_create_links_the_order_of_the_same_customer(customer_a, make_case):
    order, _ = order_import(
        customer=customer_a, reference="ORD-1", placed_at=datetime(2026, 11, 1, tzinfo=UTC)
    )

    case = make_case(customer=customer_a, order_ref="ORD-1")

    assert case.order == order
    assert case.order_ref == "ORD-1"


def test_create_does_not_link_an_order_of_another_customer(customer_a, customer_b, make_case):
    order_import(
        customer=customer_a, reference="ORD-1", placed_at=datetime(2026, 11, 1, tzinfo=UTC)
    )

    case = make_case(customer=customer_b, order_ref="ORD-1")

    case.refresh_from_db()
    assert case.order is None
    assert case.order_ref == "ORD-1"
    assert Order.objects.get(reference="ORD-1").customer == customer_a


def test_create_links_the_order_when_the_reference_has_surrounding_spaces(customer_a, make_case):
    order, _ = order_import(
        customer=customer_a, reference="ORD-1", placed_at=datetime(2026, 11, 1, tzinfo=UTC)
    )

    case = make_case(customer=customer_a, order_ref=" ORD-1 ")

    assert case.order_ref == "ORD-1"
    assert case.order == order


def test_create_stores_amount_and_currency(departments):
    case = case_create(actor=None, data=_input(amount=Decimal("199.90"), currency="usd"))

    case.refresh_from_db()
    assert case.amount == Decimal("199.90")
    assert case.currency == "USD"


def test_create_defaults_the_currency_of_an_amount_to_cny(departments):
    case = case_create(actor=None, data=_input(amount=Decimal("5")))

    assert case.currency == "CNY"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"subject": ""}, "subject"),
        ({"subject": "   \n\t "}, "subject"),
        ({"subject": "Broken\x00screen"}, "subject"),
        ({"description": "bell \x07 here"}, "description"),
        ({"serial": "SN\x1b[31m"}, "serial"),
        ({"subject": "x" * 201}, "subject"),
        ({"amount": Decimal("10.005")}, "amount"),
        ({"amount": Decimal("-0.01")}, "amount"),
        ({"amount": Decimal("NaN")}, "amount"),
        ({"amount": Decimal("10000000000")}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"amount": Decimal("1"), "currency": "US"}, "currency"),
        ({"amount": Decimal("1"), "currency": "US1"}, "currency"),
        ({"amount": Decimal("1"), "currency": "ÉUR"}, "currency"),
        ({"category": "no-such-category"}, "category"),
        ({"department": "no-such-department"}, "department"),
        ({"kind": "refund"}, "kind"),
        ({"channel": "fax"}, "channel"),
        ({"priority": "critical"}, "priority"),
    ],
    ids=lambda v: repr(v) if isinstance(v, dict) else v,
)
def test_create_refuses_invalid_input_and_writes_nothing(overrides, field, departments):
    before = _counts()

    with pytest.raises(CaseInvalid) as excinfo:
        case_create(actor=None, data=_input(**overrides))

    assert excinfo.value.code == "validation_error"
    assert list(excinfo.value.fields) == [field]
    assert _counts() == before


def test_create_refuses_a_bad_currency_without_an_amount(departments):
    before = _counts()

    with pytest.raises(CaseInvalid) as excinfo:
        case_create(actor=None, data=_input(currency="EURO"))

    assert list(excinfo.value.fields) == ["currency"]
    assert _counts() == before


def test_create_accepts_the_largest_amount(departments):
    case = case_create(actor=None, data=_input(amount=Decimal("9999999999.99")))

    case.refresh_from_db()
    assert case.amount == Decimal("9999999999.99")


def test_create_collapses_line_breaks_in_the_subject(departments):
    case = case_create(actor=None, data=_input(subject="Broken\r\n  screen\tagain"))

    assert case.subject == "Broken screen again"


# --- The state machine --------------------------------------------------------------------------

# How a new case reaches each status, through allowed moves only.
PATH_TO: dict[str, list[str]] = {
    Status.NEW: [],
    Status.OPEN: [Status.OPEN],
    Status.PENDING_CUSTOMER: [Status.PENDING_CUSTOMER],
    Status.PENDING_INTERNAL: [Status.PENDING_INTERNAL],
    Status.RESOLVED: [Status.RESOLVED],
    Status.CLOSED: [Status.RESOLVED, Status.CLOSED],
    Status.CANCELLED: [Status.CANCELLED],
}
PAIRS = list(itertools.product(Status.values, Status.values))


def test_path_to_covers_every_status():
    assert set(PATH_TO) == set(Status.values)
    assert set(ALLOWED) == set(Status.values)


def _case_in(status: str, make_case, actor) -> Case:
    case = make_case()
    for step in PATH_TO[status]:
        case = case_transition(actor=actor, case=case, to=step)
    case.refresh_from_db()
    assert case.status == status
    return case


def _expected_allowed(table: dict[str, frozenset[str]], status: str) -> list[str]:
    return [s for s in Status.values if s in table.get(status, frozenset())]


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_staff_transition_follows_allowed(source, target, make_case, agent):
    case = _case_in(source, make_case, agent)
    version, events = case.version, _all_events(case)

    if source == target:
        result = case_transition(actor=agent, case=case, to=target)
        case.refresh_from_db()
        assert result.status == source
        assert case.version == version
        assert _all_events(case) == events
    elif target in ALLOWED[source]:
        result = case_transition(actor=agent, case=case, to=target, note="why")
        case.refresh_from_db()
        assert result.status == case.status == target
        assert result.version == case.version == version + 1
        new_events = _new_events(case, events)
        assert [(e.type, e.field, e.old, e.new) for e in new_events] == [
            (EventType.STATUS_CHANGED, "status", source, target)
        ]
        assert new_events[0].actor == agent
        assert new_events[0].by_customer is False
        assert new_events[0].payload == {"note": "why"}
    else:
        with pytest.raises(CaseTransitionNotAllowed) as excinfo:
            case_transition(actor=agent, case=case, to=target)
        assert excinfo.value.code == "transition_not_allowed"
        assert excinfo.value.extra == {
            "allowed": _expected_allowed(ALLOWED, source),
            "status": source,
        }
        case.refresh_from_db()
        assert case.status == source
        assert case.version == version
        assert _all_events(case) == events


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_customer_transition_follows_customer_allowed(source, target, make_case, agent, customer_a):
    case = _case_in(source, lambda: make_case(customer=customer_a), agent)
    version, events = case.version, _all_events(case)

    if source == target:
        case_transition(actor=customer_a.user, case=case, to=target, by_customer=True)
        case.refresh_from_db()
        assert case.version == version
        assert _all_events(case) == events
    elif target in CUSTOMER_ALLOWED.get(source, frozenset()):
        case_transition(actor=customer_a.user, case=case, to=target, by_customer=True)
        case.refresh_from_db()
        assert case.status == target
        assert case.version == version + 1
        new_events = _new_events(case, events)
        assert [(e.type, e.old, e.new, e.by_customer) for e in new_events] == [
            (EventType.STATUS_CHANGED, source, target, True)
        ]
        assert new_events[0].actor == customer_a.user
    else:
        with pytest.raises(CaseTransitionNotAllowed) as excinfo:
            case_transition(actor=customer_a.user, case=case, to=target, by_customer=True)
        assert excinfo.value.extra["allowed"] == _expected_allowed(CUSTOMER_ALLOWED, source)
        case.refresh_from_db()
        assert case.status == source
        assert case.version == version
        assert _all_events(case) == events


def test_transition_to_an_unknown_status_is_invalid(make_case, agent):
    case = make_case()

    with pytest.raises(CaseInvalid):
        case_transition(actor=agent, case=case, to="archived")

    assert _events(case, EventType.STATUS_CHANGED) == []


def test_resolved_and_closed_times_are_set_and_cleared_on_reopen(clock, make_case, agent):
    case = make_case()
    assert (case.resolved_at, case.closed_at) == (None, None)

    resolved_at = clock.advance(hours=1)
    case = case_transition(actor=agent, case=case, to=Status.RESOLVED)
    case.refresh_from_db()
    assert (case.resolved_at, case.closed_at) == (resolved_at, None)

    closed_at = clock.advance(days=1)
    case = case_transition(actor=agent, case=case, to=Status.CLOSED)
    case.refresh_from_db()
    assert (case.resolved_at, case.closed_at) == (resolved_at, closed_at)

    clock.advance(days=1)
    case = case_transition(actor=agent, case=case, to=Status.OPEN)
    case.refresh_from_db()
    assert (case.resolved_at, case.closed_at) == (None, None)


def test_reopening_a_resolved_case_clears_resolved_at(clock, make_case, agent):
    case = make_case()
    case = case_transition(actor=agent, case=case, to=Status.RESOLVED)

    case = case_transition(actor=agent, case=case, to=Status.OPEN)

    case.refresh_from_db()
    assert (case.status, case.resolved_at, case.closed_at) == (Status.OPEN, None, None)


def test_transition_at_back_dates_the_change_and_its_event(clock, make_case, agent):
    case = make_case()
    at = clock.now - timedelta(days=3)

    case = case_transition(actor=agent, case=case, to=Status.RESOLVED, at=at)

    case.refresh_from_db()
    assert case.resolved_at == at
    assert case.updated_at == at
    assert _events(case, EventType.STATUS_CHANGED)[0].at == at


def _closed_case_resolved_ago(age: timedelta, clock, make_case, agent) -> Case:
    case = make_case()
    case = case_transition(actor=agent, case=case, to=Status.RESOLVED, at=clock.now - age)
    return case_transition(actor=agent, case=case, to=Status.CLOSED, at=clock.now - age)


@pytest.mark.parametrize("by_customer", [False, True])
def test_reopen_inside_the_window_is_allowed(by_customer, clock, make_case, agent, customer_a):
    CaseSettings.objects.filter(pk=1).update(reopen_window_days=14)
    case = _closed_case_resolved_ago(
        timedelta(days=14) - timedelta(minutes=1),
        clock,
        lambda: make_case(customer=customer_a),
        agent,
    )
    actor = customer_a.user if by_customer else agent

    case = case_transition(actor=actor, case=case, to=Status.OPEN, by_customer=by_customer)

    assert case.status == Status.OPEN


@pytest.mark.parametrize("by_customer", [False, True])
def test_reopen_after_the_window_is_refused(by_customer, clock, make_case, agent, customer_a):
    CaseSettings.objects.filter(pk=1).update(reopen_window_days=14)
    case = _closed_case_resolved_ago(
        timedelta(days=14) + timedelta(minutes=1),
        clock,
        lambda: make_case(customer=customer_a),
        agent,
    )
    version, events = case.version, _all_events(case)
    actor = customer_a.user if by_customer else agent

    with pytest.raises(CaseTransitionNotAllowed) as excinfo:
        case_transition(actor=actor, case=case, to=Status.OPEN, by_customer=by_customer)

    assert excinfo.value.extra == {"allowed": [], "status": Status.CLOSED}
    case.refresh_from_db()
    assert (case.status, case.version) == (Status.CLOSED, version)
    assert _all_events(case) == events


def test_reopen_window_follows_case_settings(clock, make_case, agent):
    CaseSettings.objects.filter(pk=1).update(reopen_window_days=30)
    case = _closed_case_resolved_ago(timedelta(days=20), clock, make_case, agent)

    case = case_transition(actor=agent, case=case, to=Status.OPEN)

    assert case.status == Status.OPEN


# --- Optimistic locking: case_update ------------------------------------------------------------


def test_update_with_a_stale_version_conflicts_and_writes_nothing(make_case, agent):
    case = make_case()
    case_update(actor=agent, case=case, version=1, changes={"subject": "First edit"})
    events = _all_events(case)

    with pytest.raises(CaseVersionConflict) as excinfo:
        case_update(actor=agent, case=case, version=1, changes={"subject": "Second edit"})

    assert excinfo.value.code == "version_conflict"
    assert excinfo.value.extra == {"current_version": 2}
    case.refresh_from_db()
    assert (case.subject, case.version) == ("First edit", 2)
    assert _all_events(case) == events


def test_update_bumps_the_version_once_and_records_one_event_per_field(
    clock, make_case, agent, repair_agent
):
    case = make_case()
    when = clock.advance(minutes=5)

    result = case_update(
        actor=agent,
        case=case,
        version=1,
        changes={
            "subject": "Screen cracked on arrival",
            "priority": "high",
            "category": "logistics.damage",
            "owner": "repairer",
            "tags": ["fragile", "courier"],
            "amount": "99.50",
        },
    )

    case.refresh_from_db()
    assert result.version == case.version == 2
    assert case.updated_at == when
    assert case.owner == repair_agent
    assert case.amount == Decimal("99.50")
    assert case.currency == "CNY"
    assert sorted(t.name for t in case.tags.all()) == ["courier", "fragile"]
    changes = {
        e.field: (e.type, e.old, e.new) for e in _events(case) if e.type != EventType.CREATED
    }
    assert changes == {
        "subject": (EventType.FIELD_CHANGED, "Parcel arrived damaged", "Screen cracked on arrival"),
        "priority": (EventType.FIELD_CHANGED, "normal", "high"),
        "category": (EventType.FIELD_CHANGED, None, "logistics.damage"),
        "owner": (EventType.ASSIGNED, None, "repairer"),
        "tags": (EventType.FIELD_CHANGED, [], ["courier", "fragile"]),
        "amount": (EventType.FIELD_CHANGED, None, "99.50"),
        "currency": (EventType.FIELD_CHANGED, "", "CNY"),
    }
    assert all(e.at == when and e.actor == agent for e in _events(case)[1:])


def test_update_without_a_change_writes_nothing_and_keeps_the_version(make_case, agent):
    case = make_case(priority="high", tags=("fragile",))
    events = _all_events(case)

    result = case_update(
        actor=agent,
        case=case,
        version=1,
        changes={
            "subject": "Parcel arrived damaged",
            "priority": "high",
            "owner": None,
            "tags": ["fragile"],
        },
    )

    case.refresh_from_db()
    assert result.version == case.version == 1
    assert _all_events(case) == events


def test_update_with_an_equal_amount_written_differently_is_no_change(make_case, agent):
    case = make_case(amount=Decimal("10.00"), currency="CNY")
    events = _all_events(case)

    case_update(actor=agent, case=case, version=1, changes={"amount": "10"})

    case.refresh_from_db()
    assert case.version == 1
    assert _all_events(case) == events


def test_update_refuses_fields_that_are_not_editable(make_case, agent):
    case = make_case()
    events = _all_events(case)

    with pytest.raises(CaseInvalid) as excinfo:
        case_update(actor=agent, case=case, version=1, changes={"status": "closed", "number": "x"})

    assert set(excinfo.value.fields) == {"status", "number"}
    case.refresh_from_db()
    assert (case.status, case.version) == (Status.NEW, 1)
    assert _all_events(case) == events


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": ""},
        {"priority": "critical"},
        {"owner": "nobody-by-this-name"},
        {"owner": "a@example.com"},  # a customer, not staff
        {"amount": "1.001"},
        {"category": "nope"},
    ],
    ids=repr,
)
def test_update_refuses_invalid_values_and_writes_nothing(changes, make_case, agent, customer_a):
    case = make_case()
    events = _all_events(case)

    with pytest.raises(CaseInvalid):
        case_update(actor=agent, case=case, version=1, changes=changes)

    case.refresh_from_db()
    assert case.version == 1
    assert _all_events(case) == events


def test_assign_needs_no_version_and_records_assigned(make_case, supervisor, agent):
    case = make_case()
    case_update(actor=supervisor, case=case, version=1, changes={"priority": "low"})

    result = case_assign(actor=supervisor, case=case, owner=agent)

    assert result.version == 3
    assert result.owner == agent
    [event] = _events(case, EventType.ASSIGNED)
    assert (event.field, event.old, event.new, event.actor) == ("owner", None, "agent", supervisor)


# --- Messages -----------------------------------------------------------------------------------


def test_first_public_staff_reply_sets_first_response_at(clock, make_case, agent):
    case = make_case()
    first = clock.advance(minutes=30)

    message = case_add_message(actor=agent, case=case, body="We are on it.")
    clock.advance(minutes=30)
    case_add_message(actor=agent, case=case, body="Update: parts ordered.")

    case.refresh_from_db()
    assert case.first_response_at == first
    assert (message.internal, message.from_customer, message.author) == (False, False, agent)
    assert [e.type for e in _events(case)] == [
        EventType.CREATED,
        EventType.MESSAGE_ADDED,
        EventType.MESSAGE_ADDED,
    ]
    assert _events(case)[1].payload == {"message": message.pk, "channel": "web"}


def test_internal_note_does_not_count_as_first_response(make_case, agent):
    case = make_case()

    case_add_message(actor=agent, case=case, body="Check the courier.", internal=True)

    case.refresh_from_db()
    assert case.first_response_at is None
    assert [e.type for e in _events(case)] == [EventType.CREATED, EventType.NOTE_ADDED]


def test_customer_reply_does_not_count_as_first_response(make_case, customer_a):
    case = make_case(customer=customer_a)

    case_add_message(actor=customer_a.user, case=case, body="Any news?", by_customer=True)

    case.refresh_from_db()
    assert case.first_response_at is None
    assert case.status == Status.NEW


def test_customer_reply_moves_a_waiting_case_to_open(clock, make_case, agent, customer_a):
    case = make_case(customer=customer_a)
    case = case_transition(actor=agent, case=case, to=Status.PENDING_CUSTOMER)
    events = _all_events(case)
    replied = clock.advance(hours=2)

    case_add_message(actor=customer_a.user, case=case, body="Here is the photo.", by_customer=True)

    case.refresh_from_db()
    assert case.status == Status.OPEN
    new = _new_events(case, events)
    assert [(e.type, e.old, e.new) for e in new] == [
        (EventType.MESSAGE_ADDED, None, None),
        (EventType.STATUS_CHANGED, Status.PENDING_CUSTOMER, Status.OPEN),
    ]
    assert new[0].by_customer is True
    assert (new[1].actor, new[1].by_customer, new[1].at) == (None, False, replied)
    assert new[1].payload == {"note": "customer replied"}


def test_customers_cannot_write_internal_notes(make_case, customer_a):
    case = make_case(customer=customer_a)
    before = _counts()

    with pytest.raises(CaseInvalid) as excinfo:
        case_add_message(
            actor=customer_a.user, case=case, body="secret", internal=True, by_customer=True
        )

    assert list(excinfo.value.fields) == ["internal"]
    assert _counts() == before


@pytest.mark.parametrize(
    ("body", "channel"), [("", "web"), ("  ", "web"), ("a\x00b", "web"), ("ok", "fax")]
)
def test_invalid_message_writes_nothing(body, channel, make_case, agent):
    case = make_case()
    before = _counts()

    with pytest.raises(CaseInvalid):
        case_add_message(actor=agent, case=case, body=body, channel=channel)

    assert _counts() == before


# --- Attachments --------------------------------------------------------------------------------


def test_attachment_is_stored_with_its_sha256(make_case, agent):
    case = make_case()

    attachment = case_add_attachment(
        actor=agent, case=case, upload=SimpleUploadedFile("photo.png", PNG, "image/png")
    )

    attachment.refresh_from_db()
    digest = hashlib.sha256(PNG).hexdigest()
    assert attachment.sha256 == digest
    assert attachment.size == len(PNG)
    assert attachment.content_type == "image/png"
    assert attachment.filename == "photo.png"
    assert attachment.file.name == f"attachments/{digest[:2]}/{digest}"
    with attachment.file.open("rb") as stored:
        assert stored.read() == PNG
    [event] = _events(case, EventType.ATTACHMENT_ADDED)
    assert event.payload == {"attachment": attachment.pk, "filename": "photo.png", "size": len(PNG)}


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("../../etc/passwd.pdf", ".._.._etc_passwd.pdf"),
        ("C:\\Users\\evil\\report.pdf", "C:_Users_evil_report.pdf"),
        ("/abs/path.pdf", "_abs_path.pdf"),
        ("two\nlines.pdf", "two lines.pdf"),
    ],
)
def test_attachment_file_name_is_sanitised(name, stored, make_case, agent):
    case = make_case()

    attachment = case_add_attachment(
        actor=agent, case=case, upload=RawNameUpload(name, PDF, "application/pdf")
    )

    assert attachment.filename == stored
    assert "/" not in attachment.filename and "\\" not in attachment.filename
    assert attachment.file.name.startswith("attachments/")
    assert ".." not in attachment.file.name


@override_settings(ATTACHMENT_MAX_BYTES=1024)
def test_attachment_over_the_size_limit_is_refused(make_case, agent):
    case = make_case()
    before = _counts()

    with pytest.raises(CaseInvalid) as excinfo:
        case_add_attachment(
            actor=agent,
            case=case,
            upload=SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * 1020, "application/pdf"),
        )

    assert excinfo.value.code == "file_too_large"
    assert _counts() == before


@override_settings(ATTACHMENT_MAX_BYTES=1024)
def test_attachment_at_the_size_limit_is_accepted(make_case, agent):
    case = make_case()

    attachment = case_add_attachment(
        actor=agent,
        case=case,
        upload=SimpleUploadedFile("max.pdf", b"%PDF-" + b"0" * 1019, "application/pdf"),
    )

    assert attachment.size == 1024


@pytest.mark.parametrize(
    ("content_type", "content", "code"),
    [
        ("application/x-msdownload", b"MZ\x90\x00" + b"\x00" * 32, "file_type_not_allowed"),
        ("text/html", b"<script>alert(1)</script>", "file_type_not_allowed"),
        ("", b"plain bytes", "file_type_not_allowed"),
        ("image/png", b"GIF89a" + b"\x00" * 32, "file_type_mismatch"),
        ("application/pdf", b"MZ\x90\x00" + b"\x00" * 32, "file_type_mismatch"),
        ("image/jpeg", PNG, "file_type_mismatch"),
    ],
)
def test_attachment_of_a_refused_or_disguised_type_writes_nothing(
    content_type, content, code, make_case, agent
):
    case = make_case()
    before = _counts()

    with pytest.raises(CaseInvalid) as excinfo:
        case_add_attachment(
            actor=agent, case=case, upload=SimpleUploadedFile("f.bin", content, content_type)
        )

    assert excinfo.value.code == code
    assert _counts() == before


def test_empty_attachment_is_refused(make_case, agent):
    case = make_case()

    with pytest.raises(CaseInvalid):
        case_add_attachment(
            actor=agent, case=case, upload=SimpleUploadedFile("e.txt", b"", "text/plain")
        )

    assert Attachment.objects.count() == 0


def test_customers_cannot_add_internal_files(make_case, customer_a):
    case = make_case(customer=customer_a)

    with pytest.raises(CaseInvalid):
        case_add_attachment(
            actor=customer_a.user,
            case=case,
            upload=SimpleUploadedFile("p.pdf", PDF, "application/pdf"),
            internal=True,
            by_customer=True,
        )

    assert Attachment.objects.count() == 0


# --- Links --------------------------------------------------------------------------------------


def test_link_is_idempotent(make_case, agent):
    source, target = make_case(), make_case()

    first = case_link(actor=agent, source=source, target=target, kind="duplicate_of")
    second = case_link(actor=agent, source=source, target=target, kind="duplicate_of")

    assert first.pk == second.pk
    assert CaseLink.objects.count() == 1
    [event] = _events(source, EventType.LINKED)
    assert (event.field, event.new) == ("links", {"kind": "duplicate_of", "target": target.number})
    assert _events(target, EventType.LINKED) == []


def test_link_of_another_kind_is_a_second_link(make_case, agent):
    source, target = make_case(), make_case()

    case_link(actor=agent, source=source, target=target, kind="duplicate_of")
    case_link(actor=agent, source=source, target=target, kind="related")

    assert sorted(CaseLink.objects.values_list("kind", flat=True)) == ["duplicate_of", "related"]


def test_link_to_itself_is_refused(make_case, agent):
    case = make_case()
    before = _counts()

    with pytest.raises(CaseInvalid) as excinfo:
        case_link(actor=agent, source=case, target=case, kind="related")

    assert list(excinfo.value.fields) == ["target"]
    assert _counts() == before


def test_link_of_unknown_kind_is_refused(make_case, agent):
    source, target = make_case(), make_case()

    with pytest.raises(CaseInvalid):
        case_link(actor=agent, source=source, target=target, kind="blocks")

    assert CaseLink.objects.count() == 0


# --- Events are append-only ---------------------------------------------------------------------


def _snapshot() -> list[tuple]:
    return list(CaseEvent.objects.order_by("id").values_list("id", "type", "at", "payload"))


def test_events_cannot_be_updated_in_bulk(make_case):
    case = make_case()
    before = _snapshot()

    with pytest.raises(TypeError):
        CaseEvent.objects.filter(case=case).update(type="case.tampered")

    assert _snapshot() == before
    assert EventType.CREATED in [row[1] for row in before]


def test_events_cannot_be_deleted_in_bulk(make_case):
    case = make_case()
    before = _snapshot()

    with pytest.raises(TypeError):
        CaseEvent.objects.filter(case=case).delete()
    with pytest.raises(TypeError):
        CaseEvent.objects.all().delete()

    assert _snapshot() == before


def test_an_existing_event_cannot_be_saved_or_deleted(make_case):
    case = make_case()
    [event] = _events(case, EventType.CREATED)
    before = _snapshot()
    event.type = "case.tampered"

    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.save(update_fields=["type"])
    with pytest.raises(TypeError):
        event.delete()

    assert _snapshot() == before


def test_events_cannot_be_bulk_updated(make_case):
    case = make_case()
    [event] = _events(case, EventType.CREATED)
    before = _snapshot()
    event.type = "case.tampered"

    # bulk_update joins the caller's transaction (savepoint=False): give it a savepoint of its own.
    with pytest.raises(TypeError), transaction.atomic():
        CaseEvent.objects.bulk_update([event], ["type"])

    assert _snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("asked", "linked"),
    [
        (("gone", "kept", "new"), ["kept", "new"]),  # a new tag: the tags are read again
        (("gone", "kept"), ["kept"]),  # none new: the INSERT links only existing tags
    ],
)
def test_a_tag_deleted_after_the_look_up_is_left_out_not_a_failure(
    departments, monkeypatch, asked, linked
) -> None:
    """Tags are looked up before the write transaction; one an admin deletes meanwhile is not
    linked (a link to it would fail the whole creation at COMMIT)."""
    from afterdesk.cases import services
    from afterdesk.cases.models import Tag

    Tag.objects.create(name="gone")
    Tag.objects.create(name="kept")
    found = services._tags_found

    def found_then_deleted(names):
        result = found(names)
        Tag.objects.filter(name="gone").delete()
        return result

    monkeypatch.setattr(services, "_tags_found", found_then_deleted)
    case = case_create(actor=None, data=_input(tags=asked))

    assert sorted(Case.objects.get(pk=case.pk).tags.values_list("name", flat=True)) == linked
    assert [t.name for t in case._prefetched_tags] == linked
