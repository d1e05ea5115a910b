from __future__ import annotations

import pytest

from afterdesk.cases.services import case_transition


@pytest.mark.django_db
def test_customer_sees_status_changes_without_the_staff_note(api, make_case, customer_a, agent):
    case = make_case(customer=customer_a)
    case_transition(actor=agent, case=case, to="open", note="VIP; check refund abuse history")

    as_customer = api(customer_a.user).get(f"/api/v1/cases/{case.number}/events").json()
    as_staff = api(agent).get(f"/api/v1/cases/{case.number}/events").json()

    customer_change = next(e for e in as_customer if e["type"] == "case.status_changed")
    staff_change = next(e for e in as_staff if e["type"] == "case.status_changed")
    assert (customer_change["old"], customer_change["new"]) == ("new", "open")
    assert customer_change["payload"] == {}
    assert staff_change["payload"] == {"note": "VIP; check refund abuse history"}
