"""Report figures with matplotlib: confusion matrix, reliability diagram and coverage curve.

Each returns the PNG as bytes; the report writes every file at once (atomically). Usage:
``png = plot_confusion_matrix(matrix, "dev", STANCE.labels)``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: reports are written on servers and in CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def to_png(figure: Any) -> bytes:
    """The figure as PNG bytes; the figure is closed."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def plot_confusion_matrix(matrix: list[list[int]], title: str, labels: Sequence[str]) -> bytes:
    """Counts with row-normalised shading (recall per gold class), gold on rows, predicted on columns."""
    counts = np.asarray(matrix)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    figure, axis = plt.subplots(figsize=(4.8, 4.2), dpi=110)
    axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for row in range(len(labels)):
        for column in range(len(labels)):
            dark = shares[row, column] > 0.55
            axis.text(column, row, f"{counts[row, column]}\n{shares[row, column]:.0%}", ha="center", va="center",
                      color="white" if dark else "black", fontsize=10)
    axis.set_xticks(range(len(labels)), labels)
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted label")
    axis.set_ylabel("gold label")
    axis.set_title(f"Confusion matrix: {title}", fontsize=10)
    figure.tight_layout()
    return to_png(figure)


def plot_reliability(curves: dict[str, dict[str, Any]], title: str) -> bytes:
    """Accuracy against mean confidence per confidence bin, one line per calibration; diagonal = perfect."""
    figure, axis = plt.subplots(figsize=(4.8, 5.0), dpi=110)
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect calibration")
    for number, ((name, calibration), marker) in enumerate(zip(curves.items(), ("o", "s", "^"))):
        bins = [b for b in calibration["bins"] if b["count"]]
        axis.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker=marker,
                  label=f"{name} (ECE {calibration['ece']:.3f})")
        if number == 0:  # sentence counts per bin, so a point resting on three sentences is read as such
            for b in bins:
                axis.annotate(f"n={b['count']}", (b["confidence"], b["accuracy"]), textcoords="offset points",
                              xytext=(4, -11), fontsize=7, color="#444")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1.02)
    axis.set_xlabel("mean confidence of the predicted label")
    axis.set_ylabel("accuracy")
    axis.set_title(f"Reliability diagram: {title}", fontsize=10)
    # Below the axes: inside, the legend hid the points of the high-confidence bins.
    axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8, ncol=1, frameon=False)
    figure.tight_layout()
    return to_png(figure)


def coverage_curve(probabilities: np.ndarray, y_true: np.ndarray) -> list[dict[str, float | None]]:
    """Coverage and accuracy on the covered sentences for each ``--min-confidence`` threshold from 0.35 to 0.95.

    Accuracy is None (not NaN, which is no valid JSON in metrics.json) where no sentence is covered.
    """
    confidence, correct = probabilities.max(axis=1), probabilities.argmax(axis=1) == y_true
    points = []
    for threshold in np.round(np.arange(0.35, 0.951, 0.05), 2):
        kept = confidence >= threshold
        points.append({"threshold": float(threshold), "coverage": float(kept.mean()),
                       "accuracy": float(correct[kept].mean()) if kept.any() else None})
    return points


def plot_coverage(points: list[dict[str, float | None]], title: str) -> bytes:
    """Accuracy on the labelled sentences against the share labelled, as the abstain threshold rises."""
    points = [point for point in points if point["accuracy"] is not None]  # nothing covered: no point to draw
    figure, axis = plt.subplots(figsize=(4.8, 4.2), dpi=110)
    axis.plot([p["coverage"] for p in points], [p["accuracy"] for p in points], marker="o")
    axis.set_xlim(0, 1.02)
    low, high = axis.get_ylim()
    labelled: list[tuple[float, float]] = []
    for point in points:
        # Axes-fraction position: label a threshold only where it does not crowd the last label; near full
        # coverage the points bunch up at the right edge, so their labels go to the left of the line.
        x, y = point["coverage"] / 1.02, (point["accuracy"] - low) / max(high - low, 1e-9)
        if labelled and min(np.hypot(x - lx, y - ly) for lx, ly in labelled) < 0.08:
            continue
        labelled.append((x, y))
        right_edge = x > 0.85
        axis.annotate(f"{point['threshold']:.2f}", (point["coverage"], point["accuracy"]), textcoords="offset points",
                      xytext=(-6, -3) if right_edge else (4, 4), ha="right" if right_edge else "left",
                      fontsize=7, color="#444")
    axis.set_xlabel("coverage (share of sentences labelled, not 'uncertain')")
    axis.set_ylabel("accuracy on the labelled sentences")
    axis.set_title(f"Abstaining below --min-confidence: {title}", fontsize=10)
    figure.tight_layout()
    return to_png(figure)
