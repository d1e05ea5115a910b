"""`afterdesk triage train | evaluate FILE.csv | models | activate VERSION | run NUMBER`.

- train: fit a new model on the installation's closed cases, store it as the next version,
  activate it (unless --no-activate), print the held-out report.
- evaluate: accuracy and macro-F1 per class of the active model (or --model VERSION)
  against a labelled CSV with the columns subject, body, category, priority.
- models: the stored versions and their held-out figures.
- activate: make a stored version the active one (e.g. to roll back).
- run: triage an existing case again (rules, urgency, model, routing, assignment).
"""

from __future__ import annotations

import csv
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from afterdesk.cases.models import Case
from afterdesk.core.errors import DomainError
from afterdesk.triage import classifier
from afterdesk.triage.models import ClassifierModel
from afterdesk.triage.services import case_triage_run, model_activate, model_train

CSV_COLUMNS = ("subject", "body", "category", "priority")


def read_labelled(path: Path) -> list[classifier.Sample]:
    """The rows of a labelled CSV; a clear error names a missing column or an empty label."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CommandError(f"{path} lacks the column(s): {', '.join(missing)}")
        samples: list[classifier.Sample] = []
        for line, row in enumerate(reader, start=2):
            if not (row["category"] or "").strip():
                raise CommandError(f"{path}, line {line}: the category is empty")
            samples.append(
                classifier.Sample(
                    row["subject"] or "",
                    row["body"] or "",
                    row["category"].strip(),
                    (row["priority"] or "normal").strip(),
                )
            )
    if not samples:
        raise CommandError(f"{path} holds no rows.")
    return samples


class Command(BaseCommand):
    help = "Train, evaluate and manage the triage classifier; triage a case on demand."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        train = sub.add_parser("train", help="train a model on the closed cases")
        train.add_argument("--no-activate", action="store_true", help="store but do not use it")
        train.add_argument(
            "--from-csv", type=Path, help="train on a labelled CSV instead of the closed cases"
        )
        evaluate = sub.add_parser("evaluate", help="evaluate against a labelled CSV")
        evaluate.add_argument("file", type=Path)
        evaluate.add_argument("--model", type=int, help="model version (default: the active one)")
        sub.add_parser("models", help="list the stored model versions")
        activate = sub.add_parser("activate", help="make a stored model version active")
        activate.add_argument("version", type=int)
        run = sub.add_parser("run", help="triage an existing case again")
        run.add_argument("number", help="the case number, e.g. AS-20261123-00042")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "train":
            self._train(options)
        elif action == "evaluate":
            self._evaluate(options["file"], options.get("model"))
        elif action == "models":
            self._models()
        elif action == "activate":
            self._activate(options["version"])
        else:
            self._run(options["number"])

    def _train(self, options: dict[str, Any]) -> None:
        samples = read_labelled(options["from_csv"]) if options.get("from_csv") else None
        try:
            model = model_train(actor=None, samples=samples, activate=not options["no_activate"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        state = "active" if model.is_active else "stored, not active"
        self.stdout.write(
            f"Model v{model.version} ({state}): trained on {model.train_size} cases in "
            f"{model.seconds:.1f} s, held-out report on {model.test_size} cases:"
        )
        self.stdout.write(classifier.format_report(model.report))

    def _evaluate(self, path: Path, version: int | None) -> None:
        samples = read_labelled(path)
        query = ClassifierModel.objects.all()
        model = (
            query.filter(version=version).first()
            if version is not None
            else query.filter(is_active=True).first()
        )
        if model is None:
            raise CommandError(
                f"No model v{version}." if version is not None else "No active model; train one."
            )
        pipeline = classifier.loads(bytes(model.blob))
        category, priority = classifier.evaluate(pipeline, samples)
        self.stdout.write(f"Model v{model.version} on {len(samples)} cases of {path.name}:")
        self.stdout.write(
            classifier.format_report(
                {"category": category.as_dict(), "priority": priority.as_dict()}
            )
        )

    def _models(self) -> None:
        rows = ClassifierModel.objects.order_by("-version").values_list(
            "version", "is_active", "created_at", "train_size", "report"
        )
        if not rows:
            self.stdout.write("No models yet: run `afterdesk triage train`.")
            return
        self.stdout.write(
            f"{'version':>7}  {'active':6}  {'trained':19}  {'cases':>6}  accuracy  F1"
        )
        for version, active, created, size, report in rows:
            part = (report or {}).get("category", {})
            self.stdout.write(
                f"{version:>7}  {'yes' if active else '':6}  {created:%Y-%m-%d %H:%M:%S}  "
                f"{size:>6}  {part.get('accuracy', 0):8.3f}  {part.get('macro_f1', 0):.3f}"
            )

    def _activate(self, version: int) -> None:
        model = ClassifierModel.objects.filter(version=version).first()
        if model is None:
            raise CommandError(f"No model v{version}.")
        model_activate(actor=None, model=model)
        self.stdout.write(f"Model v{version} is active.")

    def _run(self, number: str) -> None:
        case = Case.objects.filter(number=number).first()
        if case is None:
            raise CommandError(f"No case {number}.")
        case = case_triage_run(actor=None, case=case)
        self.stdout.write(
            f"{case.number}: category {case.category.code if case.category else '-'}, "
            f"priority {case.priority}, department "
            f"{case.department.code if case.department else '-'}, owner "
            f"{case.owner.username if case.owner else '-'}"
        )
