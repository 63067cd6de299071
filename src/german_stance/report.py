"""The evaluation report: scores with intervals, seeds, baselines, plots, calibration, errors, provenance.

Usage: ``german-stance evaluate --model runs/default --data data/dev.jsonl --data data/test.jsonl --out reports/x``
writes ``report.md``, ``report.html`` (self-contained) and ``metrics.json`` into ``--out``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from .baselines import build_baselines
from .config import LABEL2ID, LABELS
from .data import read_sentences
from .document import Block, Heading, Image, Paragraph, Preformatted, Table, write_document
from .evaluate import FileScores, dev_temperature, file_sha256, format_scores, score_file, write_metrics
from .metrics import bootstrap_intervals, compute_metrics, expected_calibration_error, softmax
from .model import load_run
from .plots import plot_confusion_matrix, plot_reliability

logger = logging.getLogger(__name__)
MAX_ERRORS_SHOWN = 40


def with_interval(value: float, interval: tuple[float, float] | None) -> str:
    """``0.812 [0.771, 0.850]``."""
    return f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else f"{value:.3f}"


def seed_summary(all_metrics: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and sample standard deviation of the headline scores over seeds (runs)."""
    keys = ["macro_f1", "accuracy"] + [f"{label}_f1" for label in LABELS]
    values: dict[str, list[float]] = {key: [] for key in keys}
    for metrics in all_metrics:
        values["macro_f1"].append(metrics["macro_f1"])
        values["accuracy"].append(metrics["accuracy"])
        for label in LABELS:
            values[f"{label}_f1"].append(metrics["per_class"][label]["f1"])
    return {key: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0}
            for key, v in values.items()}


def score_baselines(predictors: dict[str, Any], rows: list[dict[str, Any]], n_resamples: int) -> dict[str, Any]:
    """Metrics with intervals of each baseline on one file."""
    y_true = np.array([LABEL2ID[row["label"]] for row in rows])
    results = {}
    for name, predict in predictors.items():
        y_pred = predict([row["text"] for row in rows]).argmax(axis=1)
        metrics = compute_metrics(y_true, y_pred)
        metrics["intervals"] = bootstrap_intervals(y_true, y_pred, n_resamples=n_resamples)
        results[name] = metrics
    return results


def headline_table(model_name: str, scores: FileScores, seeds: dict[str, Any] | None,
                   baselines: dict[str, Any]) -> Table:
    """Model and baselines side by side: macro-F1, accuracy and per-class F1 with 95% intervals."""
    headers = ["system", "macro-F1 [95% CI]", "accuracy [95% CI]"] + [f"F1 {label} [95% CI]" for label in LABELS]

    def row(name: str, metrics: dict[str, Any]) -> list[str]:
        intervals = metrics["intervals"]
        return [name, with_interval(metrics["macro_f1"], intervals["macro_f1"]),
                with_interval(metrics["accuracy"], intervals["accuracy"])] + [
            with_interval(metrics["per_class"][label]["f1"], intervals[f"{label}_f1"]) for label in LABELS]

    rows = [row(model_name, scores.metrics)]
    if seeds:
        rows.append([f"{model_name}: mean ± sd over seeds"] + [
            f"{seeds[key]['mean']:.3f} ± {seeds[key]['std']:.3f}"
            for key in ["macro_f1", "accuracy"] + [f"{label}_f1" for label in LABELS]])
    rows += [row(name, metrics) for name, metrics in baselines.items()]
    return Table(headers, rows)


def per_class_table(metrics: dict[str, Any]) -> Table:
    """Precision, recall and F1 per class with intervals, plus support."""
    intervals = metrics["intervals"]
    rows = [[label, with_interval(m["precision"], intervals[f"{label}_precision"]),
             with_interval(m["recall"], intervals[f"{label}_recall"]), with_interval(m["f1"], intervals[f"{label}_f1"]),
             str(m["support"])] for label, m in metrics["per_class"].items()]
    return Table(["label", "precision [95% CI]", "recall [95% CI]", "F1 [95% CI]", "support"], rows)


def confusion_table(matrix: list[list[int]]) -> Table:
    """Gold labels on rows, predictions on columns."""
    return Table(["gold \\ predicted", *LABELS], [[label, *map(str, row)] for label, row in zip(LABELS, matrix)])


def errors_table(scores: FileScores, temperature: float) -> tuple[Table, int]:
    """Misclassified sentences, most confident errors first."""
    probabilities = softmax(scores.logits, temperature)
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != scores.y_true)
    wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]], kind="stable")]
    rows = [[scores.rows[i]["text"], LABELS[scores.y_true[i]], LABELS[predicted[i]],
             " / ".join(f"{p:.2f}" for p in probabilities[i]), str(scores.rows[i].get("source", ""))]
            for i in wrong[:MAX_ERRORS_SHOWN]]
    headers = ["sentence", "gold", "predicted", "P(" + " / ".join(LABELS) + ")", "source"]
    return Table(headers, rows, css_class="errors"), len(wrong)


def source_table(scores: FileScores) -> Table | None:
    """Accuracy and error count per source (article), worst first; None when the data has no sources."""
    sources = [str(row.get("source", "")) for row in scores.rows]
    if len(set(sources)) < 2:
        return None
    predicted = scores.logits.argmax(axis=1)
    rows = []
    for source in sorted(set(sources)):
        index = [i for i, s in enumerate(sources) if s == source]
        correct = int((predicted[index] == scores.y_true[index]).sum())
        rows.append((correct / len(index), source, len(index), len(index) - correct))
    rows.sort()
    return Table(["source", "sentences", "errors", "accuracy"],
                 [[source, str(n), str(errors), f"{accuracy:.2f}"] for accuracy, source, n, errors in rows])


def provenance_blocks(run: Any, run_dirs: list[Path], temperature: float | None) -> list[Block]:
    """What produced the report: runs, backbone, training time, data hashes, config."""
    import json

    metrics_path = run.path / "metrics.json"
    training = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    train_file = Path(run.config.train_file)
    rows = [["runs", ", ".join(str(path) for path in run_dirs)], ["backbone", run.config.model_name],
            ["use_context", str(run.config.use_context)], ["freeze_embeddings", str(run.config.freeze_embeddings)],
            ["training time", f"{training.get('train_seconds', '?')} s on {training.get('device', '?')}"],
            ["training data", f"{train_file} (sha256 {file_sha256(train_file) if train_file.is_file() else 'missing'},"
                              f" {training.get('n_train', '?')} sentences)"],
            ["temperature (fitted on dev)", f"{temperature:.3f}" if temperature else "not fitted"]]
    config_text = (run.path / "config.yaml").read_text(encoding="utf-8")
    return [Heading("What produced this report"), Table(["item", "value"], rows),
            Paragraph("Resolved config of the first run:", note=True), Preformatted(config_text)]


def evaluate_runs(run_dirs: list[Path], data_files: list[Path], out_dir: Path, n_resamples: int = 1000,
                  baselines: bool = True, temperature: bool = True, seed: int = 0) -> dict[str, Any]:
    """Score runs (seeds of one setup) on each data file and write the Markdown/HTML report and metrics.json."""
    runs = [load_run(path) for path in run_dirs]
    for path in data_files:
        read_sentences(path)  # fail on bad data before any slow work
    out_dir.mkdir(parents=True, exist_ok=True)
    primary = runs[0]
    fitted = dev_temperature(primary) if temperature else None
    predictors = {}
    if baselines:
        train_file = Path(primary.config.train_file)
        if train_file.is_file():
            predictors = build_baselines(read_sentences(train_file), seed=seed)
        else:
            logger.warning("training file %s not found; baselines skipped", train_file)

    name = primary.path.name
    blocks: list[Block] = [Paragraph(
        f"Model {name} ({primary.config.model_name}) on {len(data_files)} data file(s). Intervals are 95% "
        f"percentile bootstrap intervals over sentences ({n_resamples} resamples, seed {seed}); wide intervals "
        "mean the data file is too small to separate systems whose intervals overlap.")]
    payload: dict[str, Any] = {"runs": [str(path) for path in run_dirs], "temperature": fitted, "files": {}}
    for path in data_files:
        all_scores = [score_file(run, path, n_resamples=n_resamples, seed=seed) for run in runs]
        scores = all_scores[0]
        seeds = seed_summary([s.metrics for s in all_scores]) if len(all_scores) > 1 else None
        baseline_metrics = score_baselines(predictors, scores.rows, n_resamples) if predictors else {}
        curves = {"raw": scores.metrics["calibration"]}
        if fitted:
            curves[f"temperature {fitted:.2f}"] = expected_calibration_error(scores.y_true, softmax(scores.logits, fitted))
        stem = scores.name
        cm_png = plot_confusion_matrix(scores.metrics["confusion_matrix"], out_dir / f"{stem}_confusion.png", stem)
        rel_png = plot_reliability(curves, out_dir / f"{stem}_reliability.png", stem)
        errors, n_errors = errors_table(scores, fitted or 1.0)
        blocks += [Heading(f"{stem}: {scores.metrics['n']} sentences ({path}, sha256 {scores.metrics['data']['sha256']})"),
                   headline_table(name, scores, seeds, baseline_metrics),
                   Heading("Per class", 3), per_class_table(scores.metrics),
                   Heading("Confusion matrix", 3), confusion_table(scores.metrics["confusion_matrix"]),
                   Image(cm_png, f"Confusion matrix of {name} on {stem}: rows are gold labels, columns predictions; "
                                 "each cell shows the count and the share of its gold row."),
                   Heading("Calibration", 3),
                   Paragraph(f"Expected calibration error (10 bins): raw {curves['raw']['ece']:.3f}"
                             + (f", after temperature scaling (T = {fitted:.2f}, fitted on dev) "
                                f"{curves[f'temperature {fitted:.2f}']['ece']:.3f}" if fitted else "") + "."),
                   Image(rel_png, f"Reliability diagram of {name} on {stem}: accuracy against mean confidence per "
                                  "confidence bin; points below the diagonal are over-confident."),
                   Heading(f"Misclassified sentences ({n_errors}, most confident first"
                           + (f", showing {MAX_ERRORS_SHOWN}" if n_errors > MAX_ERRORS_SHOWN else "") + ")", 3),
                   errors]
        sources = source_table(scores)
        if sources:
            blocks += [Heading("Per source (article), worst first", 3), sources]
        payload["files"][stem] = {"model": scores.metrics, "seeds": seeds, "baselines": baseline_metrics,
                                  "calibration_scaled": curves.get(f"temperature {fitted:.2f}") if fitted else None}
        logger.info("%s", format_scores(stem, scores.metrics))
    blocks += provenance_blocks(primary, run_dirs, fitted)
    write_document(blocks, out_dir, f"Evaluation report: {name}")
    write_metrics(out_dir, payload)
    logger.info("report written to %s (report.md, report.html, metrics.json)", out_dir)
    return payload
