"""Metrics against hand-computed values on a small fixed example."""

import numpy as np
import pytest

from german_stance.evaluation.metrics import (bootstrap_intervals, compute_metrics, expected_calibration_error,
                                   fit_temperature, softmax)

Y_TRUE = [0, 0, 1, 1, 2, 2]
Y_PRED = [0, 1, 1, 1, 2, 0]


def test_scores_match_hand_computation() -> None:
    metrics = compute_metrics(Y_TRUE, Y_PRED)
    # critical: TP 1, FP 1, FN 1; neutral: TP 2, FP 1, FN 0; supportive: TP 1, FP 0, FN 1.
    assert metrics["per_class"]["critical"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert metrics["per_class"]["neutral"] == pytest.approx({"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2})
    assert metrics["per_class"]["supportive"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3,
                                                                "support": 2})
    assert metrics["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_bootstrap_is_reproducible_and_brackets_the_estimate() -> None:
    y_true = np.tile(Y_TRUE, 20)
    y_pred = np.tile(Y_PRED, 20)
    first = bootstrap_intervals(y_true, y_pred, n_resamples=300, seed=7)
    assert bootstrap_intervals(y_true, y_pred, n_resamples=300, seed=7) == first
    assert bootstrap_intervals(y_true, y_pred, n_resamples=300, seed=8) != first
    low, high = first["macro_f1"]
    assert low < compute_metrics(y_true, y_pred)["macro_f1"] < high
    assert 0.0 <= first["accuracy"][0] <= first["accuracy"][1] <= 1.0


def test_expected_calibration_error_by_hand() -> None:
    probabilities = np.array([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.2, 0.6, 0.2]])
    y_true = [0, 1, 0]
    # Bin (0.8, 0.9]: accuracy 0.5, confidence 0.9, weight 2/3; bin (0.5, 0.6]: accuracy 0, confidence 0.6, weight 1/3.
    result = expected_calibration_error(y_true, probabilities)
    assert result["ece"] == pytest.approx(0.4 * 2 / 3 + 0.6 / 3)
    assert sum(b["count"] for b in result["bins"]) == 3


def test_temperature_undoes_overconfidence() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(4000, 3))
    labels = np.array([rng.choice(3, p=p) for p in softmax(base)])
    # Logits three times too sharp: the fitted temperature should be close to 3.
    assert fit_temperature(3 * base, labels) == pytest.approx(3.0, rel=0.1)


def test_vectorised_bootstrap_equals_the_scikit_learn_loop() -> None:
    """The numpy bootstrap gives exactly the intervals of resampling in a loop and scoring with scikit-learn."""
    import numpy as np

    from german_stance.evaluation.metrics import headline_scores, paired_bootstrap
    from german_stance.tasks import STANCE

    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 3, 200)
    y_true[:5] = 0  # some resamples lack a class: zero-division cases must match too
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 3, 200))
    y_other = np.where(rng.random(200) < 0.6, y_true, 2)
    fast = bootstrap_intervals(y_true, y_pred, n_resamples=60, seed=5, labels=STANCE.labels)
    draw, samples = np.random.default_rng(5), {}
    for _ in range(60):
        index = draw.integers(0, 200, 200)
        for key, value in headline_scores(y_true[index], y_pred[index], STANCE.labels).items():
            samples.setdefault(key, []).append(value)
    assert set(fast) == set(samples)
    for key, values in samples.items():
        assert np.allclose(fast[key], (np.percentile(values, 2.5), np.percentile(values, 97.5))), key
    paired = paired_bootstrap(y_true, y_pred, y_other, 3, n_resamples=60, seed=5)
    assert paired["low"] <= paired["delta"] <= paired["high"] and paired["delta"] > 0
