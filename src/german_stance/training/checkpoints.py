"""Epoch checkpoints of a run: refuse or allow a start, find the checkpoint to resume, compare configs.

Usage: ``german-stance train --config configs/stance.yaml --resume`` continues an interrupted run from
``runs/<run_name>/checkpoints/checkpoint-<step>/`` (model, optimizer, scheduler, random states, Trainer state).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import Config, load_config
from ..tasks import Task

# The config of the run being trained, written when it starts, so --resume can check that nothing changed.
RUN_CONFIG = "run_config.yaml"


def checkpoint_folders(checkpoints: Path) -> list[Path]:
    """The ``checkpoint-<step>`` folders, oldest first."""
    found = [path for path in checkpoints.glob("checkpoint-*") if path.is_dir() and path.name[11:].isdigit()]
    return sorted(found, key=lambda path: int(path.name[11:]))


def drop_if_unresumable(checkpoints: Path) -> None:
    """Remove a checkpoints folder that holds no epoch checkpoint yet: a run stopped that early leaves no files."""
    if checkpoints.is_dir() and not checkpoint_folders(checkpoints):
        shutil.rmtree(checkpoints, ignore_errors=True)
        try:
            checkpoints.parent.rmdir()  # the run folder, when this run created it and nothing else is in it
        except OSError:
            pass


def config_differences(saved: Config, current: Config) -> list[str]:
    """``key: old -> new`` for every config key whose value differs."""
    old, new = saved.to_dict(), current.to_dict()
    return [f"{key}: {old[key]!r} -> {new[key]!r}" for key in new if old.get(key) != new[key]]


def check_start(cfg: Config, overwrite: bool, resume: bool) -> Path | None:
    """Raise unless this run may start as asked; return the checkpoint to resume from (None for a fresh start)."""
    run_dir, checkpoints = cfg.run_dir, cfg.run_dir / "checkpoints"
    if resume and overwrite:
        raise ValueError("expected either --resume (continue the interrupted run) or --overwrite (start over), "
                         "found both; pass one")
    if (run_dir / "model").exists() and not overwrite:
        if resume:
            raise FileExistsError(f"expected an interrupted run to resume, found a finished one in {run_dir} "
                                  "(model/ exists); pass --run_name=<new name> to train another")
        raise FileExistsError(f"expected a new run folder, found a trained model in {run_dir}; pass "
                              f"--run_name=<new name> or --overwrite to replace it")
    found = checkpoint_folders(checkpoints)
    if not resume:
        if found and not overwrite:
            raise FileExistsError(f"expected a new run folder, found checkpoints of an interrupted run in {checkpoints} "
                                  f"(latest: {found[-1].name}); pass --resume to continue it or --overwrite to start over")
        return None
    if not found:
        raise FileNotFoundError(f"expected a checkpoint-<step> folder in {checkpoints} to resume from, found none; "
                                "train without --resume")
    saved = checkpoints / RUN_CONFIG
    if not saved.is_file():
        raise FileNotFoundError(f"expected the interrupted run's config at {saved}, found no file; "
                                "train without --resume (or with --overwrite) to start over")
    differences = config_differences(load_config(saved), cfg)
    if differences:
        raise ValueError(f"expected the config of the interrupted run in {run_dir}, found {len(differences)} "
                         f"changed key(s): {'; '.join(differences)}; resume with the same config, or pass "
                         "--overwrite (or another --run_name) to start a new run")
    return found[-1]


def history_from_log(log_history: Sequence[dict[str, Any]], tasks: Sequence[Task]) -> list[dict[str, Any]]:
    """One entry per dev evaluation, from the Trainer's log (which a resumed run restores from its checkpoint)."""
    history: list[dict[str, Any]] = []
    train_loss: float | None = None
    for logged in log_history:
        if "loss" in logged:
            train_loss = float(logged["loss"])
        if "eval_score" not in logged:
            continue
        entry: dict[str, Any] = {"epoch": round(float(logged.get("epoch") or 0), 2), "train_loss": train_loss,
                                 "val_score": logged["eval_score"]}
        for task in tasks:
            entry[f"val_{task.name}_macro_f1"] = logged.get(f"eval_{task.name}_macro_f1")
            entry[f"val_{task.name}_accuracy"] = logged.get(f"eval_{task.name}_accuracy")
        history.append(entry)
    return history
