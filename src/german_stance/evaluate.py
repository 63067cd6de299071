"""Score a trained run on labelled JSONL files and write metrics (and the report) to a folder.

Usage: ``german-stance evaluate --model runs/default --data data/dev.jsonl --out reports/default``
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import LABEL2ID, LABELS
from .data import read_sentences, with_context
from .metrics import bootstrap_intervals, compute_metrics, expected_calibration_error, fit_temperature, softmax
from .model import TrainedRun
from .predict import predict_logits

logger = logging.getLogger(__name__)


@dataclass
class FileScores:
    """Everything measured on one data file."""

    path: Path
    rows: list[dict[str, Any]]
    logits: np.ndarray
    y_true: np.ndarray
    metrics: dict[str, Any]

    @property
    def name(self) -> str:
        """Short name of the data file (its stem)."""
        return self.path.stem


def file_sha256(path: Path) -> str:
    """First 16 hex digits of the file's SHA-256, so a report names exactly which data it used."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def predict_rows(run: TrainedRun, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Logits for labelled rows, with the previous sentence as context when the run was trained with it."""
    if run.config.use_context:
        rows = with_context(rows)
    contexts = [row.get("context") or "" for row in rows] if run.config.use_context else None
    return rows, predict_logits(run, [row["text"] for row in rows], contexts)


def score_file(run: TrainedRun, path: str | Path, temperature: float = 1.0, n_resamples: int = 1000,
               seed: int = 0) -> FileScores:
    """Predict every row of ``path`` and compute metrics, bootstrap intervals and calibration."""
    path = Path(path)
    rows, logits = predict_rows(run, read_sentences(path))
    y_true = np.array([LABEL2ID[row["label"]] for row in rows])
    probabilities = softmax(logits, temperature)
    y_pred = probabilities.argmax(axis=1)
    metrics = compute_metrics(y_true, y_pred)
    metrics["intervals"] = bootstrap_intervals(y_true, y_pred, n_resamples=n_resamples, seed=seed)
    metrics["calibration"] = expected_calibration_error(y_true, probabilities)
    metrics["data"] = {"path": str(path), "sha256": file_sha256(path), "rows": len(rows)}
    return FileScores(path=path, rows=rows, logits=logits, y_true=y_true, metrics=metrics)


def dev_temperature(run: TrainedRun) -> float | None:
    """Fit a temperature on the run's dev file; None when that file is not there."""
    dev_file = Path(run.config.dev_file)
    if not dev_file.is_file():
        logger.warning("no dev file at %s; temperature scaling skipped", dev_file)
        return None
    rows, logits = predict_rows(run, read_sentences(dev_file))
    return fit_temperature(logits, [LABEL2ID[row["label"]] for row in rows])


def format_scores(name: str, metrics: dict[str, Any]) -> str:
    """Plain-text block of the headline scores of one file, for the terminal."""
    intervals = metrics.get("intervals", {})

    def with_interval(key: str, value: float) -> str:
        low, high = intervals.get(key, (None, None))
        return f"{value:.3f} [{low:.3f}, {high:.3f}]" if low is not None else f"{value:.3f}"

    lines = [f"{name} (n={metrics['n']}): macro-F1 {with_interval('macro_f1', metrics['macro_f1'])} | "
             f"accuracy {with_interval('accuracy', metrics['accuracy'])}"]
    for label in LABELS:
        scores = metrics["per_class"][label]
        lines.append(f"  {label:<11} P {scores['precision']:.3f}  R {scores['recall']:.3f}  "
                     f"F1 {with_interval(f'{label}_f1', scores['f1'])}  support {scores['support']}")
    return "\n".join(lines)


def write_metrics(out_dir: Path, payload: dict[str, Any]) -> Path:
    """Write ``metrics.json`` to ``out_dir`` and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "metrics.json"
    target.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    return target
