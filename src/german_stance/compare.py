"""One table comparing several setups (each one run or several seeds) and the baselines on the same data.

Usage: ``german-stance compare --model frozen=runs/a-seed42,runs/a-seed43 unfrozen=runs/b --data data/dev.jsonl
--out reports/compare`` writes ``comparison.md``, ``comparison.html`` and ``comparison.json``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from .baselines import build_baselines
from .data import read_sentences
from .document import Paragraph, Table, write_document
from .evaluate import score_file
from .model import load_run
from .report import score_baselines, seed_summary, with_interval

logger = logging.getLogger(__name__)


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


def cell(metrics_list: list[dict[str, Any]], key: str) -> str:
    """A value with its interval for one run, mean ± sd for several seeds."""
    if len(metrics_list) == 1:
        return with_interval(metrics_list[0][key], metrics_list[0]["intervals"][key])
    summary = seed_summary(metrics_list)[key]
    return f"{summary['mean']:.3f} ± {summary['std']:.3f}"


def compare_runs(specs: list[str], data_files: list[Path], out_dir: Path, n_resamples: int = 1000) -> dict[str, Any]:
    """Score every setup and the baselines on every data file; write one comparison table."""
    setups = parse_setups(specs)
    loaded = {name: [load_run(path) for path in paths] for name, paths in setups.items()}
    rows_by_file = {path: read_sentences(path) for path in data_files}
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name, runs in loaded.items():
        results[name] = {path.stem: [score_file(run, path, n_resamples=n_resamples).metrics for run in runs]
                         for path in data_files}
    first_run = next(iter(loaded.values()))[0]
    train_file = Path(first_run.config.train_file)
    if train_file.is_file():
        predictors = build_baselines(read_sentences(train_file))
        for name in predictors:
            results[name] = {path.stem: [score_baselines({name: predictors[name]}, rows, n_resamples)[name]]
                             for path, rows in rows_by_file.items()}
    headers = ["system", "runs"] + [f"{path.stem} {metric}" for path in data_files for metric in ("macro-F1", "accuracy")]
    table_rows = []
    for name, per_file in results.items():
        count = len(next(iter(per_file.values())))
        row = [name, str(count)]
        for path in data_files:
            row += [cell(per_file[path.stem], "macro_f1"), cell(per_file[path.stem], "accuracy")]
        table_rows.append(row)
    blocks = [Paragraph("One run: score [95% bootstrap interval]; several seeds: mean ± sample standard deviation. "
                        "Baselines are trained on the training split of the first setup."),
              Table(headers, table_rows),
              Paragraph("Setups: " + "; ".join(f"{name} = {', '.join(map(str, paths))}" for name, paths in setups.items()),
                        note=True)]
    write_document(blocks, out_dir, "Comparison of runs", stem="comparison")
    summary = {"setups": {name: [str(p) for p in paths] for name, paths in setups.items()}, "results": results}
    (out_dir / "comparison.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    logger.info("comparison written to %s", out_dir / "comparison.md")
    for row in table_rows:
        logger.info("  %s", " | ".join(row))
    return summary
