"""The classifier as every web process and worker runs it: numpy only, no scikit-learn.

Importing scikit-learn (with SciPy) costs a process about 115 MB, which would put each web
process over its memory budget; training (`afterdesk triage train`) is the only place that
needs it. A fitted pipeline is stored in this compact form: the character n-gram vocabulary,
the IDF weights and, per target (category, priority), the classes, the weight matrix and the
intercepts. Scoring one case does what scikit-learn's transform + predict_proba do (sublinear
TF, IDF, L2 norm, linear scores, one-vs-rest logistic probabilities) directly.

The stored bytes are an `.npz` archive read with allow_pickle=False: nothing in the database
can run code when a model is loaded.
"""

from __future__ import annotations

import io
import json
import math
import re
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

# Subject and description together; long bodies add little beyond their start.
TEXT_LIMIT = 2000
FORMAT = 1
_WHITE_SPACES = re.compile(r"\s\s+")


def text_of(subject: str, body: str) -> str:
    """What the model reads: NFKC-normalised (full-width to half-width), lower case."""
    text = f"{subject}\n{subject}\n{body}"[:TEXT_LIMIT]
    return unicodedata.normalize("NFKC", text).lower()


def char_ngrams(text: str, low: int, high: int) -> list[str]:
    """Character n-grams as scikit-learn's analyzer="char" makes them (spaces collapsed)."""
    text = _WHITE_SPACES.sub(" ", text.lower())
    grams: list[str] = []
    for n in range(low, min(high, len(text)) + 1):
        grams.extend(text[i : i + n] for i in range(len(text) - n + 1))
    return grams


@dataclass(frozen=True)
class Prediction:
    category: str
    category_p: float
    priority: str
    priority_p: float
    # Best first: (code, probability), at most three each.
    categories: tuple[tuple[str, float], ...]
    priorities: tuple[tuple[str, float], ...]


def top(classes: Any, row: Any, k: int = 3) -> tuple[tuple[str, float], ...]:
    order = sorted(range(len(classes)), key=lambda i: -float(row[i]))[:k]
    return tuple((str(classes[i]), round(float(row[i]), 4)) for i in order)


@dataclass(frozen=True)
class Linear:
    classes: list[str]
    weights: Any  # (features, classes), float64
    intercept: Any  # (classes,) or (1,) for two classes


@dataclass(frozen=True)
class CompactModel:
    ngram_range: tuple[int, int]
    sublinear_tf: bool
    vocabulary: dict[str, int]
    idf: Any
    category: Linear
    priority: Linear | None
    priority_constant: str


def _linear_of(model: Any) -> Linear:
    return Linear(
        classes=[str(c) for c in model.classes_],
        weights=np.ascontiguousarray(np.asarray(model.coef_, dtype=np.float64).T),
        intercept=np.asarray(model.intercept_, dtype=np.float64),
    )


def compact(pipeline: dict[str, Any]) -> CompactModel:
    """The compact form of a fitted {"vectorizer", "category", "priority"} pipeline (reads
    only the fitted attributes; scikit-learn is already loaded by whoever fitted it)."""
    vectorizer = pipeline["vectorizer"]
    low, high = vectorizer.ngram_range
    priority = pipeline.get("priority")
    return CompactModel(
        ngram_range=(int(low), int(high)),
        sublinear_tf=bool(vectorizer.sublinear_tf),
        vocabulary={str(k): int(v) for k, v in vectorizer.vocabulary_.items()},
        idf=np.asarray(vectorizer.idf_, dtype=np.float64),
        category=_linear_of(pipeline["category"]),
        priority=_linear_of(priority) if priority is not None else None,
        priority_constant=str(pipeline.get("priority_constant", "normal")),
    )


def dumps(model: CompactModel) -> bytes:
    terms = [""] * len(model.vocabulary)
    for term, index in model.vocabulary.items():
        terms[index] = term
    meta = {
        "format": FORMAT,
        "ngram_range": list(model.ngram_range),
        "sublinear_tf": model.sublinear_tf,
        "terms": terms,
        "category_classes": model.category.classes,
        "priority_classes": model.priority.classes if model.priority else None,
        "priority_constant": model.priority_constant,
    }
    arrays: dict[str, Any] = {
        "meta": np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8),
        "idf": model.idf,
        "category_weights": model.category.weights,
        "category_intercept": model.category.intercept,
    }
    if model.priority is not None:
        arrays["priority_weights"] = model.priority.weights
        arrays["priority_intercept"] = model.priority.intercept
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


class ModelFormatError(ValueError):
    """The stored bytes are not a model this version can read."""


def loads(blob: bytes) -> CompactModel:
    try:
        with np.load(io.BytesIO(bytes(blob)), allow_pickle=False) as archive:
            meta = json.loads(archive["meta"].tobytes().decode())
            if meta.get("format") != FORMAT:
                raise ModelFormatError(f"Unknown model format {meta.get('format')!r}.")
            priority = None
            if meta["priority_classes"] is not None:
                priority = Linear(
                    meta["priority_classes"],
                    archive["priority_weights"],
                    archive["priority_intercept"],
                )
            return CompactModel(
                ngram_range=(int(meta["ngram_range"][0]), int(meta["ngram_range"][1])),
                sublinear_tf=bool(meta["sublinear_tf"]),
                vocabulary={term: index for index, term in enumerate(meta["terms"])},
                idf=archive["idf"],
                category=Linear(
                    meta["category_classes"],
                    archive["category_weights"],
                    archive["category_intercept"],
                ),
                priority=priority,
                priority_constant=str(meta["priority_constant"]),
            )
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, ModelFormatError):
            raise
        raise ModelFormatError(f"Not a stored triage model: {exc}") from exc


def _probabilities(linear: Linear, idx: Any, vals: Any) -> Any:
    scores = vals @ linear.weights[idx] + linear.intercept if len(idx) else linear.intercept.copy()
    prob = 1.0 / (1.0 + np.exp(-scores))
    if len(linear.classes) == 2 and prob.shape[0] == 1:
        return np.array([1.0 - prob[0], prob[0]])
    total = prob.sum()
    return prob / total if total > 0 else np.full(len(linear.classes), 1.0 / len(linear.classes))


class Predictor:
    """A model prepared to score one case at a time."""

    def __init__(self, model: CompactModel) -> None:
        self.model = model

    def predict_text(self, text: str) -> Prediction:
        model = self.model
        counts = Counter(char_ngrams(text, *model.ngram_range))
        vocabulary = model.vocabulary
        pairs = [(vocabulary[t], n) for t, n in counts.items() if t in vocabulary]
        idx = np.fromiter((i for i, _n in pairs), dtype=np.intp, count=len(pairs))
        tf = (1.0 + math.log(n) if model.sublinear_tf else float(n) for _i, n in pairs)
        vals = np.fromiter(tf, dtype=np.float64, count=len(pairs))
        if len(pairs):
            vals *= model.idf[idx]
            norm = math.sqrt(float(vals @ vals))
            if norm > 0:
                vals /= norm
        categories = top(model.category.classes, _probabilities(model.category, idx, vals))
        if model.priority is not None:
            priorities = top(model.priority.classes, _probabilities(model.priority, idx, vals))
        else:
            priorities = ((model.priority_constant, 1.0),)
        return Prediction(
            category=categories[0][0],
            category_p=categories[0][1],
            priority=priorities[0][0],
            priority_p=priorities[0][1],
            categories=categories,
            priorities=priorities,
        )

    def predict(self, subject: str, body: str) -> Prediction:
        return self.predict_text(text_of(subject, body))
