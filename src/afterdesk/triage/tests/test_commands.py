"""`afterdesk triage …` and the demo's triage set-up."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from afterdesk.cases.models import Case
from afterdesk.triage.models import AgentProfile, ClassifierModel, Rule, Shift
from afterdesk.triage.tests.conftest import LABELLED

pytestmark = pytest.mark.django_db


def run(*args: object) -> str:
    out = StringIO()
    call_command("triage", *[str(a) for a in args], stdout=out)
    return out.getvalue()


def test_train_from_csv_then_evaluate_and_list() -> None:
    output = run("train", "--from-csv", LABELLED)
    assert "Model v1 (active): trained on 240 cases" in output
    assert "category: accuracy" in output
    model = ClassifierModel.objects.get()
    assert model.is_active and model.report["category"]["size"] == 60

    evaluation = run("evaluate", LABELLED)
    assert "Model v1 on 300 cases of labelled.csv" in evaluation
    assert "transaction.payment_security" in evaluation
    assert "priority: accuracy" in evaluation

    listing = run("models")
    assert "yes" in listing.splitlines()[1]


def test_train_refuses_an_installation_without_history() -> None:
    with pytest.raises(CommandError, match="At least 20 labelled cases"):
        run("train")
    assert not ClassifierModel.objects.exists()


def test_evaluate_names_a_missing_column(tmp_path: Path) -> None:
    run("train", "--from-csv", LABELLED)
    bad = tmp_path / "bad.csv"
    bad.write_text("subject,body,priority\nx,y,normal\n", encoding="utf-8")
    with pytest.raises(CommandError, match="lacks the column\\(s\\): category"):
        run("evaluate", bad)


def test_evaluate_without_a_model_says_so() -> None:
    with pytest.raises(CommandError, match="No active model"):
        run("evaluate", LABELLED)


def test_activate_rolls_back_to_an_older_version() -> None:
    run("train", "--from-csv", LABELLED)
    run("train", "--from-csv", LABELLED)
    assert ClassifierModel.objects.get(is_active=True).version == 2
    assert "Model v1 is active." in run("activate", 1)
    assert ClassifierModel.objects.get(is_active=True).version == 1
    with pytest.raises(CommandError, match="No model v9"):
        run("activate", 9)


def test_run_triages_an_existing_case(make_case) -> None:
    case = make_case(subject="我的账号被盗了", description="有人盗刷")
    Case.objects.filter(pk=case.pk).update(priority="low")
    output = run("run", case.number)
    assert f"{case.number}: category -, priority urgent" in output
    with pytest.raises(CommandError, match="No case AS-1"):
        run("run", "AS-1")


def test_the_demo_seeds_rules_agents_shifts_and_a_model() -> None:
    call_command("demo", cases=150, customers=30, stdout=StringIO())
    assert Rule.objects.filter(name="DOA words", set_category__code="product.doa").exists()
    assert AgentProfile.objects.filter(user__username="liu.yang").exists()
    night = Shift.objects.filter(profile__user__username="liu.yang")
    assert night.count() == 7 and all(s.end < s.start for s in night)
    model = ClassifierModel.objects.get(is_active=True)
    assert model.train_size > 20
    assert model.report["category"]["accuracy"] > 0.5
