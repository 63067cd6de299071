"""Score a classifier on labelled JSONL files, per task: metrics, intervals, calibration, predictions.

Usage: ``scores = score_file(classifier, "data/dev.jsonl")`` -> ``{"stance": FileScores, "sentiment": ...}``
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data import read_sentences, with_context
from ..modeling.calibration import expected_calibration_error, softmax
from ..tasks import Task
from .metrics import bootstrap_intervals, compute_metrics


@dataclass
class FileScores:
    """Everything measured on one data file for one task."""

    path: Path
    task: Task
    rows: list[dict[str, Any]]
    logits: np.ndarray
    probabilities: np.ndarray  # with the run's temperature applied where it is
    y_true: np.ndarray
    metrics: dict[str, Any]

    @property
    def name(self) -> str:
        """Short name of the data file (its stem)."""
        return self.path.stem

    @property
    def y_pred(self) -> np.ndarray:
        """Predicted label ids."""
        return self.probabilities.argmax(axis=1)


def file_sha256(path: Path) -> str:
    """First 16 hex digits of the file's SHA-256, so a report names exactly which data it used."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


PROGRESS_CHUNK = 256


def predict_rows(classifier: Any, rows: list[dict[str, Any]], progress: Callable[[int], Any] | None = None
                 ) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Logits per task for labelled rows, with the previous sentence as context when the run was trained with it.

    Rows go to the model in chunks of ``PROGRESS_CHUNK`` so that ``progress(n)`` can report each chunk.
    """
    if classifier.use_context:
        rows = with_context(rows)
    texts = [row["text"] for row in rows]
    contexts = [row.get("context") or "" for row in rows] if classifier.use_context else None
    if progress is None:
        return rows, classifier.logits(texts, contexts)
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, len(texts), PROGRESS_CHUNK):
        end = start + PROGRESS_CHUNK
        parts.append(classifier.logits(texts[start:end], contexts[start:end] if contexts is not None else None))
        progress(len(texts[start:end]))
    if not parts:
        return rows, classifier.logits(texts, contexts)
    return rows, {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def scored_tasks(classifier: Any, rows: list[dict[str, Any]]) -> list[Task]:
    """The run's tasks whose label field every row of the file has."""
    return [task for task in classifier.tasks if all(task.field in row for row in rows)]


def score_file(classifier: Any, path: str | Path, n_resamples: int = 1000, seed: int = 0,
               progress: Callable[[int], Any] | None = None) -> dict[str, FileScores]:
    """Predict every row of ``path`` once and score each task that the file labels; ``progress(n)`` per chunk."""
    path = Path(path)
    rows, logits = predict_rows(classifier, read_sentences(path, tasks=classifier.tasks[:1]), progress)
    digest = file_sha256(path)
    result = {}
    for task in scored_tasks(classifier, rows):
        y_true = np.array([task.label2id[row[task.field]] for row in rows])
        probabilities = softmax(logits[task.name], classifier.temperature(task.name))
        metrics = compute_metrics(y_true, probabilities.argmax(axis=1), task.labels)
        metrics["intervals"] = bootstrap_intervals(y_true, probabilities.argmax(axis=1), n_resamples=n_resamples,
                                                   seed=seed, labels=task.labels)
        metrics["calibration"] = expected_calibration_error(y_true, softmax(logits[task.name]))
        metrics["calibration_applied"] = expected_calibration_error(y_true, probabilities)
        metrics["temperature"] = classifier.temperature(task.name)
        metrics["data"] = {"path": str(path), "sha256": digest, "rows": len(rows)}
        result[task.name] = FileScores(path=path, task=task, rows=rows, logits=logits[task.name],
                                       probabilities=probabilities, y_true=y_true, metrics=metrics)
    return result


def format_scores(name: str, metrics: dict[str, Any], task: Task) -> str:
    """Plain-text block of the headline scores of one file and task, for the terminal."""
    intervals = metrics.get("intervals", {})

    def with_interval(key: str, value: float) -> str:
        low, high = intervals.get(key, (None, None))
        return f"{value:.3f} [{low:.3f}, {high:.3f}]" if low is not None else f"{value:.3f}"

    lines = [f"{name} {task.name} (n={metrics['n']}): macro-F1 {with_interval('macro_f1', metrics['macro_f1'])} | "
             f"accuracy {with_interval('accuracy', metrics['accuracy'])}"]
    for label in task.labels:
        scores = metrics["per_class"][label]
        lines.append(f"  {label:<11} P {scores['precision']:.3f}  R {scores['recall']:.3f}  "
                     f"F1 {with_interval(f'{label}_f1', scores['f1'])}  support {scores['support']}")
    if metrics.get("absent_labels"):
        lines.append(f"  note: no gold {', '.join(metrics['absent_labels'])} sentences in this file; macro-F1 over "
                     f"the present classes is {metrics['macro_f1_present']:.3f}")
    return "\n".join(lines)


def metrics_text(payload: dict[str, Any]) -> str:
    """The text of ``metrics.json``."""
    return json.dumps(payload, indent=2, ensure_ascii=False)
