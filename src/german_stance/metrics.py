"""Scores: per-class P/R/F1, macro-F1, confusion matrix, bootstrap intervals and calibration.

Pure functions over label ids and probabilities (scikit-learn underneath); rendering lives elsewhere.
Usage: ``compute_metrics([0, 1, 2], [0, 1, 1])``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from .config import LABELS

LABEL_IDS = list(range(len(LABELS)))


def compute_metrics(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, Any]:
    """Return macro-F1, accuracy, per-class precision/recall/F1/support and the confusion matrix."""
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=LABEL_IDS, zero_division=0)
    per_class = {
        label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                "support": int(support[i])}
        for i, label in enumerate(LABELS)
    }
    return {
        "macro_f1": float(f1_score(y_true, y_pred, labels=LABEL_IDS, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=LABEL_IDS).tolist(),
        "labels": list(LABELS),
        "n": len(y_true),
    }


def headline_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Flat dict of the scores the bootstrap resamples: macro-F1, accuracy, per-class P/R/F1."""
    precision, recall, f1, _ = precision_recall_fscore_support(y_true, y_pred, labels=LABEL_IDS, zero_division=0)
    scores = {"macro_f1": float(np.mean(f1)), "accuracy": float(np.mean(y_true == y_pred))}
    for i, label in enumerate(LABELS):
        scores[f"{label}_precision"] = float(precision[i])
        scores[f"{label}_recall"] = float(recall[i])
        scores[f"{label}_f1"] = float(f1[i])
    return scores


def bootstrap_intervals(y_true: Sequence[int], y_pred: Sequence[int], n_resamples: int = 1000,
                        confidence: float = 0.95, seed: int = 0) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap interval of every headline score, resampling sentences with a fixed seed."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {}
    for _ in range(n_resamples):
        index = rng.integers(0, len(y_true), len(y_true))
        for key, value in headline_scores(y_true[index], y_pred[index]).items():
            samples.setdefault(key, []).append(value)
    tail = (1 - confidence) / 2 * 100
    return {key: (float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail)))
            for key, values in samples.items()}


def expected_calibration_error(y_true: Sequence[int], probabilities: np.ndarray, n_bins: int = 10) -> dict[str, Any]:
    """ECE of the top-class confidence over equal-width bins, with the per-bin table for a diagram."""
    probabilities = np.asarray(probabilities, dtype=float)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(y_true)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins, ece = [], 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        # Right-closed bins, with the first one closed on both sides so a confidence of 0 still counts.
        inside = (confidence > low) & (confidence <= high) if low > 0 else (confidence <= high)
        count = int(inside.sum())
        if count:
            gap = abs(float(correct[inside].mean()) - float(confidence[inside].mean()))
            ece += gap * count / len(confidence)
            bins.append({"low": float(low), "high": float(high), "count": count,
                         "accuracy": float(correct[inside].mean()), "confidence": float(confidence[inside].mean())})
        else:
            bins.append({"low": float(low), "high": float(high), "count": 0, "accuracy": None, "confidence": None})
    return {"ece": float(ece), "bins": bins}


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature``."""
    scaled = np.asarray(logits, dtype=float) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature(logits: np.ndarray, y_true: Sequence[int]) -> float:
    """Temperature that minimises the negative log-likelihood on held-out logits (grid + refinement)."""
    y_true = np.asarray(y_true)

    def nll(temperature: float) -> float:
        probabilities = softmax(logits, temperature)
        return float(-np.mean(np.log(probabilities[np.arange(len(y_true)), y_true] + 1e-12)))

    grid = np.exp(np.linspace(np.log(0.01), np.log(100.0), 300))
    best = float(grid[np.argmin([nll(t) for t in grid])])
    fine = np.linspace(best * 0.9, best * 1.1, 41)
    return float(fine[np.argmin([nll(t) for t in fine])])
