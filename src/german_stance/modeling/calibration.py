"""Probabilities and their calibration: softmax with a temperature, fitting it, and the calibration error.

Usage: ``t = fit_temperature(dev_logits, dev_labels)``; ``choose_temperature(...)`` keeps it only if it helps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


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


def choose_temperature(logits: np.ndarray, y_true: Sequence[int], fitted_on: str) -> dict[str, Any]:
    """Fit a temperature on held-out logits; apply it only where it lowers the calibration error there."""
    temperature = fit_temperature(logits, y_true)
    raw = expected_calibration_error(y_true, softmax(logits))["ece"]
    scaled = expected_calibration_error(y_true, softmax(logits, temperature))["ece"]
    return {"temperature": round(temperature, 4), "applied": scaled < raw, "ece_raw": round(raw, 4),
            "ece_scaled": round(scaled, 4), "fitted_on": fitted_on, "n": int(len(y_true))}
