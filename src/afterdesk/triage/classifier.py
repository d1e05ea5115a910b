"""The learned classifier: TF-IDF over character n-grams and linear models for category and
priority. Character n-grams need no word segmentation, so Chinese and English go through one
vectorizer.

The fitted objects are kept as one plain dict {"vectorizer", "category", "priority"} while
training and evaluating; `ClassifierModel.blob` stores their compact numpy form
(`afterdesk.triage.scorer`), which is what web processes and workers load. scikit-learn is
imported only here, and only when training or evaluating a freshly fitted pipeline.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from afterdesk.triage import scorer
from afterdesk.triage.scorer import CompactModel, Prediction, text_of

HELD_OUT = 0.2
MIN_CASES = 20
SEED = 20261203


@dataclass(frozen=True)
class Sample:
    subject: str
    body: str
    category: str
    priority: str


# The n-grams kept: every web process holds the vocabulary and a weight per n-gram and class
# (about 15 MB at this size with the seeded taxonomy).
MAX_FEATURES = 50_000


def _vectorizer() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer="char",
        ngram_range=(1, 3),
        min_df=2,
        max_features=MAX_FEATURES,
        sublinear_tf=True,
        dtype=_float32(),
    )


def _float32() -> Any:
    import numpy

    return numpy.float32


def _linear(size: int) -> Any:
    from sklearn.linear_model import SGDClassifier

    # Logistic loss gives probabilities for the confidence threshold; SGD trains 100k cases
    # in seconds where a full solver takes minutes. About 10^6 updates in all converge well
    # (scikit-learn's guidance), between 5 and 50 passes over the data.
    epochs = max(5, min(50, math.ceil(400_000 / max(size, 1))))
    return SGDClassifier(
        loss="log_loss",
        alpha=2e-6,
        max_iter=epochs,
        tol=None,
        class_weight="balanced",
        random_state=SEED,
        n_jobs=min(2, os.cpu_count() or 1),
    )


class TrainingError(ValueError):
    """Too little or too uniform data to train on."""


@dataclass
class ClassReport:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Report:
    """Held-out quality of one target (category or priority)."""

    target: str
    accuracy: float
    macro_f1: float
    size: int
    classes: list[ClassReport] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "size": self.size,
            "classes": [
                {
                    "label": c.label,
                    "precision": round(c.precision, 4),
                    "recall": round(c.recall, 4),
                    "f1": round(c.f1, 4),
                    "support": c.support,
                }
                for c in self.classes
            ],
        }


def report_of(target: str, truth: Sequence[str], predicted: Sequence[str]) -> Report:
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    labels = sorted(set(truth) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    present = [label for label in labels if label in set(truth)]
    return Report(
        target=target,
        accuracy=float(accuracy_score(truth, predicted)) if truth else 0.0,
        macro_f1=float(f1_score(truth, predicted, labels=present, average="macro", zero_division=0))
        if truth
        else 0.0,
        size=len(truth),
        classes=[
            ClassReport(label, float(p), float(r), float(f), int(s))
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
            if s or label in present
        ],
    )


def split(
    samples: Sequence[Sample], held_out: float = HELD_OUT
) -> tuple[list[Sample], list[Sample]]:
    """A stratified (by category) split with a fixed seed: the same data gives the same split.

    Categories with a single case go to training only.
    """
    by_category: dict[str, list[Sample]] = {}
    for sample in samples:
        by_category.setdefault(sample.category, []).append(sample)
    rng = random.Random(SEED)
    train: list[Sample] = []
    test: list[Sample] = []
    for category in sorted(by_category):
        group = list(by_category[category])
        rng.shuffle(group)
        cut = math.floor(len(group) * held_out) if len(group) > 1 else 0
        test.extend(group[:cut])
        train.extend(group[cut:])
    return train, test


@dataclass
class Fitted:
    pipeline: dict[str, Any]
    train_size: int
    test_size: int
    seconds: float
    category: Report
    priority: Report

    def report(self) -> dict[str, Any]:
        return {
            "train_size": self.train_size,
            "test_size": self.test_size,
            "seconds": round(self.seconds, 3),
            "category": self.category.as_dict(),
            "priority": self.priority.as_dict(),
        }


def fit(samples: Sequence[Sample]) -> dict[str, Any]:
    """Fit the vectorizer and both linear models on all of `samples`."""
    if len(samples) < 2:
        raise TrainingError("At least two cases are needed.")
    texts = [text_of(s.subject, s.body) for s in samples]
    categories = [s.category for s in samples]
    priorities = [s.priority for s in samples]
    if len(set(categories)) < 2:
        raise TrainingError("The cases must have at least two different categories.")
    vectorizer = _vectorizer()
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:
        # min_df=2 leaves nothing on a tiny set: every n-gram is then kept.
        vectorizer.set_params(min_df=1)
        matrix = vectorizer.fit_transform(texts)
    category = _linear(len(texts)).fit(matrix, categories)
    pipeline: dict[str, Any] = {"vectorizer": vectorizer, "category": category, "priority": None}
    if len(set(priorities)) >= 2:
        pipeline["priority"] = _linear(len(texts)).fit(matrix, priorities)
    else:
        pipeline["priority_constant"] = priorities[0]
    return pipeline


def train(samples: Sequence[Sample]) -> Fitted:
    """Fit on 80 % of the samples and report on the held-out 20 %.

    The stored model is exactly the one the report describes.
    """
    if len(samples) < MIN_CASES:
        raise TrainingError(
            f"At least {MIN_CASES} labelled cases are needed, found {len(samples)}."
        )
    started = time.perf_counter()
    train_set, test_set = split(samples)
    pipeline = fit(train_set)
    seconds = time.perf_counter() - started
    category_report, priority_report = evaluate(pipeline, test_set)
    return Fitted(
        pipeline=pipeline,
        train_size=len(train_set),
        test_size=len(test_set),
        seconds=seconds,
        category=category_report,
        priority=priority_report,
    )


def _top(classes: Any, row: Any, k: int = 3) -> tuple[tuple[str, float], ...]:
    return scorer.top(classes, row, k)


def predict_many(pipeline: dict[str, Any] | CompactModel, texts: Sequence[str]) -> list[Prediction]:
    """Predictions for already prepared texts (see `text_of`): a fitted pipeline through
    scikit-learn, a stored (compact) model through the scorer."""
    if isinstance(pipeline, CompactModel):
        predictor = scorer.Predictor(pipeline)
        return [predictor.predict_text(text) for text in texts]
    matrix = pipeline["vectorizer"].transform(list(texts))
    category_model = pipeline["category"]
    category_rows = category_model.predict_proba(matrix)
    priority_model = pipeline.get("priority")
    priority_rows = priority_model.predict_proba(matrix) if priority_model is not None else None
    out: list[Prediction] = []
    for index in range(len(texts)):
        categories = _top(category_model.classes_, category_rows[index])
        if priority_model is not None and priority_rows is not None:
            priorities = _top(priority_model.classes_, priority_rows[index])
        else:
            priorities = ((str(pipeline.get("priority_constant", "normal")), 1.0),)
        out.append(
            Prediction(
                category=categories[0][0],
                category_p=categories[0][1],
                priority=priorities[0][0],
                priority_p=priorities[0][1],
                categories=categories,
                priorities=priorities,
            )
        )
    return out


def predict(pipeline: dict[str, Any] | CompactModel, subject: str, body: str) -> Prediction:
    return predict_many(pipeline, [text_of(subject, body)])[0]


def evaluate(
    pipeline: dict[str, Any] | CompactModel, samples: Sequence[Sample]
) -> tuple[Report, Report]:
    """Accuracy, macro-F1 and per-class figures of `pipeline` on labelled samples."""
    if not samples:
        return report_of("category", [], []), report_of("priority", [], [])
    predictions = predict_many(pipeline, [text_of(s.subject, s.body) for s in samples])
    return (
        report_of("category", [s.category for s in samples], [p.category for p in predictions]),
        report_of("priority", [s.priority for s in samples], [p.priority for p in predictions]),
    )


def dumps(pipeline: dict[str, Any] | CompactModel) -> bytes:
    """The bytes to store: the compact form, loadable without scikit-learn."""
    model = pipeline if isinstance(pipeline, CompactModel) else scorer.compact(pipeline)
    return scorer.dumps(model)


def loads(blob: bytes) -> CompactModel:
    return scorer.loads(blob)


def sklearn_version() -> str:
    import sklearn

    return str(sklearn.__version__)


def format_report(report: dict[str, Any]) -> str:
    """The held-out report as a plain-text table (what `afterdesk triage train` prints)."""
    lines: list[str] = []
    for target in ("category", "priority"):
        part = report.get(target) or {}
        lines.append(
            f"{target}: accuracy {part.get('accuracy', 0):.3f}, macro-F1 "
            f"{part.get('macro_f1', 0):.3f} on {part.get('size', 0)} cases"
        )
        lines.append(f"  {'class':<28} {'precision':>9} {'recall':>7} {'F1':>6} {'n':>6}")
        for row in part.get("classes", []):
            lines.append(
                f"  {row['label']:<28} {row['precision']:>9.3f} {row['recall']:>7.3f} "
                f"{row['f1']:>6.3f} {row['support']:>6d}"
            )
    return "\n".join(lines)


def label_counts(samples: Sequence[Sample]) -> dict[str, int]:
    return dict(Counter(s.category for s in samples))


class Predictor(scorer.Predictor):
    """The scorer for a fitted pipeline or a stored model. scikit-learn's transform and
    predict_proba spend most of a single-document call on input validation; the scorer does
    the same arithmetic directly, about ten times faster (a test checks both agree)."""

    def __init__(self, pipeline: dict[str, Any] | CompactModel) -> None:
        super().__init__(
            pipeline if isinstance(pipeline, CompactModel) else scorer.compact(pipeline)
        )
