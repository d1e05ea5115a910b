"""The stored model form: loaded and scored without scikit-learn, never unpickled."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from afterdesk.triage import classifier, scorer
from afterdesk.triage.tests.conftest import labelled_samples

SAMPLES = labelled_samples()


@pytest.fixture(scope="module")
def blob() -> bytes:
    return classifier.dumps(classifier.train(SAMPLES).pipeline)


def test_char_ngrams_match_scikit_learn() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    analyze = TfidfVectorizer(analyzer="char", ngram_range=(1, 3)).build_analyzer()
    for text in ("耳机  左耳\n没有声音", "Screen CRACKED on arrival!", "a", ""):
        assert scorer.char_ngrams(text, 1, 3) == analyze(text)


def test_a_stored_model_loads_and_predicts_without_scikit_learn(
    blob: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "model.npz"
    path.write_bytes(blob)
    program = (
        "import sys\n"
        "from pathlib import Path\n"
        "from afterdesk.triage import scorer\n"
        f"model = scorer.loads(Path({str(path)!r}).read_bytes())\n"
        "p = scorer.Predictor(model).predict('我的账号被盗了', '有人用我的账号下单')\n"
        "assert 'sklearn' not in sys.modules and 'scipy' not in sys.modules, 'imported'\n"
        "print(p.category, p.priority)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    expected = classifier.Predictor(scorer.loads(blob)).predict(
        "我的账号被盗了", "有人用我的账号下单"
    )
    assert done.stdout.split() == [expected.category, expected.priority]


@pytest.mark.parametrize(
    "bad",
    [b"", b"not a model", b"PK\x03\x04garbage", b"\x80\x04\x95pickled"],
)
def test_bytes_that_are_not_a_model_are_refused(bad: bytes) -> None:
    with pytest.raises(scorer.ModelFormatError):
        scorer.loads(bad)


@pytest.mark.django_db
def test_an_unreadable_active_model_predicts_nothing_instead_of_failing_creates() -> None:
    from django.utils import timezone

    from afterdesk.triage import cache
    from afterdesk.triage.models import ClassifierModel

    ClassifierModel.objects.update(is_active=False)
    model = ClassifierModel.objects.create(
        version=9999,
        created_at=timezone.now(),
        is_active=True,
        blob=b"\x80\x04\x95 an old pickled model",
        sklearn_version="0",
        train_size=0,
        test_size=0,
        seconds=0.0,
    )
    assert cache._predictor(model.pk, "corrupted") is None
