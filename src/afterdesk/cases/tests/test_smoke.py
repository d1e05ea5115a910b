from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_create_then_read_case(api, supervisor):
    client = api(supervisor)
    created = client.post(
        "/api/v1/cases",
        {
            "kind": "repair",
            "channel": "phone",
            "subject": "屏幕无法开机",
            "customer": {"name": "李雷", "email": "lilei@example.com"},
        },
    )
    assert created.status_code == 201, created.content
    number = created.json()["number"]
    fetched = client.get(f"/api/v1/cases/{number}")
    assert fetched.status_code == 200
    assert fetched.json()["department"] == "repair"
    assert fetched.json()["status"] == "new"
