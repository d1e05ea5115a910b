"""`afterdesk demo` adds RMAs in many states, with their policy, flags and compensation."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Min

from afterdesk.cases.models import CaseEvent
from afterdesk.rma.models import AbuseFlag, CompensationProposal, Rma, RmaPolicy


@pytest.mark.django_db
def test_demo_loads_rmas_in_many_states() -> None:
    call_command("demo", cases=200, customers=30, stdout=StringIO())
    states = set(Rma.objects.values_list("state", flat=True))
    assert Rma.objects.count() >= 20
    assert len(states) >= 4, states
    assert "closed" in states
    assert states - {"closed", "rejected", "refunded"}, states  # some still under way
    assert RmaPolicy.objects.filter(product_line="phones").exists()
    assert AbuseFlag.objects.exists()
    assert CompensationProposal.objects.exists()
    # Every RMA milestone lies inside its case's life: after creation, in order.
    for rma in Rma.objects.select_related("case"):
        first = CaseEvent.objects.filter(case=rma.case, type__startswith="rma.").aggregate(
            at=Min("at")
        )["at"]
        assert first >= rma.case.created_at
        assert rma.requested_at <= rma.updated_at
