"""The RMA lifecycle through its services: creation, every step allowed and refused, the
side effects of steps (clocks, case status, shipments), diagnosis and quote, receipt."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from afterdesk.cases.choices import EventType
from afterdesk.cases.choices import Status as CaseStatus
from afterdesk.cases.models import Case, CaseEvent
from afterdesk.rma import services
from afterdesk.rma.choices import ALLOWED, Direction, QuoteStatus, State
from afterdesk.rma.errors import RmaExists, RmaInvalid, RmaTransitionNotAllowed
from afterdesk.rma.models import Inspection, Rma, RmaItem, Shipment
from afterdesk.rma.tests.conftest import PATHS, step
from afterdesk.sla.models import SlaTimer

pytestmark = pytest.mark.django_db


def _snapshot(rma: Rma) -> tuple[dict, int, int, int]:
    return (
        Rma.objects.filter(pk=rma.pk).values().get(),
        CaseEvent.objects.count(),
        Shipment.objects.count(),
        Inspection.objects.count(),
    )


# -- creation -----------------------------------------------------------------------------------


def test_create_takes_the_item_from_the_case_and_evaluates_warranty(make_rma, product) -> None:
    rma = make_rma(kind="return", reason="doa")
    assert rma.state == State.REQUESTED
    assert rma.kind == "return"
    item = RmaItem.objects.get(rma=rma)
    assert (item.sku, item.serial, item.quantity, item.product_id) == (
        "PHN-X1",
        "SN-1",
        1,
        product.pk,
    )
    assert item.order.reference == "SO-1001"
    assert item.purchased_on == timezone.localtime(item.order.placed_at).date()
    assert rma.warranty_status == "in_warranty"
    assert rma.within_window is True
    assert rma.window_ends == item.delivered_on + timedelta(days=7)
    assert rma.policy is not None and rma.policy.product_line == ""
    event = CaseEvent.objects.get(case=rma.case, type=EventType.RMA_CREATED)
    assert event.payload["reason"] == "doa"
    assert event.payload["items"] == [{"sku": "PHN-X1", "serial": "SN-1", "quantity": 1}]


def test_create_refuses_a_complaint_case(make_case, customer_a) -> None:
    case = make_case(customer=customer_a, kind="complaint")
    events = CaseEvent.objects.count()
    with pytest.raises(RmaInvalid, match="Only repair, return and exchange"):
        services.rma_create(actor=None, case=case, reason="doa", items=[services.ItemInput("X")])
    assert not Rma.objects.exists()
    assert CaseEvent.objects.count() == events


def test_create_refuses_a_second_rma_on_the_case(make_rma) -> None:
    rma = make_rma()
    with pytest.raises(RmaExists):
        services.rma_create(actor=None, case=rma.case, reason="doa")
    assert Rma.objects.count() == 1


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (services.ItemInput(sku=""), "sku"),
        (services.ItemInput(sku="A", quantity=0), "quantity"),
        (services.ItemInput(sku="A", serial="x\x00"), "serial"),
        (
            services.ItemInput(
                sku="A", purchased_on=date(2026, 5, 2), delivered_on=date(2026, 5, 1)
            ),
            "delivered_on",
        ),
    ],
)
def test_create_refuses_bad_items_and_writes_nothing(make_case, customer_a, item, field) -> None:
    case = make_case(customer=customer_a, kind="return")
    with pytest.raises(RmaInvalid) as info:
        services.rma_create(actor=None, case=case, reason="doa", items=[item])
    assert field in info.value.fields
    assert not Rma.objects.exists() and not RmaItem.objects.exists()


def test_create_refuses_unknown_reason(make_case, customer_a) -> None:
    case = make_case(customer=customer_a, kind="return", product_sku="A")
    with pytest.raises(RmaInvalid) as info:
        services.rma_create(actor=None, case=case, reason="bored")
    assert "reason" in info.value.fields


def test_out_of_window_request_is_recorded_and_says_so(make_rma, order) -> None:
    Rma_order = order
    Rma_order.placed_at = timezone.now() - timedelta(days=40)
    Rma_order.delivered_at = timezone.now() - timedelta(days=30)
    Rma_order.save()
    rma = make_rma(kind="exchange", reason="quality_defect")
    assert rma.within_window is False
    assert rma.warranty_status == "in_warranty"


def test_item_add_reevaluates_and_is_refused_after_approval(make_rma, agent, drive) -> None:
    rma = make_rma()
    services.rma_item_add(actor=agent, rma=rma, item=services.ItemInput(sku="CABLE-1", quantity=2))
    assert list(RmaItem.objects.filter(rma=rma).values_list("sku", "quantity")) == [
        ("PHN-X1", 1),
        ("CABLE-1", 2),
    ]
    rma = drive(rma, State.APPROVED, agent)
    with pytest.raises(RmaTransitionNotAllowed):
        services.rma_item_add(actor=agent, rma=rma, item=services.ItemInput(sku="X"))
    assert RmaItem.objects.filter(rma=rma).count() == 2


# -- the state machine: every step of every kind ------------------------------------------------


@pytest.mark.parametrize("kind", ["repair", "return", "exchange"])
def test_every_step_on_the_path_is_allowed_and_stamped(make_rma, supervisor, kind) -> None:
    rma = make_rma(kind=kind)
    for n, to in enumerate(PATHS[kind]):
        before = rma.state
        assert to in services.allowed_steps(rma)
        rma = step(rma, to, supervisor, n=n)
        assert rma.state == to
        milestone = getattr(
            rma,
            {
                "repairing": "repair_started_at",
                "awaiting_return": "awaiting_return_at",
                "replacement_shipped": "replacement_shipped_at",
                "in_transit": "in_transit_at",
                "shipped_back": "shipped_back_at",
            }.get(to, f"{to}_at"),
        )
        assert milestone is not None
        event = CaseEvent.objects.filter(case=rma.case, type=EventType.RMA_STATE_CHANGED).last()
        assert (event.old, event.new, event.actor) == (before, to, supervisor)
    assert rma.state == State.CLOSED
    assert Case.objects.get(pk=rma.case_id).status == CaseStatus.RESOLVED


def _every_state_reached(make_rma, actor, kind):
    """(rma, state) for each state of the kind's path, on fresh RMAs."""
    for index in range(len(PATHS[kind]) + 1):
        rma = make_rma(kind=kind, order_ref="", product_sku=f"SKU-{index}")
        for n, to in enumerate(PATHS[kind][:index]):
            rma = step(rma, to, actor, n=n)
        yield rma


@pytest.mark.parametrize("kind", ["repair", "return", "exchange"])
def test_every_step_off_the_table_is_refused_and_changes_nothing(
    make_rma, supervisor, kind
) -> None:
    for rma in _every_state_reached(make_rma, supervisor, kind):
        table = {to for to, kinds in ALLOWED[rma.state].items() if kind in kinds}
        allowed = set(services.allowed_steps(rma))
        # Only the quote guard narrows the table (a diagnosed repair waiting for the customer).
        assert allowed == table - ({State.REPAIRING} if rma.quote_status == "pending" else set())
        for to in State.values:
            if to in allowed or to == rma.state:
                continue
            before = _snapshot(rma)
            if to == State.INSPECTED:
                with pytest.raises(RmaTransitionNotAllowed):
                    services.rma_inspect(
                        actor=supervisor,
                        rma=rma,
                        data=services.InspectionInput(True, True, True, True, False),
                    )
            elif to == State.DIAGNOSED:
                with pytest.raises(RmaTransitionNotAllowed):
                    services.rma_diagnose(
                        actor=supervisor,
                        rma=rma,
                        fault="f",
                        repair_plan="p",
                        repair_eta=date.today() + timedelta(days=1),
                    )
            else:
                with pytest.raises(RmaTransitionNotAllowed) as info:
                    services.rma_transition(
                        actor=supervisor,
                        rma=rma,
                        to=to,
                        note="why",
                        carrier="SF",
                        tracking_number="SF9",
                    )
                assert info.value.extra["state"] == rma.state
                assert set(info.value.extra["allowed"]) == allowed
            assert _snapshot(rma) == before, (rma.state, to)


def test_refusal_message_names_both_states(make_rma, agent) -> None:
    rma = make_rma(kind="return")
    with pytest.raises(RmaTransitionNotAllowed, match="“Requested” cannot move to “Received”"):
        services.rma_transition(actor=agent, rma=rma, to=State.RECEIVED)


def test_kind_decides_the_step_after_inspection(make_rma, supervisor, drive) -> None:
    ret = drive(make_rma(kind="return"), State.INSPECTED, supervisor)
    assert services.allowed_steps(ret) == [State.REFUNDED, State.SHIPPED_BACK]
    rep = drive(make_rma(kind="repair", order_ref="", product_sku="R"), State.INSPECTED, supervisor)
    assert services.allowed_steps(rep) == [State.DIAGNOSED, State.SHIPPED_BACK]
    exc = drive(
        make_rma(kind="exchange", order_ref="", product_sku="E"), State.INSPECTED, supervisor
    )
    assert services.allowed_steps(exc) == [State.REPLACEMENT_SHIPPED, State.SHIPPED_BACK]


def test_rejection_needs_a_reason_and_opens_the_case(make_rma, agent) -> None:
    rma = make_rma()
    with pytest.raises(RmaInvalid, match="reason for the rejection"):
        services.rma_transition(actor=agent, rma=rma, to=State.REJECTED)
    rma = services.rma_transition(actor=agent, rma=rma, to=State.REJECTED, note="Worn by use")
    assert (rma.state, rma.rejection_reason) == (State.REJECTED, "Worn by use")
    assert Case.objects.get(pk=rma.case_id).status == CaseStatus.OPEN


def test_inspection_and_diagnosis_are_not_plain_transitions(make_rma, agent, drive) -> None:
    rma = drive(make_rma(kind="repair"), State.RECEIVED, agent)
    with pytest.raises(RmaInvalid, match="inspection checklist"):
        services.rma_transition(actor=agent, rma=rma, to=State.INSPECTED)
    with pytest.raises(RmaInvalid, match="diagnosis"):
        services.rma_transition(actor=agent, rma=rma, to=State.DIAGNOSED)


def test_same_state_is_a_no_op(make_rma, agent) -> None:
    rma = services.rma_transition(actor=agent, rma=make_rma(), to=State.APPROVED)
    events = CaseEvent.objects.count()
    services.rma_transition(actor=agent, rma=rma, to=State.APPROVED)
    assert CaseEvent.objects.count() == events


def test_return_instructions_default_to_the_policy_address(make_rma, agent, drive) -> None:
    rma = drive(make_rma(), State.AWAITING_RETURN, agent)
    assert "Returns Centre" in rma.return_address
    assert rma.return_instructions


# -- shipments and receiving ------------------------------------------------------------------


def test_shipping_needs_carrier_and_tracking(make_rma, agent, drive) -> None:
    rma = drive(make_rma(), State.AWAITING_RETURN, agent)
    with pytest.raises(RmaInvalid) as info:
        services.rma_transition(actor=agent, rma=rma, to=State.IN_TRANSIT, carrier="SF")
    assert "tracking_number" in info.value.fields
    assert Rma.objects.get(pk=rma.pk).state == State.AWAITING_RETURN


def test_second_tracking_number_is_recorded_without_a_step(make_rma, agent, drive) -> None:
    rma = drive(make_rma(), State.IN_TRANSIT, agent)
    services.rma_shipment_add(
        actor=agent, rma=rma, direction=Direction.INBOUND, carrier="EMS", tracking_number="EMS1"
    )
    assert Rma.objects.get(pk=rma.pk).state == State.IN_TRANSIT
    assert list(Shipment.objects.filter(rma=rma).values_list("carrier", flat=True)) == [
        "SF Express",
        "EMS",
    ]
    assert CaseEvent.objects.filter(case=rma.case, type=EventType.RMA_SHIPMENT_ADDED).count() == 1


def test_outbound_parcel_before_inspection_is_refused(make_rma, agent, drive) -> None:
    rma = drive(make_rma(), State.RECEIVED, agent)
    with pytest.raises(RmaTransitionNotAllowed):
        services.rma_shipment_add(
            actor=agent, rma=rma, direction=Direction.OUTBOUND, carrier="SF", tracking_number="S2"
        )
    assert not Shipment.objects.filter(direction=Direction.OUTBOUND).exists()


def test_receive_by_number_or_tracking_and_twice_is_refused(
    make_rma, warehouse_user, drive
) -> None:
    rma = drive(make_rma(), State.IN_TRANSIT, warehouse_user)
    found = services.rma_find_for_scan(rmas=Rma.objects.all(), code="sf1002")
    assert found == rma
    assert services.rma_find_for_scan(rmas=Rma.objects.all(), code=rma.case.number.lower()) == rma
    assert services.rma_find_for_scan(rmas=Rma.objects.all(), code="nothing") is None
    received = services.rma_receive(actor=warehouse_user, rma=found, code="SF1002")
    assert received.state == State.RECEIVED
    assert Shipment.objects.get(rma=rma).delivered_at == received.received_at
    with pytest.raises(RmaTransitionNotAllowed, match="already received") as info:
        services.rma_receive(actor=warehouse_user, rma=rma, code="SF1002")
    assert info.value.code == "already_received"


@pytest.mark.sqlite_only
def test_a_scan_is_looked_up_through_indexes(make_rma, warehouse_user, drive) -> None:
    """Scanned codes compare without regard to case, yet no look-up reads a whole table
    (a case-insensitive LIKE would)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rma = drive(make_rma(), State.IN_TRANSIT, warehouse_user)
    with CaptureQueriesContext(connection) as captured:
        assert services.rma_find_for_scan(rmas=Rma.objects.all(), code="sf1002") == rma
    assert len(captured) == 2  # the number, then the tracking number
    with connection.cursor() as cursor:
        for query in captured:
            cursor.execute("EXPLAIN QUERY PLAN " + query["sql"])
            plan = " / ".join(row[-1] for row in cursor.fetchall())
            assert "SCAN rma_shipment" not in plan and "SCAN cases_case" not in plan, plan


def test_receive_without_tracking_from_awaiting_return(make_rma, warehouse_user, drive) -> None:
    rma = drive(make_rma(), State.AWAITING_RETURN, warehouse_user)
    assert services.rma_receive(actor=warehouse_user, rma=rma).state == State.RECEIVED


def test_receive_of_a_request_not_approved_is_refused(make_rma, warehouse_user) -> None:
    rma = make_rma()
    with pytest.raises(RmaTransitionNotAllowed):
        services.rma_receive(actor=warehouse_user, rma=rma)
    assert Rma.objects.get(pk=rma.pk).received_at is None


# -- inspection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("matches", "complete", "damage", "passed"),
    [
        (True, True, False, True),
        (False, True, False, False),
        (True, False, False, False),
        (True, True, True, False),
    ],
)
def test_inspection_verdict(make_rma, warehouse_user, drive, matches, complete, damage, passed):
    rma = drive(make_rma(), State.RECEIVED, warehouse_user)
    inspection = services.rma_inspect(
        actor=warehouse_user,
        rma=rma,
        data=services.InspectionInput(True, False, matches, complete, damage, "notes"),
    )
    assert inspection.passed is passed
    event = CaseEvent.objects.get(case=rma.case, type=EventType.RMA_INSPECTED)
    assert event.payload["customer_damage"] is damage
    assert event.payload["passed"] is passed


def test_inspection_photos_are_stored_as_internal_files(make_rma, warehouse_user, drive) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
        b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
        b"\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    rma = drive(make_rma(), State.RECEIVED, warehouse_user)
    photo = SimpleUploadedFile("box.png", png, content_type="image/png")
    inspection = services.rma_inspect(
        actor=warehouse_user,
        rma=rma,
        data=services.InspectionInput(True, True, True, True, False),
        photos=[photo],
    )
    stored = list(inspection.photos.all())
    assert [(a.filename, a.internal) for a in stored] == [("box.png", True)]


def test_inspection_refuses_a_non_image(make_rma, warehouse_user, drive) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    rma = drive(make_rma(), State.RECEIVED, warehouse_user)
    with pytest.raises(RmaInvalid, match="not a photo"):
        services.rma_inspect(
            actor=warehouse_user,
            rma=rma,
            data=services.InspectionInput(True, True, True, True, False),
            photos=[SimpleUploadedFile("a.txt", b"hi", content_type="text/plain")],
        )
    assert not Inspection.objects.exists()
    assert Rma.objects.get(pk=rma.pk).state == State.RECEIVED


# -- diagnosis, quote and the clocks ----------------------------------------------------------


def test_receiving_a_repair_starts_the_diagnosis_clock_and_diagnosis_meets_it(
    make_rma, supervisor, drive
) -> None:
    rma = drive(make_rma(kind="repair"), State.RECEIVED, supervisor)
    timer = SlaTimer.objects.get(case=rma.case, metric="diagnosis")
    assert timer.state == "running"
    rma = drive(rma, State.DIAGNOSED, supervisor)
    timer.refresh_from_db()
    assert timer.state == "met"
    assert rma.quote_status == QuoteStatus.NOT_REQUIRED


def _out_of_warranty(order) -> None:
    order.placed_at = timezone.now() - timedelta(days=800)
    order.delivered_at = timezone.now() - timedelta(days=798)
    order.save()


def test_out_of_warranty_diagnosis_needs_a_quote_the_customer_answers(
    make_rma, order, supervisor, drive, customer_a
) -> None:
    _out_of_warranty(order)
    rma = drive(make_rma(kind="repair"), State.INSPECTED, supervisor)
    assert rma.warranty_status == "out_of_warranty"
    with pytest.raises(RmaInvalid) as info:
        services.rma_diagnose(
            actor=supervisor,
            rma=rma,
            fault="f",
            repair_plan="p",
            repair_eta=date.today() + timedelta(days=2),
        )
    assert "cost" in info.value.fields
    rma = services.rma_diagnose(
        actor=supervisor,
        rma=rma,
        fault="Cracked board",
        repair_plan="Replace board",
        repair_eta=date.today() + timedelta(days=2),
        cost="199.00",
    )
    assert (rma.quote_status, rma.quote_amount, rma.quote_currency) == (
        QuoteStatus.PENDING,
        Decimal("199.00"),
        "CNY",
    )
    assert State.REPAIRING not in services.allowed_steps(rma)
    with pytest.raises(RmaTransitionNotAllowed, match="accepts the quote"):
        services.rma_transition(actor=supervisor, rma=rma, to=State.REPAIRING)
    rma = services.rma_quote_answer(user=customer_a.user, rma=rma, accept=True)
    assert rma.quote_status == QuoteStatus.ACCEPTED
    event = CaseEvent.objects.get(case=rma.case, type=EventType.RMA_QUOTE_ANSWERED)
    assert (event.by_customer, event.new) == (True, "accepted")
    assert services.rma_transition(actor=supervisor, rma=rma, to=State.REPAIRING).state == (
        State.REPAIRING
    )
    with pytest.raises(RmaTransitionNotAllowed, match="no repair quote"):
        services.rma_quote_answer(user=customer_a.user, rma=rma, accept=False)


def test_declined_quote_ships_back_unrepaired(make_rma, order, supervisor, drive, customer_a):
    _out_of_warranty(order)
    rma = drive(make_rma(kind="repair"), State.DIAGNOSED, supervisor)
    rma = services.rma_quote_answer(user=customer_a.user, rma=rma, accept=False)
    with pytest.raises(RmaTransitionNotAllowed, match="declined"):
        services.rma_transition(actor=supervisor, rma=rma, to=State.REPAIRING)
    rma = services.rma_transition(
        actor=supervisor, rma=rma, to=State.SHIPPED_BACK, carrier="SF", tracking_number="SFB1"
    )
    assert rma.state == State.SHIPPED_BACK


def test_in_warranty_diagnosis_refuses_a_cost(make_rma, supervisor, drive) -> None:
    rma = drive(make_rma(kind="repair"), State.INSPECTED, supervisor)
    with pytest.raises(RmaInvalid, match="under warranty"):
        services.rma_diagnose(
            actor=supervisor,
            rma=rma,
            fault="f",
            repair_plan="p",
            repair_eta=date.today() + timedelta(days=2),
            cost="10",
        )


def test_diagnosis_eta_in_the_past_is_refused(make_rma, supervisor, drive) -> None:
    rma = drive(make_rma(kind="repair"), State.INSPECTED, supervisor)
    with pytest.raises(RmaInvalid, match="in the past"):
        services.rma_diagnose(
            actor=supervisor,
            rma=rma,
            fault="f",
            repair_plan="p",
            repair_eta=date.today() - timedelta(days=2),
        )
    assert Rma.objects.get(pk=rma.pk).state == State.INSPECTED


def test_delivery_starts_receipt_clock_and_customer_confirms(
    make_rma, supervisor, drive, customer_a
) -> None:
    rma = drive(make_rma(kind="exchange"), State.DELIVERED, supervisor)
    timer = SlaTimer.objects.get(case=rma.case, metric="receipt_confirmation")
    assert rma.confirm_due_at == timer.due_at
    assert Shipment.objects.get(rma=rma, direction="outbound").delivered_at == rma.delivered_at
    rma = services.rma_confirm_receipt(user=customer_a.user, rma=rma, by_customer=True)
    assert (rma.state, rma.auto_confirmed) == (State.CONFIRMED, False)
    timer.refresh_from_db()
    assert timer.state == "met"


def test_auto_confirm_sweep_confirms_only_expired_windows(
    make_rma, supervisor, drive, clock
) -> None:
    due = drive(make_rma(kind="exchange"), State.DELIVERED, supervisor)
    fresh = drive(
        make_rma(kind="exchange", order_ref="", product_sku="X2"), State.DELIVERED, supervisor
    )
    Rma.objects.filter(pk=fresh.pk).update(confirm_due_at=clock.now + timedelta(days=2))
    Rma.objects.filter(pk=due.pk).update(confirm_due_at=clock.now - timedelta(minutes=1))
    assert services.rma_auto_confirm_due() == 1
    due.refresh_from_db()
    fresh.refresh_from_db()
    assert (due.state, due.auto_confirmed, due.confirmed_at) == (State.CONFIRMED, True, clock.now)
    assert fresh.state == State.DELIVERED
    event = CaseEvent.objects.filter(case=due.case, type=EventType.RMA_STATE_CHANGED).last()
    assert (event.actor, event.payload) == (None, {"auto": True})
    assert services.rma_auto_confirm_due() == 0


def test_disposition_only_after_arrival(make_rma, warehouse_user, drive) -> None:
    rma = make_rma()
    with pytest.raises(RmaTransitionNotAllowed):
        services.rma_set_disposition(actor=warehouse_user, rma=rma, disposition="restock")
    rma = drive(rma, State.RECEIVED, warehouse_user)
    rma = services.rma_set_disposition(actor=warehouse_user, rma=rma, disposition="restock")
    assert rma.disposition == "restock"
    with pytest.raises(RmaInvalid):
        services.rma_set_disposition(actor=warehouse_user, rma=rma, disposition="burn")


def test_cancelled_rma_resolves_its_case(make_rma, agent) -> None:
    rma = services.rma_transition(actor=agent, rma=make_rma(), to=State.CANCELLED)
    assert rma.cancelled_at is not None
    assert Case.objects.get(pk=rma.case_id).status == CaseStatus.RESOLVED


def test_auto_confirm_runs_as_a_periodic_sweep(make_rma, supervisor, drive, clock) -> None:
    from afterdesk.core.periodic import registered
    from afterdesk.rma.tasks import rma_auto_confirm

    jobs = {p.name: p for p in registered()}
    assert jobs["afterdesk.rma.tasks.rma_auto_confirm"].interval == timedelta(minutes=5)
    rma = drive(make_rma(kind="exchange"), State.DELIVERED, supervisor)
    assert rma_auto_confirm.call() == 0
    clock.set(rma.confirm_due_at + timedelta(seconds=1))
    assert rma_auto_confirm.call() == 1
    assert Rma.objects.get(pk=rma.pk).state == State.CONFIRMED
