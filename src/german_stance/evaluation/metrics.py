"""Scores: per-class P/R/F1, macro-F1, confusion matrix and bootstrap intervals, for any task's labels.

Pure functions over label ids (scikit-learn underneath); rendering lives elsewhere.
Usage: ``compute_metrics([0, 1, 2], [0, 1, 1], STANCE.labels)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from ..modeling.calibration import expected_calibration_error, fit_temperature, softmax
from ..tasks import STANCE

__all__ = ["bootstrap_intervals", "compute_metrics", "expected_calibration_error", "fit_temperature",
           "headline_scores", "paired_bootstrap", "softmax"]


def compute_metrics(y_true: Sequence[int], y_pred: Sequence[int],
                    labels: Sequence[str] = STANCE.labels) -> dict[str, Any]:
    """Macro-F1 (over all labels, and over the labels present in the gold data), accuracy, per class, confusion."""
    ids = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=ids, zero_division=0)
    present = [i for i in ids if support[i] > 0]
    per_class = {label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                         "support": int(support[i])} for i, label in enumerate(labels)}
    return {
        "macro_f1": float(f1_score(y_true, y_pred, labels=ids, average="macro", zero_division=0)),
        # An absent gold class scores F1 0 in the macro average; this one leaves such classes out.
        "macro_f1_present": float(np.mean([f1[i] for i in present])) if present else 0.0,
        "absent_labels": [labels[i] for i in ids if i not in present],
        "weighted_f1": float(f1_score(y_true, y_pred, labels=ids, average="weighted", zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=ids).tolist(),
        "labels": list(labels),
        "n": len(y_true),
    }


def headline_scores(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    """Flat dict of the scores the bootstrap resamples: macro-F1, accuracy, per-class P/R/F1."""
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=list(range(len(labels))), zero_division=0)
    scores = {"macro_f1": float(np.mean(f1)), "accuracy": float(np.mean(y_true == y_pred))}
    for i, label in enumerate(labels):
        scores[f"{label}_precision"] = float(precision[i])
        scores[f"{label}_recall"] = float(recall[i])
        scores[f"{label}_f1"] = float(f1[i])
    return scores


def bootstrap_intervals(y_true: Sequence[int], y_pred: Sequence[int], n_resamples: int = 1000,
                        confidence: float = 0.95, seed: int = 0,
                        labels: Sequence[str] = STANCE.labels) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap interval of every headline score, resampling sentences with a fixed seed."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {}
    for _ in range(n_resamples):
        index = rng.integers(0, len(y_true), len(y_true))
        for key, value in headline_scores(y_true[index], y_pred[index], labels).items():
            samples.setdefault(key, []).append(value)
    tail = (1 - confidence) / 2 * 100
    return {key: (float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail)))
            for key, values in samples.items()}


def paired_bootstrap(y_true: Sequence[int], y_a: Sequence[int], y_b: Sequence[int], n_labels: int,
                     n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> dict[str, float]:
    """Macro-F1 of system A minus system B, with a paired percentile bootstrap interval over sentences."""
    y_true, y_a, y_b = np.asarray(y_true), np.asarray(y_a), np.asarray(y_b)
    ids = list(range(n_labels))

    def macro(gold: np.ndarray, predicted: np.ndarray) -> float:
        return float(f1_score(gold, predicted, labels=ids, average="macro", zero_division=0))

    rng = np.random.default_rng(seed)
    deltas = []
    for _ in range(n_resamples):
        index = rng.integers(0, len(y_true), len(y_true))
        deltas.append(macro(y_true[index], y_a[index]) - macro(y_true[index], y_b[index]))
    tail = (1 - confidence) / 2 * 100
    return {"delta": macro(y_true, y_a) - macro(y_true, y_b), "low": float(np.percentile(deltas, tail)),
            "high": float(np.percentile(deltas, 100 - tail)), "n": int(len(y_true))}
