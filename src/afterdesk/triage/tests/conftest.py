"""Fixtures of the triage tests: agents with profiles and shifts, a trained model."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from afterdesk.accounts.models import Department, User
from afterdesk.triage import classifier
from afterdesk.triage.services import ProfileInput, ShiftInput, profile_save

LABELLED = Path(__file__).resolve().parent / "data" / "labelled.csv"


def labelled_samples() -> list[classifier.Sample]:
    with LABELLED.open(encoding="utf-8", newline="") as handle:
        return [
            classifier.Sample(r["subject"], r["body"], r["category"], r["priority"])
            for r in csv.DictReader(handle)
        ]


@pytest.fixture
def make_agent(departments: dict[str, Department], admin_user: User) -> Callable[..., User]:
    """make_agent(username, department="customer-service", shifts=[(weekday, "HH:MM",
    "HH:MM")], **profile) -> a staff member in automatic assignment."""

    def make(
        username: str,
        department: str = "customer-service",
        *,
        role: str = "agent",
        shifts: list[tuple[int, str, str]] | None = None,
        **profile: Any,
    ) -> User:
        user = User.objects.create_user(username=username, password="pw", role=role)
        user.departments.set([departments[department]])
        spans = tuple(
            ShiftInput(d, time.fromisoformat(start), time.fromisoformat(end))
            for d, start, end in (shifts or [])
        )
        profile_save(actor=admin_user, user=user, data=ProfileInput(shifts=spans, **profile))
        return user

    return make


_MODEL: dict[str, Any] = {}


@pytest.fixture
def labelled() -> list[classifier.Sample]:
    return labelled_samples()
