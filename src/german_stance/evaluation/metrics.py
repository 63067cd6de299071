"""Scores: per-class P/R/F1, macro-F1, confusion matrix and bootstrap intervals, for any task's labels.

Pure functions over label ids (scikit-learn for single scores; the bootstrap counts its resamples' confusion
matrices with numpy, which gives the same numbers ~100x faster than 1,000 scikit-learn calls); rendering lives
elsewhere.
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


RESAMPLE_BLOCK_CELLS = 4_000_000  # resampled labels held at once: bounds memory for large files


def resample_indices(rng: np.random.Generator, n: int, n_resamples: int) -> np.ndarray:
    """``(n_resamples, n)`` indices drawn with replacement, one resample after the other (as a loop would)."""
    return np.stack([rng.integers(0, n, n) for _ in range(n_resamples)]) if n_resamples else np.zeros((0, n), int)


def resampled_confusions(y_true: np.ndarray, y_pred: np.ndarray, index: np.ndarray, n_labels: int) -> np.ndarray:
    """``(resamples, gold, predicted)`` confusion counts of each row of ``index``."""
    resamples = len(index)
    codes = (np.arange(resamples)[:, None] * n_labels * n_labels + y_true[index] * n_labels + y_pred[index]).ravel()
    return np.bincount(codes, minlength=resamples * n_labels * n_labels).reshape(resamples, n_labels, n_labels)


def scores_from_confusions(confusions: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision, recall and F1 (0 where undefined, as scikit-learn's ``zero_division=0``) and accuracy."""
    true_positives = np.diagonal(confusions, axis1=1, axis2=2).astype(float)
    predicted, gold = confusions.sum(axis=1), confusions.sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, true_positives / predicted, 0.0)
        recall = np.where(gold > 0, true_positives / gold, 0.0)
        f1 = np.where(predicted + gold > 0, 2 * true_positives / (predicted + gold), 0.0)
    accuracy = true_positives.sum(axis=1) / np.maximum(confusions.sum(axis=(1, 2)), 1)
    return {"precision": precision, "recall": recall, "f1": f1, "accuracy": accuracy}


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
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {}
    block = max(1, RESAMPLE_BLOCK_CELLS // max(len(y_true), 1))
    for start in range(0, n_resamples, block):
        index = resample_indices(rng, len(y_true), min(block, n_resamples - start))
        scores = scores_from_confusions(resampled_confusions(y_true, y_pred, index, len(labels)))
        samples.setdefault("macro_f1", []).extend(scores["f1"].mean(axis=1))
        samples.setdefault("accuracy", []).extend(scores["accuracy"])
        for i, label in enumerate(labels):
            for name in ("precision", "recall", "f1"):
                samples.setdefault(f"{label}_{name}", []).extend(scores[name][:, i])
    tail = (1 - confidence) / 2 * 100
    return {key: (float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail)))
            for key, values in samples.items()}


def paired_bootstrap(y_true: Sequence[int], y_a: Sequence[int], y_b: Sequence[int], n_labels: int,
                     n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> dict[str, float]:
    """Macro-F1 of system A minus system B, with a paired percentile bootstrap interval over sentences."""
    y_true, y_a, y_b = (np.asarray(values, dtype=np.int64) for values in (y_true, y_a, y_b))
    ids = list(range(n_labels))

    def macro(gold: np.ndarray, predicted: np.ndarray) -> float:
        return float(f1_score(gold, predicted, labels=ids, average="macro", zero_division=0))

    rng = np.random.default_rng(seed)
    deltas: list[float] = []
    block = max(1, RESAMPLE_BLOCK_CELLS // max(len(y_true), 1))
    for start in range(0, n_resamples, block):
        index = resample_indices(rng, len(y_true), min(block, n_resamples - start))
        macro_a = scores_from_confusions(resampled_confusions(y_true, y_a, index, n_labels))["f1"].mean(axis=1)
        macro_b = scores_from_confusions(resampled_confusions(y_true, y_b, index, n_labels))["f1"].mean(axis=1)
        deltas.extend(macro_a - macro_b)
    tail = (1 - confidence) / 2 * 100
    return {"delta": macro(y_true, y_a) - macro(y_true, y_b), "low": float(np.percentile(deltas, tail)),
            "high": float(np.percentile(deltas, 100 - tail)), "n": int(len(y_true))}
