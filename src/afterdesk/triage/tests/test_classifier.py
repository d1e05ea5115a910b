"""The learned classifier on the labelled set: train, evaluate, persist, predict."""

from __future__ import annotations

import pytest

from afterdesk.triage import classifier
from afterdesk.triage.tests.conftest import labelled_samples

SAMPLES = labelled_samples()
TAXONOMY_LEAVES = {
    "product.quality",
    "product.not_as_described",
    "product.counterfeit",
    "product.doa",
    "product.wrong_item",
    "product.missing_parts",
    "logistics.delay",
    "logistics.damage",
    "logistics.loss",
    "service.slow_response",
    "service.attitude",
    "service.after_sales",
    "transaction.cancellation",
    "transaction.refund",
    "transaction.payment_security",
}


@pytest.fixture(scope="module")
def fitted() -> classifier.Fitted:
    return classifier.train(SAMPLES)


def test_the_labelled_set_covers_the_taxonomy_in_both_languages() -> None:
    assert len(SAMPLES) >= 300
    assert {s.category for s in SAMPLES} == TAXONOMY_LEAVES
    assert {s.priority for s in SAMPLES} <= {"urgent", "high", "normal", "low"}
    for category in TAXONOMY_LEAVES:
        texts = [s.subject for s in SAMPLES if s.category == category]
        assert any(t.isascii() for t in texts), category
        assert any(not t.isascii() for t in texts), category


def test_the_split_is_stratified_and_repeatable() -> None:
    train, test = classifier.split(SAMPLES)
    _again_train, again_test = classifier.split(SAMPLES)
    assert [s.subject for s in test] == [s.subject for s in again_test]
    assert len(train) + len(test) == len(SAMPLES)
    assert len(test) == 60
    assert {s.category for s in test} == TAXONOMY_LEAVES
    assert not {s.subject for s in test} & {s.subject for s in train}


def test_training_reports_on_the_held_out_part(fitted: classifier.Fitted) -> None:
    report = fitted.report()
    assert (report["train_size"], report["test_size"]) == (240, 60)
    # Character n-grams learn the categories from 16 examples each, across both languages.
    assert report["category"]["accuracy"] >= 0.6
    assert report["category"]["macro_f1"] >= 0.55
    assert {row["label"] for row in report["category"]["classes"]} == TAXONOMY_LEAVES
    assert sum(row["support"] for row in report["category"]["classes"]) == 60
    assert "urgent" in {row["label"] for row in report["priority"]["classes"]}


def test_evaluate_matches_a_hand_count(fitted: classifier.Fitted) -> None:
    _train, test = classifier.split(SAMPLES)
    category, priority = classifier.evaluate(fitted.pipeline, test)
    predictions = classifier.predict_many(
        fitted.pipeline, [classifier.text_of(s.subject, s.body) for s in test]
    )
    right = sum(p.category == s.category for p, s in zip(predictions, test, strict=True))
    assert category.accuracy == pytest.approx(right / len(test))
    assert priority.size == len(test)


def test_the_fast_predictor_agrees_with_scikit_learn(fitted: classifier.Fitted) -> None:
    predictor = classifier.Predictor(fitted.pipeline)
    for sample in SAMPLES[::7]:
        fast = predictor.predict(sample.subject, sample.body)
        slow = classifier.predict(fitted.pipeline, sample.subject, sample.body)
        assert fast.category == slow.category
        assert fast.category_p == pytest.approx(slow.category_p, abs=1e-3)
        assert [c for c, _p in fast.categories] == [c for c, _p in slow.categories]
        assert fast.priority == slow.priority


def test_predictions_give_three_suggestions_best_first(fitted: classifier.Fitted) -> None:
    prediction = classifier.Predictor(fitted.pipeline).predict(
        "我的账号被盗了", "有人用我的账号下单，银行卡也被盗刷了"
    )
    assert prediction.category == "transaction.payment_security"
    assert prediction.priority == "urgent"
    assert len(prediction.categories) == 3
    probabilities = [p for _c, p in prediction.categories]
    assert probabilities == sorted(probabilities, reverse=True)
    assert 0 < sum(probabilities) <= 1.0001


def test_a_model_survives_a_round_trip(fitted: classifier.Fitted) -> None:
    loaded = classifier.loads(classifier.dumps(fitted.pipeline))
    sample = SAMPLES[3]
    assert classifier.predict(loaded, sample.subject, sample.body) == classifier.predict(
        fitted.pipeline, sample.subject, sample.body
    )


def test_too_little_data_is_refused() -> None:
    with pytest.raises(classifier.TrainingError, match="At least 20"):
        classifier.train(SAMPLES[:10])
    one_category = [s for s in SAMPLES if s.category == "product.doa"]
    with pytest.raises(classifier.TrainingError, match="two different categories"):
        classifier.train(one_category)


def test_a_single_priority_still_trains() -> None:
    normal = [classifier.Sample(s.subject, s.body, s.category, "normal") for s in SAMPLES]
    fitted = classifier.train(normal)
    prediction = classifier.Predictor(fitted.pipeline).predict("快递丢了", "")
    assert (prediction.priority, prediction.priority_p) == ("normal", 1.0)


def test_the_report_prints_every_class(fitted: classifier.Fitted) -> None:
    text = classifier.format_report(fitted.report())
    assert "category: accuracy" in text
    assert "priority: accuracy" in text
    for label in TAXONOMY_LEAVES:
        assert label in text
