"""One table per task comparing several setups (each one run or several seeds) and the baselines on the same data,
plus paired bootstrap differences of macro-F1.

Usage: ``german-stance compare --model old=runs/a new=runs/b,runs/b2 ens=ensemble:runs/b,runs/b2 --data data/dev.jsonl
--out reports/compare`` (``NAME=RUN1,RUN2``: seeds shown as mean ± sd; ``NAME=ensemble:RUN1,RUN2``: one averaged model)
writes ``comparison.md``, ``comparison.html`` and ``comparison.json``. Differences are paired: every resample
draws the same sentences for both systems; an interval above zero means the first system is better.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ..data import read_sentences
from ..files import check_out_folder
from ..inference.classifier import StanceClassifier
from .baselines import build_baselines
from .document import Block, Heading, Paragraph, Table, write_document
from .metrics import paired_bootstrap
from .scoring import score_file
from .sections import score_predictions, seed_summary, with_interval

logger = logging.getLogger(__name__)
TFIDF = "TF-IDF + logistic regression"


def parse_setups(specs: list[str]) -> dict[str, list[Path]]:
    """``NAME=RUN1,RUN2`` or a bare ``RUN`` (named after its folder) into ``{name: [run folders]}``."""
    setups: dict[str, list[Path]] = {}
    for spec in specs:
        name, _, runs = spec.rpartition("=") if "=" in spec else (Path(spec).name, "", spec)
        paths = [Path(part) for part in runs.split(",") if part]
        if not name or not paths:
            raise ValueError(f"expected NAME=RUN[,RUN...] or RUN, found {spec!r}")
        if name in setups:
            raise ValueError(f"expected unique setup names, found {name!r} twice; name them NAME=RUN")
        setups[name] = paths
    return setups


def load_setup(paths: list[Path], backend: str = "auto") -> list[StanceClassifier]:
    """The runs of one setup; ``ensemble:RUN1,RUN2`` (first path prefixed) is one averaged ensemble."""
    from ..inference.ensemble import Ensemble

    if str(paths[0]).startswith("ensemble:"):
        return [Ensemble.from_runs([Path(str(paths[0]).removeprefix("ensemble:")), *paths[1:]], backend=backend)]
    return [StanceClassifier.from_run(path, backend=backend) for path in paths]


def backends_used(loaded: dict[str, list[StanceClassifier]]) -> str:
    """One phrase per setup: which backend scored it (an exported run may be scored on its int8 model)."""
    from ..inference.ensemble import Ensemble

    def members(classifier: StanceClassifier) -> list[StanceClassifier]:
        return classifier.members if isinstance(classifier, Ensemble) else [classifier]

    return "; ".join(f"{name}: " + ", ".join(sorted({member.backend.description for classifier in runs
                                                     for member in members(classifier)}))
                     for name, runs in loaded.items())


def cell(metrics_list: list[dict[str, Any]], key: str, labels: Any) -> str:
    """A value with its interval for one run, mean ± sd for several seeds, — when the setup lacks the task."""
    if not metrics_list:
        return "—"
    if len(metrics_list) == 1:
        return with_interval(metrics_list[0][key], metrics_list[0]["intervals"][key])
    summary = seed_summary(metrics_list, labels)[key]
    return f"{summary['mean']:.3f} ± {summary['std']:.3f}"


def compare_runs(specs: list[str], data_files: list[Path], out_dir: Path, n_resamples: int = 1000,
                 backend: str = "auto", baseline_train: Path | None = None) -> dict[str, Any]:
    """Score every setup and the baselines on every data file; write one table per task and the paired differences.

    The baselines train on ``baseline_train`` (default: the first setup's training split), so that an old
    reference run can come first in the paired differences while the baselines see today's training data.
    """
    setups = parse_setups(specs)
    if baseline_train is not None and not baseline_train.is_file():
        raise FileNotFoundError(f"expected a labelled JSONL file for --baseline-train, found no file at "
                                f"{baseline_train}; pass the training split the baselines should learn from")
    check_out_folder(out_dir)  # before any model is loaded
    loaded = {name: load_setup(paths, backend) for name, paths in setups.items()}
    tasks = {task.name: task for runs in loaded.values() for task in runs[0].tasks}
    # results[task][system][file] = list of metrics (one per run); predictions[task][system][file] = (gold, predicted)
    results: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {name: {} for name in tasks}
    predictions: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in tasks}
    for name, runs in loaded.items():
        for run_index, classifier in enumerate(runs):
            for path in data_files:
                for task_name, scores in score_file(classifier, path, n_resamples=n_resamples).items():
                    results[task_name].setdefault(name, {}).setdefault(path.stem, []).append(scores.metrics)
                    if run_index == 0:
                        predictions[task_name].setdefault(name, {})[path.stem] = (scores.y_true, scores.y_pred)
    first = next(iter(loaded.values()))[0]
    train_file = baseline_train or Path(first.run.config.train_file)
    if train_file.is_file():
        train_rows = read_sentences(train_file, tasks=first.tasks[:1])
        rows_by_file = {path: read_sentences(path, tasks=first.tasks[:1]) for path in data_files}
        for task_name, task in tasks.items():
            for baseline, predict in build_baselines(train_rows, task=task).items():
                for path, rows in rows_by_file.items():
                    if not all(task.field in row for row in rows):
                        continue
                    gold = [task.label2id[row[task.field]] for row in rows]
                    predicted = predict([row["text"] for row in rows]).argmax(axis=1)
                    results[task_name].setdefault(baseline, {})[path.stem] = [
                        score_predictions(gold, predicted, task, n_resamples)]
                    predictions[task_name].setdefault(baseline, {})[path.stem] = (gold, predicted)

    blocks: list[Block] = [Paragraph(
        "One run: score [95% bootstrap interval]; several seeds: mean ± sample standard deviation. Baselines are "
        f"trained on {train_file}. — = the setup has no head for this task."),
        Paragraph(f"Backend per setup: {backends_used(loaded)}.", note=True)]
    for task_name, task in tasks.items():
        headers = ["system", "runs"] + [f"{path.stem} {metric}" for path in data_files for metric in ("macro-F1", "accuracy")]
        rows = []
        for system, per_file in results[task_name].items():
            count = max(len(values) for values in per_file.values())
            row = [system, str(count)]
            for path in data_files:
                row += [cell(per_file.get(path.stem, []), "macro_f1", task.labels),
                        cell(per_file.get(path.stem, []), "accuracy", task.labels)]
            rows.append(row)
        blocks += [Heading(f"{task_name}"), Table(headers, rows)]
        blocks += paired_blocks(task_name, len(task.labels), predictions[task_name], list(setups), data_files, n_resamples)
    blocks.append(Paragraph("Setups: " + "; ".join(f"{name} = {', '.join(map(str, paths))}"
                                                   for name, paths in setups.items()), note=True))
    summary = {"setups": {name: [str(p) for p in paths] for name, paths in setups.items()}, "results": results}
    write_document(blocks, out_dir, "Comparison of runs", stem="comparison",
                   extra={"comparison.json": json.dumps(summary, indent=2, default=str)})
    logger.info("comparison written to %s", out_dir / "comparison.md")
    return summary


def paired_blocks(task_name: str, n_labels: int, predictions: dict[str, dict[str, Any]], setup_names: list[str],
                  data_files: list[Path], n_resamples: int) -> list[Block]:
    """Macro-F1 differences with paired intervals: every setup against the first setup and against TF-IDF."""
    pairs = [(name, setup_names[0]) for name in setup_names[1:]] + [(name, TFIDF) for name in setup_names]
    rows = []
    for left, right in pairs:
        if left not in predictions or right not in predictions:
            continue
        row = [f"{left} − {right}"]
        for path in data_files:
            a, b = predictions[left].get(path.stem), predictions[right].get(path.stem)
            if a is None or b is None:
                row.append("—")
                continue
            delta = paired_bootstrap(a[0], a[1], b[1], n_labels, n_resamples=n_resamples)
            row.append(f"{delta['delta']:+.3f} [{delta['low']:+.3f}, {delta['high']:+.3f}]")
        rows.append(row)
    if not rows:
        return []
    return [Heading(f"{task_name}: paired differences of macro-F1 (first run of each setup)", 3),
            Table(["difference"] + [f"{path.stem} Δ macro-F1 [95% CI]" for path in data_files], rows)]
