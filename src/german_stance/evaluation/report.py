"""The evaluation report: per task, scores with intervals, seeds, baselines, plots, calibration, errors, sources.

Usage: ``german-stance evaluate --model runs/default --data data/dev.jsonl --data data/test.jsonl --out reports/x``
writes ``report.md``, ``report.html`` (self-contained), ``metrics.json`` and ``predictions.csv`` into ``--out``.
``metrics.json`` keeps the stance scores under ``files.<file>.model`` and adds every task under ``files.<file>.tasks``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..data import read_sentences
from ..files import check_out_folder
from ..inference.classifier import StanceClassifier
from ..inference.progress import progress_bar
from .baselines import STANCE_TO_SENTIMENT, build_baselines
from .document import Block, Heading, Image, Paragraph, Preformatted, Table, write_document
from .plots import coverage_curve, plot_confusion_matrix, plot_coverage, plot_reliability
from .scoring import FileScores, file_sha256, format_scores, metrics_text, score_file
from .sections import (MAX_ERRORS_SHOWN, MIN_SOURCE_SENTENCES, calibration_paragraph, confusion_table, cross_table,
                       errors_table, headline_table, per_class_table, score_baselines, score_predictions, seed_summary,
                       source_table)

logger = logging.getLogger(__name__)


def mapping_baselines(scores: dict[str, FileScores], n_resamples: int) -> dict[str, Any]:
    """Sentiment read off the stance (critical -> negative, supportive -> positive): predicted and gold stance."""
    if "stance" not in scores or "sentiment" not in scores:
        return {}
    stance, sentiment = scores["stance"], scores["sentiment"]
    to_id = sentiment.task.label2id

    def mapped(ids: np.ndarray) -> np.ndarray:
        return np.array([to_id[STANCE_TO_SENTIMENT[stance.task.labels[i]]] for i in ids])

    return {"stance→sentiment mapping (predicted stance)": score_predictions(
                sentiment.y_true, mapped(stance.y_pred), sentiment.task, n_resamples),
            "stance→sentiment mapping (gold stance)": score_predictions(
                sentiment.y_true, mapped(stance.y_true), sentiment.task, n_resamples)}


def task_blocks(name: str, scores: FileScores, all_scores: list[FileScores], baselines: dict[str, Any],
                calibration: dict[str, Any] | None) -> tuple[list[Block], dict[str, Any]]:
    """Every section of one task on one file, and its metrics.json entry."""
    task, stem = scores.task, scores.name
    seeds = seed_summary([s.metrics for s in all_scores], task.labels) if len(all_scores) > 1 else None
    curves = {"raw": scores.metrics["calibration"]}
    if calibration and calibration.get("applied"):
        curves[f"temperature {calibration['temperature']:.2f}"] = scores.metrics["calibration_applied"]
    prefix = f"{stem}_{task.name}"
    cm_png = Path(f"{prefix}_confusion.png")
    rel_png = Path(f"{prefix}_reliability.png")
    cov_png = Path(f"{prefix}_coverage.png")
    cm_data = plot_confusion_matrix(scores.metrics["confusion_matrix"], f"{task.name}, {stem}", task.labels)
    rel_data = plot_reliability(curves, f"{task.name}, {stem}")
    coverage = coverage_curve(scores.probabilities, scores.y_true)
    cov_data = plot_coverage(coverage, f"{task.name}, {stem}")
    errors, n_errors = errors_table(scores)
    blocks: list[Block] = [
        Heading(f"{stem}: {task.name}", 3), headline_table(name, scores.metrics, seeds, baselines, task)]
    if scores.metrics["absent_labels"]:
        blocks.append(Paragraph(f"Note: this file has no gold {', '.join(scores.metrics['absent_labels'])} sentences; "
                                "their F1 counts as 0 in macro-F1. Macro-F1 over the present classes: "
                                f"{scores.metrics['macro_f1_present']:.3f}.", note=True))
    blocks += [Heading(f"{task.name}: per class", 4), per_class_table(scores.metrics),
               Heading(f"{task.name}: confusion matrix", 4), confusion_table(scores.metrics["confusion_matrix"], task.labels),
               Image(cm_png, f"Confusion matrix of {name} ({task.name}) on {stem}: rows are gold labels, columns "
                             "predictions; each cell shows the count and the share of its gold row.", data=cm_data),
               Heading(f"{task.name}: calibration", 4), calibration_paragraph(scores.metrics, calibration),
               Image(rel_png, f"Reliability diagram of {name} ({task.name}) on {stem}: accuracy against mean confidence "
                              "per confidence bin (n = sentences in the bin); points below the diagonal are over-confident.",
                     data=rel_data),
               Heading(f"{task.name}: coverage and accuracy when abstaining", 4),
               Table(["--min-confidence", "coverage", "accuracy on the rest"],
                     [[f"{p['threshold']:.2f}", f"{p['coverage']:.3f}",
                       "—" if p["accuracy"] is None else f"{p['accuracy']:.3f}"] for p in coverage[::2]]),
               Image(cov_png, f"{name} ({task.name}) on {stem}: with predict --min-confidence T, sentences below T are "
                              "labelled 'uncertain'; the curve shows the share still labelled and their accuracy.",
                     data=cov_data),
               Heading(f"{task.name}: misclassified sentences ({n_errors}, most confident first"
                       + (f", showing {MAX_ERRORS_SHOWN}; all predictions are in predictions.csv" if n_errors > MAX_ERRORS_SHOWN
                          else "") + ")", 4), errors]
    for key in ("register", "source"):
        table = source_table(scores, key)
        if table:
            blocks += [Heading(f"{task.name}: per {key} (at least {MIN_SOURCE_SENTENCES} sentences), worst first", 4), table]
    entry = {"model": scores.metrics, "seeds": seeds, "baselines": baselines, "calibration": calibration,
             "coverage": coverage}
    return blocks, entry


def predictions_csv(file_scores: dict[str, dict[str, FileScores]]) -> str:
    """Every sentence of every file: gold and predicted label and probabilities per task."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header_written = False
    for stem, per_task in file_scores.items():
        first = next(iter(per_task.values()))
        for index, row in enumerate(first.rows):
            record: dict[str, Any] = {"file": stem, "id": row.get("id", ""), "source": row.get("source", "")}
            for task_name, scores in per_task.items():
                labels = scores.task.labels
                record[f"gold_{task_name}"] = labels[scores.y_true[index]]
                record[f"predicted_{task_name}"] = labels[scores.y_pred[index]]
                record.update({f"p_{task_name}_{label}": round(float(p), 4)
                               for label, p in zip(labels, scores.probabilities[index])})
            record["text"] = row["text"]
            if not header_written:
                writer.writerow(list(record))
                header_written = True
            writer.writerow(list(record.values()))
    return buffer.getvalue()


def provenance_blocks(classifier: StanceClassifier, run_dirs: list[Path],
                      classifiers: list[StanceClassifier] | None = None) -> list[Block]:
    """What produced the report: runs, backbone, training time, data hashes, calibration, config."""
    run, config = classifier.run, classifier.run.config
    metrics_path = run.path / "metrics.json"
    training = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    train_file = Path(config.train_file)
    temperatures = ", ".join(f"{task}: T = {entry['temperature']:.2f} ({'applied' if entry.get('applied') else 'not applied'})"
                             for task, entry in run.calibration.items()) or "none fitted (raw confidences)"
    rows = [["runs", ", ".join(str(path) for path in run_dirs)], ["backbone", config.model_name],
            ["tasks", ", ".join(task.name for task in classifier.tasks)],
            ["use_context", str(config.use_context)], ["freeze_embeddings", str(config.freeze_embeddings)],
            ["training time", f"{training.get('train_seconds', '?')} s on {training.get('device', '?')}"],
            ["training data", f"{train_file} (sha256 {file_sha256(train_file) if train_file.is_file() else 'missing'},"
                              f" {training.get('n_train', '?')} sentences)"],
            ["lexical half", (f"TF-IDF + logistic regression per task, weight {run.lexical.weight:g} of the probabilities"
                              if run.lexical is not None else "none (encoder only)")],
            ["calibration", temperatures],
            ["backend", ", ".join(dict.fromkeys(member.backend.description for member in classifiers))]]
    config_text = (run.path / "config.yaml").read_text(encoding="utf-8")
    return [Heading("What produced this report"), Table(["item", "value"], rows),
            Paragraph("Resolved config of the first run:", note=True), Preformatted(config_text)]


def evaluate_runs(run_dirs: list[Path], data_files: list[Path], out_dir: Path, n_resamples: int = 1000,
                  baselines: bool = True, seed: int = 0, backend: str = "auto") -> dict[str, Any]:
    """Score runs (seeds of one setup) on each data file and write the report, metrics.json and predictions.csv."""
    check_out_folder(out_dir)  # before the model is loaded: a wrong --out fails at once
    classifiers = [StanceClassifier.from_run(path, backend=backend) for path in run_dirs]
    primary = classifiers[0]
    # Read every file first: bad data fails before any slow work, and the bar knows its total.
    n_sentences = sum(len(read_sentences(path, tasks=primary.tasks[:1])) for path in data_files)
    predictors: dict[str, dict[str, Any]] = {}
    train_file = Path(primary.run.config.train_file)
    if baselines and train_file.is_file():
        train_rows = read_sentences(train_file, tasks=primary.tasks[:1])
        predictors = {task.name: build_baselines(train_rows, seed=seed, task=task) for task in primary.tasks}
    elif baselines:
        logger.warning("training file %s not found; baselines skipped", train_file)

    name = primary.path.name
    blocks: list[Block] = [Paragraph(
        f"Model {name} ({primary.run.config.model_name}"
        f"{f' blended with TF-IDF, weight {primary.run.lexical.weight:g}' if primary.run.lexical is not None else ''}; "
        f"tasks: {', '.join(t.name for t in primary.tasks)}) on "
        f"{len(data_files)} data file(s). Intervals are 95% percentile bootstrap intervals over sentences "
        f"({n_resamples} resamples, seed {seed}); wide intervals mean the data file is too small to separate systems "
        "whose intervals overlap. Scores vary between training seeds: compare runs with `german-stance compare`.")]
    if primary.run.legacy:
        blocks.append(Paragraph("This run was trained before sentiment heads existed: it is scored on stance only.", note=True))
    payload: dict[str, Any] = {"runs": [str(path) for path in run_dirs], "calibration": primary.run.calibration,
                               "backend": [classifier.backend.description for classifier in classifiers],
                               "files": {}}
    everything: dict[str, dict[str, FileScores]] = {}
    with progress_bar("evaluating", total=n_sentences * len(classifiers), unit="sentence") as bar:
        for path in data_files:
            all_runs = []
            for classifier in classifiers:
                all_runs.append(score_file(classifier, path, n_resamples=n_resamples, seed=seed, progress=bar.update))
            scores = all_runs[0]
            everything[path.stem] = scores
            first = next(iter(scores.values()))
            blocks.append(Heading(f"{path.stem}: {first.metrics['n']} sentences ({path}, sha256 "
                                  f"{first.metrics['data']['sha256']})"))
            entry: dict[str, Any] = {"tasks": {}}
            for task_name, task_scores in scores.items():
                baseline_metrics = score_baselines(predictors.get(task_name, {}), task_scores, n_resamples)
                if task_name == "sentiment":
                    baseline_metrics.update(mapping_baselines(scores, n_resamples))
                task_blocks_, task_entry = task_blocks(name, task_scores, [run[task_name] for run in all_runs],
                                                       baseline_metrics, primary.run.calibration.get(task_name))
                blocks += task_blocks_
                entry["tasks"][task_name] = task_entry
                logger.info("%s", format_scores(path.stem, task_scores.metrics, task_scores.task))
            if "stance" in scores and "sentiment" in scores:
                blocks += [Heading(f"{path.stem}: stance × sentiment, gold vs predicted", 3),
                           cross_table(first.rows, scores["stance"], scores["sentiment"])]
            stance_entry = entry["tasks"].get("stance", {})
            # Stance keys stay where earlier versions put them; other tasks live under "tasks".
            entry.update({"model": stance_entry.get("model"), "seeds": stance_entry.get("seeds"),
                          "baselines": stance_entry.get("baselines")})
            payload["files"][path.stem] = entry
    blocks += provenance_blocks(primary, run_dirs, classifiers)
    # Every file at once, or none: a failure (disk full, Ctrl-C) leaves an earlier report whole.
    write_document(blocks, out_dir, f"Evaluation report: {name}", extra={
        "predictions.csv": predictions_csv(everything), "metrics.json": metrics_text(payload)})
    logger.info("report written to %s (report.md, report.html, metrics.json, predictions.csv)", out_dir)
    return payload


__all__ = ["evaluate_runs"]
