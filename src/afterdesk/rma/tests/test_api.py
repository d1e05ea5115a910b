"""/api/v1/rma/...: the lifecycle over HTTP, errors as 4xx JSON naming the problem, the case
permission model (404 outside the department, customers only their own), query budgets."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from afterdesk.cases.models import CaseEvent
from afterdesk.rma.choices import State
from afterdesk.rma.models import CompensationProposal, Rma

pytestmark = pytest.mark.django_db


def test_create_get_and_walk_a_return(api, make_case, customer_a, logistics_agent, order) -> None:
    client = api(logistics_agent)
    case = make_case(customer=customer_a, kind="return", product_sku="PHN-X1", order_ref="SO-1001")
    response = client.post("/api/v1/rma", {"case": case.number, "reason": "doa"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["number"], body["state"], body["warranty_status"]) == (
        case.number,
        "requested",
        "in_warranty",
    )
    assert body["items"][0]["sku"] == "PHN-X1"
    assert body["allowed_transitions"] == ["approved", "rejected", "cancelled"]
    base = f"/api/v1/rma/{case.number}"
    assert client.post(f"{base}/transition", {"to": "approved"}).json()["state"] == "approved"
    assert client.post(f"{base}/transition", {"to": "awaiting_return"}).status_code == 200
    shipped = client.post(
        f"{base}/shipments", {"direction": "inbound", "carrier": "SF", "tracking_number": "SF1"}
    )
    assert shipped.status_code == 201 and shipped.json()["state"] == "in_transit"
    assert client.post(f"{base}/receive", {"code": "SF1"}).json()["state"] == "received"
    inspected = client.post(
        f"{base}/inspection",
        {
            "packaging_ok": True,
            "function_ok": False,
            "matches_description": True,
            "accessories_complete": True,
            "customer_damage": False,
            "notes": "Dead on arrival confirmed",
        },
    )
    assert inspected.status_code == 201
    assert inspected.json()["inspection"]["passed"] is True
    refunded = client.post(f"{base}/transition", {"to": "refunded", "refund_amount": "120.00"})
    assert (refunded.json()["state"], refunded.json()["refund_amount"]) == ("refunded", "120.00")
    got = client.get(base).json()
    assert set(got["milestones"]) == {
        "requested",
        "approved",
        "awaiting_return",
        "in_transit",
        "received",
        "inspected",
        "refunded",
    }
    assert got["shipments"][0]["delivered_at"] is not None


def test_illegal_step_is_409_with_the_allowed_ones(api, make_rma, logistics_agent) -> None:
    rma = make_rma()
    before = Rma.objects.filter(pk=rma.pk).values().get()
    response = api(logistics_agent).post(
        f"/api/v1/rma/{rma.case.number}/transition",
        {"to": "received"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "transition_not_allowed"
    assert "cannot move to" in error["message"]
    assert error["allowed"] == ["approved", "rejected", "cancelled"]
    assert Rma.objects.filter(pk=rma.pk).values().get() == before
    # Without a language asked for, the message is in the default language, Chinese.
    chinese = api(logistics_agent).post(
        f"/api/v1/rma/{rma.case.number}/transition", {"to": "received"}
    )
    assert "不能转到" in chinese.json()["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"to": "teleported"}, "to"),
        ({"to": "rejected"}, "note"),
        ({"to": "approved", "extra": 1}, "extra"),
    ],
)
def test_bad_transition_input_is_422_naming_the_field(
    api, make_rma, logistics_agent, payload, field
):
    rma = make_rma()
    response = api(logistics_agent).post(f"/api/v1/rma/{rma.case.number}/transition", payload)
    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]
    assert Rma.objects.get(pk=rma.pk).state == State.REQUESTED


def test_second_rma_is_409(api, make_rma, logistics_agent) -> None:
    rma = make_rma()
    response = api(logistics_agent).post("/api/v1/rma", {"case": rma.case.number, "reason": "doa"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "rma_exists"


def test_agent_outside_the_department_gets_404(api, make_rma, agent, repair_agent) -> None:
    rma = make_rma(kind="return")  # routed to logistics
    for user in (agent, repair_agent):
        client = api(user)
        assert client.get(f"/api/v1/rma/{rma.case.number}").status_code == 404
        response = client.post(f"/api/v1/rma/{rma.case.number}/transition", {"to": "approved"})
        assert response.status_code == 404
        assert client.get(f"/api/v1/rma/{rma.case.number}/return-slip.pdf").status_code == 404
    assert Rma.objects.get(pk=rma.pk).state == State.REQUESTED
    assert api(agent).get("/api/v1/rma").json()["items"] == []


def test_customers_see_only_their_own(api, make_rma, customer_a, customer_b) -> None:
    rma = make_rma()
    own = api(customer_a.user).get(f"/api/v1/rma/{rma.case.number}")
    assert own.status_code == 200
    assert own.json()["allowed_transitions"] == []
    assert api(customer_b.user).get(f"/api/v1/rma/{rma.case.number}").status_code == 404
    assert api(customer_b.user).get("/api/v1/rma").json()["items"] == []
    assert (
        api(customer_b.user).get(f"/api/v1/rma/{rma.case.number}/return-slip.pdf").status_code
        == 404
    )


def test_customer_may_not_take_staff_steps(api, make_rma, customer_a) -> None:
    rma = make_rma()
    client = api(customer_a.user)
    response = client.post(f"/api/v1/rma/{rma.case.number}/transition", {"to": "approved"})
    assert response.status_code == 409
    assert response.json()["error"]["allowed"] == []
    assert client.post(f"/api/v1/rma/{rma.case.number}/receive", {}).status_code == 403
    assert (
        client.post(f"/api/v1/rma/{rma.case.number}/quick-close", {"outcome": "refund"}).status_code
        == 403
    )
    assert client.get(f"/api/v1/rma/{rma.case.number}/compensations").status_code == 403
    assert Rma.objects.get(pk=rma.pk).state == State.REQUESTED


def test_customer_gives_tracking_and_confirms_receipt(
    api, make_rma, customer_a, supervisor, drive
) -> None:
    rma = drive(make_rma(kind="exchange"), State.AWAITING_RETURN, supervisor)
    client = api(customer_a.user)
    base = f"/api/v1/rma/{rma.case.number}"
    sent = client.post(
        f"{base}/shipments", {"direction": "inbound", "carrier": "YTO", "tracking_number": "YT9"}
    )
    assert sent.status_code == 201 and sent.json()["state"] == "in_transit"
    assert CaseEvent.objects.filter(case=rma.case, by_customer=True, new="in_transit").exists()
    # Customers cannot record our outbound parcels.
    outbound = client.post(
        f"{base}/shipments", {"direction": "outbound", "carrier": "SF", "tracking_number": "X1"}
    )
    assert outbound.status_code in (409, 422)
    rma = drive(Rma.objects.select_related("case").get(pk=rma.pk), State.DELIVERED, supervisor)
    confirmed = client.post(f"{base}/confirm-receipt")
    assert confirmed.status_code == 200 and confirmed.json()["state"] == "confirmed"


def test_customer_answers_the_quote(api, make_rma, order, supervisor, drive, customer_a) -> None:
    from django.utils import timezone

    order.placed_at = timezone.now() - timedelta(days=900)
    order.delivered_at = timezone.now() - timedelta(days=899)
    order.save()
    rma = drive(make_rma(kind="repair"), State.INSPECTED, supervisor)
    diag = api(supervisor).post(
        f"/api/v1/rma/{rma.case.number}/diagnosis",
        {
            "fault": "Water damage",
            "repair_plan": "Replace mainboard",
            "repair_eta": (date.today() + timedelta(days=4)).isoformat(),
            "cost": "350.00",
        },
    )
    assert diag.status_code == 201
    assert diag.json()["diagnosis"]["quote_status"] == "pending"
    answer = api(customer_a.user).post(f"/api/v1/rma/{rma.case.number}/quote", {"accept": False})
    assert answer.json()["diagnosis"]["quote_status"] == "declined"
    again = api(customer_a.user).post(f"/api/v1/rma/{rma.case.number}/quote", {"accept": True})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "no_pending_quote"


def test_quick_close_check_and_refusal(api, make_rma, logistics_agent) -> None:
    client = api(logistics_agent)
    small = make_rma(amount=Decimal("50.00"))
    checks = client.get(f"/api/v1/rma/{small.case.number}/quick-close").json()
    assert checks[0] == {
        "outcome": "refund",
        "allowed": True,
        "rule": "Small amount, clear fault",
        "amount": "50.00",
        "currency": "CNY",
        "refusals": {},
    }
    big = make_rma(amount=Decimal("5000.00"), order_ref="", product_sku="B")
    refused = client.post(
        f"/api/v1/rma/{big.case.number}/quick-close",
        {"outcome": "refund"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "quick_close_refused"
    assert "above 25.00 USD" in refused.json()["error"]["message"]
    done = client.post(f"/api/v1/rma/{small.case.number}/quick-close", {"outcome": "refund"})
    assert done.json()["quick_close"] == {"rule": "Small amount, clear fault", "outcome": "refund"}


def test_compensation_over_the_api(api, make_rma, logistics_agent, supervisor) -> None:
    rma = make_rma()
    base = f"/api/v1/rma/{rma.case.number}/compensations"
    proposed = api(logistics_agent).post(
        base, {"type": "coupon", "value": "300", "currency": "CNY", "coupon_min_order": "500"}
    )
    assert proposed.status_code == 201, proposed.json()
    body = proposed.json()
    assert (body["status"], body["required_role"], body["coupon"]) == (
        "pending",
        "supervisor",
        None,
    )
    refused = api(logistics_agent).post(f"{base}/{body['id']}/decision", {"approve": True})
    assert refused.status_code == 403
    assert CompensationProposal.objects.get(pk=body["id"]).status == "pending"
    queue = api(supervisor).get("/api/v1/rma/approvals").json()
    assert [p["id"] for p in queue] == [body["id"]]
    assert api(logistics_agent).get("/api/v1/rma/approvals").json() == []
    approved = api(supervisor).post(f"{base}/{body['id']}/decision", {"approve": True})
    assert approved.json()["status"] == "approved"
    assert approved.json()["coupon"]["code"].startswith("AD-")
    assert approved.json()["coupon"]["min_order_amount"] == "500.00"
    listed = api(logistics_agent).get(base).json()
    assert [p["status"] for p in listed] == ["approved"]
    again = api(supervisor).post(f"{base}/{body['id']}/decision", {"approve": False})
    assert again.status_code == 409


def test_return_slip_pdf(api, make_rma, logistics_agent, customer_a, drive) -> None:
    rma = drive(make_rma(), State.AWAITING_RETURN, logistics_agent)
    response = api(customer_a.user).get(f"/api/v1/rma/{rma.case.number}/return-slip.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert rma.case.number.encode() in response.content


def test_list_and_detail_query_budgets(
    api, make_rma, supervisor, drive, django_assert_max_num_queries
) -> None:
    for n in range(6):
        rma = make_rma(order_ref="", product_sku=f"S{n}")
        drive(rma, State.INSPECTED if n % 2 else State.IN_TRANSIT, supervisor)
    client = api(supervisor)
    client.get("/api/v1/rma")  # warm the token and content types
    with django_assert_max_num_queries(12):
        listed = client.get("/api/v1/rma")
    assert len(listed.json()["items"]) == 6
    number = Rma.objects.filter(inspected_at__isnull=False).first().case.number
    with django_assert_max_num_queries(12):
        detail = client.get(f"/api/v1/rma/{number}")
    assert detail.json()["inspection"]["passed"] is True


def test_openapi_lists_the_rma_endpoints(api, supervisor) -> None:
    spec = api(supervisor).get("/api/v1/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/v1/rma",
        "/api/v1/rma/{number}",
        "/api/v1/rma/{number}/transition",
        "/api/v1/rma/{number}/items",
        "/api/v1/rma/{number}/shipments",
        "/api/v1/rma/{number}/inspection",
        "/api/v1/rma/{number}/diagnosis",
        "/api/v1/rma/{number}/quick-close",
        "/api/v1/rma/{number}/compensations",
        "/api/v1/rma/{number}/compensations/{proposal_id}/decision",
        "/api/v1/rma/approvals",
    ):
        assert path in paths, path
    assert "RmaOut" in spec["components"]["schemas"]
    assert "InspectionIn" in spec["components"]["schemas"]
