"""The RMA screens: the panel on the agent's case page, warehouse receiving, inspection,
sorting, approvals, the report, and the customer's portal section; query budgets."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from afterdesk.cases.choices import EventType
from afterdesk.cases.models import CaseEvent
from afterdesk.rma import services
from afterdesk.rma.choices import State
from afterdesk.rma.models import CompensationProposal, Inspection, Rma

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _get(rma: Rma) -> Rma:
    return Rma.objects.select_related("case").get(pk=rma.pk)


# -- the panel --------------------------------------------------------------------------------


def test_case_page_shows_the_panel_with_allowed_steps(make_rma, logistics_agent) -> None:
    rma = make_rma()
    page = _client(logistics_agent).get(reverse("cases:detail", args=[rma.case.number]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="rma"' in html
    assert 'data-rma-state="requested"' in html
    assert 'data-rma-step="approved"' in html
    assert 'data-rma-step="received"' not in html
    assert "Quick close (no return)" in html
    assert "allowed by “Small amount, clear fault”" in html


def test_complaint_case_page_has_no_panel(make_case, customer_a, agent) -> None:
    case = make_case(customer=customer_a, kind="complaint")
    html = _client(agent).get(reverse("cases:detail", args=[case.number])).content.decode()
    assert 'id="rma"' not in html


def test_panel_offers_an_rma_for_a_return_case_without_one(make_case, customer_a, logistics_agent):
    case = make_case(customer=customer_a, kind="return", product_sku="PHN-X1")
    client = _client(logistics_agent)
    html = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert "Request an RMA" in html
    response = client.post(reverse("rma:create", args=[case.number]), {"reason": "wrong_item"})
    assert response.status_code == 302
    assert Rma.objects.get(case=case).reason == "wrong_item"


def test_panel_step_and_refused_step(make_rma, logistics_agent) -> None:
    rma = make_rma()
    client = _client(logistics_agent)
    url = reverse("rma:step", args=[rma.case.number])
    client.post(url, {"to": "approved"})
    assert _get(rma).state == State.APPROVED
    response = client.post(url, {"to": "closed"}, follow=True)
    assert "cannot move to" in response.content.decode()
    assert _get(rma).state == State.APPROVED


def test_agent_outside_the_department_gets_404(make_rma, agent) -> None:
    rma = make_rma()
    client = _client(agent)
    assert (
        client.post(reverse("rma:step", args=[rma.case.number]), {"to": "approved"}).status_code
        == 404
    )
    assert client.get(reverse("rma:inspect", args=[rma.case.number])).status_code == 404
    assert client.get(reverse("rma:slip", args=[rma.case.number])).status_code == 404
    assert _get(rma).state == State.REQUESTED


def test_propose_and_approve_from_the_panel_and_queue(make_rma, logistics_agent, supervisor):
    rma = make_rma()
    _client(logistics_agent).post(
        reverse("rma:propose", args=[rma.case.number]),
        {"type": "fixed_amount", "value": "300", "currency": "CNY", "coupon_valid_days": 90},
    )
    proposal = CompensationProposal.objects.get()
    assert proposal.status == "pending"
    queue = _client(supervisor).get(reverse("rma:approvals"))
    assert rma.case.number in queue.content.decode()
    _client(supervisor).post(
        reverse("rma:decide", args=[rma.case.number, proposal.pk]),
        {"decision": "approve", "back": "queue"},
    )
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by) == ("approved", supervisor)


def test_case_page_query_budget_with_a_full_rma(
    make_rma, supervisor, drive, django_assert_max_num_queries
) -> None:
    rma = drive(make_rma(kind="exchange"), State.DELIVERED, supervisor)
    services.compensation_propose(
        actor=supervisor, case=rma.case, data=services.CompensationInput(type="coupon", value="50")
    )
    client = _client(supervisor)
    url = reverse("cases:detail", args=[rma.case.number])
    client.get(url)
    with django_assert_max_num_queries(45):
        response = client.get(url)
    assert "AD-" in response.content.decode()


# -- warehouse --------------------------------------------------------------------------------


def test_scan_receives_by_number_or_tracking(make_rma, warehouse_user, drive) -> None:
    first = drive(make_rma(), State.IN_TRANSIT, warehouse_user)
    second = drive(make_rma(order_ref="", product_sku="B"), State.AWAITING_RETURN, warehouse_user)
    client = _client(warehouse_user)
    page = client.get(reverse("rma:warehouse"))
    assert "autofocus" in page.content.decode()
    response = client.post(reverse("rma:warehouse"), {"code": "SF1002"}, follow=True)
    assert f"{first.case.number} received." in response.content.decode()
    client.post(reverse("rma:warehouse"), {"code": second.case.number.lower()})
    assert _get(first).state == _get(second).state == State.RECEIVED
    again = client.post(reverse("rma:warehouse"), {"code": "SF1002"}, follow=True)
    assert "was already received" in again.content.decode()
    unknown = client.post(reverse("rma:warehouse"), {"code": "NOPE-1"}, follow=True)
    assert "no RMA with this number" in unknown.content.decode()


def test_scan_of_another_departments_rma_is_unknown(make_rma, agent, supervisor, drive) -> None:
    rma = drive(make_rma(), State.IN_TRANSIT, supervisor)
    response = _client(agent).post(reverse("rma:warehouse"), {"code": rma.case.number}, follow=True)
    assert "no RMA with this number" in response.content.decode()
    assert _get(rma).state == State.IN_TRANSIT


def test_inspection_form_and_sorting(make_rma, warehouse_user, drive) -> None:
    rma = drive(make_rma(), State.RECEIVED, warehouse_user)
    client = _client(warehouse_user)
    url = reverse("rma:inspect", args=[rma.case.number])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "packaging_ok": "on",
            "matches_description": "on",
            "accessories_complete": "on",
            "notes": "ok",
        },
    )
    assert response.status_code == 302
    inspection = Inspection.objects.get(rma=rma)
    assert (inspection.packaging_ok, inspection.function_ok, inspection.passed) == (
        True,
        False,
        True,
    )
    arrivals = client.get(reverse("rma:arrivals")).content.decode()
    assert rma.case.number in arrivals and "Passed" in arrivals
    client.post(reverse("rma:disposition", args=[rma.case.number]), {"disposition": "refurbish"})
    assert _get(rma).disposition == "refurbish"
    page = client.get(reverse("rma:arrivals")).content.decode()
    assert f"{rma.case.number} → Refurbish" in page  # the flash message
    assert f'id="arrival-{rma.case.number}"' not in page


def test_arrivals_query_budget(make_rma, warehouse_user, drive, django_assert_max_num_queries):
    for n in range(5):
        drive(make_rma(order_ref="", product_sku=f"A{n}"), State.INSPECTED, warehouse_user)
    client = _client(warehouse_user)
    client.get(reverse("rma:arrivals"))
    with django_assert_max_num_queries(12):
        page = client.get(reverse("rma:arrivals"))
    assert page.content.decode().count('id="arrival-') == 5


def test_warehouse_query_budget(make_rma, warehouse_user, drive, django_assert_max_num_queries):
    for n in range(5):
        drive(make_rma(order_ref="", product_sku=f"W{n}"), State.RECEIVED, warehouse_user)
    client = _client(warehouse_user)
    client.get(reverse("rma:warehouse"))
    with django_assert_max_num_queries(12):
        client.get(reverse("rma:warehouse"))


# -- report -----------------------------------------------------------------------------------


def test_report_is_for_supervisors(agent, supervisor) -> None:
    assert _client(agent).get(reverse("rma:report")).status_code == 403
    assert _client(supervisor).get(reverse("rma:report")).status_code == 200


def test_report_figures_and_pareto(make_rma, supervisor, drive, django_assert_max_num_queries):
    for n, reason in enumerate(["doa", "doa", "doa", "wrong_item", "changed_mind"]):
        rma = make_rma(reason=reason, order_ref="", product_sku=f"P{n}")
        drive(rma, State.INSPECTED if n < 3 else State.APPROVED, supervisor)
    client = _client(supervisor)
    today = timezone.localdate()
    query = {
        "start": (today - timedelta(days=2)).isoformat(),
        "end": today.isoformat(),
        "period": "month",
    }
    with django_assert_max_num_queries(10):
        page = client.get(reverse("rma:report"), query)
    html = page.content.decode()
    assert page.status_code == 200
    pareto = html[html.index("data-pareto") :]
    assert pareto.index("Dead on arrival") < pareto.index("Wrong item")
    assert "60.0 %" in pareto  # 3 of 5
    assert "100.0 %" in html  # the pass rate and the last cumulative share


def test_report_rejects_a_reversed_range(supervisor) -> None:
    page = _client(supervisor).get(
        reverse("rma:report"), {"start": "2026-05-01", "end": "2026-04-01", "period": "month"}
    )
    assert page.status_code == 422
    assert "The end is before the start." in page.content.decode()


def test_report_selector_metrics(make_rma, supervisor, drive, clock) -> None:
    from afterdesk.rma.selectors import rma_report

    rma = make_rma(kind="repair")
    clock.advance(hours=4)
    rma = drive(rma, State.RECEIVED, supervisor)
    clock.advance(days=2)
    rma = drive(rma, State.SHIPPED_BACK, supervisor)
    report = rma_report(start=clock.now.date() - timedelta(days=5), end=clock.now.date())
    assert report.total.requests == 1
    assert report.total.authorise_hours == 4.0
    assert report.total.repair_cycle_days == 2.0
    assert report.total.pass_rate == 100.0
    assert [(r.reason, r.count, r.cumulative) for r in report.pareto] == [("doa", 1, 100.0)]


# -- the portal -------------------------------------------------------------------------------


def test_portal_section_and_slip_only_for_the_own_case(
    make_rma, logistics_agent, drive, customer_a, customer_b
) -> None:
    rma = drive(make_rma(), State.AWAITING_RETURN, logistics_agent)
    own = _client(customer_a.user)
    html = own.get(reverse("portal:case", args=[rma.case.number])).content.decode()
    assert "Download the return slip (PDF)" in html
    assert "Returns Centre" in html
    slip = own.get(reverse("rma_portal:slip", args=[rma.case.number]))
    assert slip.status_code == 200
    assert slip.content.startswith(b"%PDF-") and rma.case.number.encode() in slip.content
    other = _client(customer_b.user)
    assert other.get(reverse("rma_portal:slip", args=[rma.case.number])).status_code == 404
    assert other.post(reverse("rma_portal:confirm", args=[rma.case.number])).status_code == 404
    assert (
        other.post(
            reverse("rma_portal:quote", args=[rma.case.number]), {"answer": "accept"}
        ).status_code
        == 404
    )


def test_portal_quote_and_receipt(make_rma, order, supervisor, drive, customer_a) -> None:
    order.placed_at = timezone.now() - timedelta(days=900)
    order.delivered_at = timezone.now() - timedelta(days=899)
    order.save()
    rma = drive(make_rma(kind="repair"), State.DIAGNOSED, supervisor)
    client = _client(customer_a.user)
    page = client.get(reverse("portal:case", args=[rma.case.number])).content.decode()
    assert "Accept the quote" in page and "80.00 CNY" in page
    client.post(reverse("rma_portal:quote", args=[rma.case.number]), {"answer": "accept"})
    assert _get(rma).quote_status == "accepted"
    rma = drive(_get(rma), State.DELIVERED, supervisor)
    page = client.get(reverse("portal:case", args=[rma.case.number])).content.decode()
    assert "Yes, I received it" in page
    client.post(reverse("rma_portal:confirm", args=[rma.case.number]))
    rma = _get(rma)
    assert rma.state == State.CONFIRMED
    event = CaseEvent.objects.filter(case=rma.case, type=EventType.RMA_STATE_CHANGED).last()
    assert (event.by_customer, event.new) == (True, "confirmed")
    page = client.get(reverse("portal:case", args=[rma.case.number])).content.decode()
    assert "Receipt confirmed" in page


def test_portal_confirm_before_delivery_is_refused(make_rma, customer_a, supervisor, drive):
    rma = drive(make_rma(kind="exchange", amount=Decimal("1")), State.APPROVED, supervisor)
    response = _client(customer_a.user).post(
        reverse("rma_portal:confirm", args=[rma.case.number]), follow=True
    )
    assert "cannot move to" in response.content.decode()
    assert _get(rma).state == State.APPROVED


def test_timeline_describes_rma_and_compensation_events(make_rma, logistics_agent, drive) -> None:
    rma = drive(make_rma(), State.IN_TRANSIT, logistics_agent)
    services.compensation_propose(
        actor=logistics_agent,
        case=rma.case,
        data=services.CompensationInput(type="coupon", value="20", currency="CNY"),
    )
    html = _client(logistics_agent).get(reverse("cases:detail", args=[rma.case.number]))
    text = html.content.decode()
    assert "RMA requested: Dead on arrival" in text
    assert "RMA: Requested → Approved" in text
    assert "RMA: Awaiting return → In transit (SF Express SF1002)" in text
    assert "Compensation approved: Coupon · coupon AD-" in text


def test_customer_sees_their_coupon_and_its_conditions(
    make_rma, logistics_agent, drive, customer_a, customer_b
) -> None:
    rma = drive(make_rma(), State.AWAITING_RETURN, logistics_agent)
    proposal = services.compensation_propose(
        actor=logistics_agent,
        case=rma.case,
        data=services.CompensationInput(
            type="coupon", value="30", currency="CNY", coupon_min_order="199"
        ),
    )
    services.compensation_propose(  # waiting for a supervisor: not shown to the customer
        actor=logistics_agent,
        case=rma.case,
        data=services.CompensationInput(type="fixed_amount", value="400", currency="CNY"),
    )
    proposal.refresh_from_db()
    page = _client(customer_a.user).get(reverse("portal:case", args=[rma.case.number]))
    html = page.content.decode()
    assert proposal.coupon.code in html
    assert "30.00 CNY off one order of at least 199.00 CNY, valid until" in html
    assert "400.00 CNY" not in html
    staff = _client(logistics_agent).get(reverse("cases:detail", args=[rma.case.number]))
    assert "off one order of at least 199.00 CNY" in staff.content.decode()
