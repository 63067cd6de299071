"""Report sections for one task on one data file: headline, per class, confusion, calibration, errors, sources.

Each function returns document blocks (``document.py``); ``report.py`` puts them together.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tasks import Task
from .document import Cell, Link, Paragraph, Table
from .metrics import bootstrap_intervals, compute_metrics, resample_indices
from .scoring import FileScores

MAX_ERRORS_SHOWN = 40
MIN_SOURCE_SENTENCES = 5


def with_interval(value: float, interval: Sequence[float] | None) -> str:
    """``0.812 [0.771, 0.850]``."""
    return f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else f"{value:.3f}"


def seed_summary(all_metrics: list[dict[str, Any]], labels: Sequence[str]) -> dict[str, dict[str, float]]:
    """Mean and sample standard deviation of the headline scores over seeds (runs)."""
    values: dict[str, list[float]] = {"macro_f1": [], "accuracy": [], **{f"{label}_f1": [] for label in labels}}
    for metrics in all_metrics:
        values["macro_f1"].append(metrics["macro_f1"])
        values["accuracy"].append(metrics["accuracy"])
        for label in labels:
            values[f"{label}_f1"].append(metrics["per_class"][label]["f1"])
    return {key: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0}
            for key, v in values.items()}


def score_predictions(y_true: np.ndarray, y_pred: np.ndarray, task: Task, n_resamples: int) -> dict[str, Any]:
    """Metrics with intervals for a vector of predicted ids."""
    metrics = compute_metrics(y_true, y_pred, task.labels)
    metrics["intervals"] = bootstrap_intervals(y_true, y_pred, n_resamples=n_resamples, labels=task.labels)
    return metrics


def score_baselines(predictors: dict[str, Any], scores: FileScores, n_resamples: int) -> dict[str, Any]:
    """Metrics with intervals of each baseline on one file."""
    texts = [row["text"] for row in scores.rows]
    return {name: score_predictions(scores.y_true, predict(texts).argmax(axis=1), scores.task, n_resamples)
            for name, predict in predictors.items()}


def headline_table(model_name: str, metrics: dict[str, Any], seeds: dict[str, Any] | None,
                   baselines: dict[str, Any], task: Task) -> Table:
    """Model and baselines side by side: macro-F1, accuracy and per-class F1 with 95% intervals."""
    labels = task.labels
    headers = ["system", "macro-F1 [95% CI]", "accuracy [95% CI]"] + [f"F1 {label} [95% CI]" for label in labels]

    def row(name: str, values: dict[str, Any]) -> list[str]:
        intervals = values["intervals"]
        return [name, with_interval(values["macro_f1"], intervals["macro_f1"]),
                with_interval(values["accuracy"], intervals["accuracy"])] + [
            with_interval(values["per_class"][label]["f1"], intervals[f"{label}_f1"]) for label in labels]

    rows = [row(model_name, metrics)]
    if seeds:
        rows.append([f"{model_name}: mean ± sd over seeds"] + [
            f"{seeds[key]['mean']:.3f} ± {seeds[key]['std']:.3f}"
            for key in ["macro_f1", "accuracy"] + [f"{label}_f1" for label in labels]])
    rows += [row(name, values) for name, values in baselines.items()]
    return Table(headers, rows)


def per_class_table(metrics: dict[str, Any]) -> Table:
    """Precision, recall and F1 per class with intervals, plus support and the macro/weighted averages."""
    intervals = metrics["intervals"]
    rows = [[label, with_interval(m["precision"], intervals[f"{label}_precision"]),
             with_interval(m["recall"], intervals[f"{label}_recall"]), with_interval(m["f1"], intervals[f"{label}_f1"]),
             str(m["support"])] for label, m in metrics["per_class"].items()]
    per_class = list(metrics["per_class"].values())
    supports = np.array([m["support"] for m in per_class], dtype=float)
    for name, weights in (("macro avg", np.ones(len(per_class))), ("weighted avg", supports)):
        weights = weights / weights.sum() if weights.sum() else weights
        averaged = [float(np.dot(weights, [m[key] for m in per_class])) for key in ("precision", "recall", "f1")]
        rows.append([name, *(f"{value:.3f}" for value in averaged), str(int(supports.sum()))])
    return Table(["label", "precision [95% CI]", "recall [95% CI]", "F1 [95% CI]", "support"], rows)


def confusion_table(matrix: list[list[int]], labels: Sequence[str]) -> Table:
    """Gold labels on rows, predictions on columns."""
    return Table(["gold \\ predicted", *labels], [[label, *map(str, row)] for label, row in zip(labels, matrix)])


def calibration_paragraph(metrics: dict[str, Any], calibration: dict[str, Any] | None) -> Paragraph:
    """Raw and applied ECE, and whether the dev-fitted temperature was applied (and why not)."""
    raw = metrics["calibration"]["ece"]
    if not calibration:
        return Paragraph(f"Expected calibration error (10 bins): {raw:.3f}. Confidences are raw: this run has no "
                         "fitted temperature.")
    temperature = calibration["temperature"]
    if calibration.get("applied"):
        return Paragraph(f"Expected calibration error (10 bins): raw {raw:.3f}, scaled "
                         f"{metrics['calibration_applied']['ece']:.3f} with T = {temperature:.2f} (fitted on "
                         f"{calibration.get('fitted_on', 'dev')}). Confidences in predict and in this report are scaled.")
    return Paragraph(f"Expected calibration error (10 bins): {raw:.3f}. Confidences are raw: the temperature fitted on "
                     f"{calibration.get('fitted_on', 'dev')} (T = {temperature:.2f}) was not applied because it made "
                     f"calibration there worse (ECE {calibration['ece_raw']:.3f} raw, {calibration['ece_scaled']:.3f} "
                     "scaled).")


def short_source(source: str, limit: int = 40) -> str:
    """A source id or URL short enough for a table cell."""
    source = source.removeprefix("https://").removeprefix("http://").removeprefix("www.")
    return source if len(source) <= limit else source[: limit - 1] + "…"


def row_anchor(scores: FileScores, key: str, group: str) -> str:
    """HTML id of a group's row in the per-source (or per-register) table of one file and task."""
    return "row-" + re.sub(r"[^\w-]+", "-", f"{scores.name}-{scores.task.name}-{key}-{group}").strip("-").lower()


def source_cell(scores: FileScores, source: str) -> Cell:
    """A short source name that links to the URL, or to its row in the per-source table when it has one."""
    text = short_source(source, limit=28)
    if source.startswith(("http://", "https://")):
        return Link(text, source)
    if sum(1 for row in scores.rows if str(row.get("source", "")) == source) >= MIN_SOURCE_SENTENCES:
        return Link(text, "#" + row_anchor(scores, "source", source))
    return text


def errors_table(scores: FileScores) -> tuple[Table, int]:
    """Misclassified sentences, most confident errors first."""
    probabilities, labels = scores.probabilities, scores.task.labels
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != scores.y_true)
    wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]], kind="stable")]
    rows: list[list[Cell]] = [
        [scores.rows[i]["text"], labels[scores.y_true[i]], labels[predicted[i]],
         " / ".join(f"{p:.2f}" for p in probabilities[i]), source_cell(scores, str(scores.rows[i].get("source", "")))]
        for i in wrong[:MAX_ERRORS_SHOWN]]
    headers = ["sentence", "gold", "predicted", "P(" + " / ".join(labels) + ")", "source"]
    return Table(headers, rows, css_class="errors"), len(wrong)


def source_table(scores: FileScores, key: str = "source") -> Table | None:
    """Accuracy with interval per source (or register) of at least ``MIN_SOURCE_SENTENCES`` sentences, worst first."""
    groups = [str(row.get(key, "")) for row in scores.rows]
    counts = {group: groups.count(group) for group in set(groups)}
    kept = sorted(group for group, count in counts.items() if count >= MIN_SOURCE_SENTENCES)
    if len(kept) < 2:
        return None
    predicted = scores.y_pred
    rng = np.random.default_rng(0)
    rows = []
    for group in kept:
        index = np.array([i for i, g in enumerate(groups) if g == group])
        correct = (predicted[index] == scores.y_true[index]).astype(float)
        boot = correct[resample_indices(rng, len(correct), 500)].mean(axis=1)
        rows.append((correct.mean(), group, len(index), int(len(index) - correct.sum()),
                     (float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5)))))
    rows.sort()
    return Table([key, "sentences", "errors", "accuracy [95% CI]"],
                 [[short_source(group), str(n), str(errors), with_interval(accuracy, interval)]
                  for accuracy, group, n, errors, interval in rows],
                 row_ids=[row_anchor(scores, key, group) for _, group, *_ in rows])


def cross_table(rows: list[dict[str, Any]], first: FileScores, second: FileScores) -> Table:
    """Gold vs predicted counts of each (stance, sentiment) combination."""
    headers = [f"{first.task.name} × {second.task.name}", "gold", "predicted"]
    table = []
    for a_index, a in enumerate(first.task.labels):
        for b_index, b in enumerate(second.task.labels):
            gold = int(((first.y_true == a_index) & (second.y_true == b_index)).sum())
            predicted = int(((first.y_pred == a_index) & (second.y_pred == b_index)).sum())
            table.append([f"{a} × {b}", str(gold), str(predicted)])
    return Table(headers, table)
