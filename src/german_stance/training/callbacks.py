"""Trainer callbacks: one readable line per epoch, quiet progress bars, dev logits kept for calibration.

Usage: ``MultiTaskTrainer(..., compute_metrics=DevLogits(tasks), callbacks=[EpochLog(tasks)])``
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from transformers import TrainerCallback
from transformers.trainer_callback import ProgressCallback
from transformers.trainer_utils import EvalPrediction

from ..tasks import Task
from .checkpoints import history_from_log

logger = logging.getLogger("german_stance.training.trainer")


class EpochLog(TrainerCallback):
    """One readable line per evaluation: ``epoch 2 | train loss 0.412 | val stance macro-F1 0.731 | ...``."""

    def __init__(self, tasks: Sequence[Task]) -> None:
        self.tasks = tuple(tasks)

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, float] | None = None,
                    **kwargs: Any) -> None:
        history = history_from_log(state.log_history, self.tasks)
        if not history or not state.is_world_process_zero:
            return
        entry = history[-1]
        loss = f"{entry['train_loss']:.3f}" if entry["train_loss"] is not None else "n/a"
        scores = " | ".join(f"val {task.name} macro-F1 {entry[f'val_{task.name}_macro_f1'] or 0.0:.3f}"
                            for task in self.tasks)
        logger.info("epoch %s | train loss %s | %s", entry["epoch"], loss, scores)


class QuietProgress(ProgressCallback):
    """The Trainer's progress bars without its raw log dicts (``--verbose`` brings them back)."""

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kwargs: Any) -> None:
        """Print nothing: ``EpochLog`` writes one readable line per epoch instead."""


def task_scores(tasks: Sequence[Task], joined: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Macro-F1 and accuracy per task of joined logits ``(n, all labels)`` against ``(n, tasks)`` ids (-100 skipped)."""
    from sklearn.metrics import accuracy_score, f1_score

    scores: dict[str, float] = {}
    start = 0
    for index, task in enumerate(tasks):
        logits = joined[:, start : start + len(task.labels)]
        start += len(task.labels)
        known = labels[:, index] != -100
        gold, predicted = labels[known, index], logits[known].argmax(axis=1)
        scores[f"{task.name}_macro_f1"] = float(f1_score(gold, predicted, labels=list(range(len(task.labels))),
                                                         average="macro", zero_division=0))
        scores[f"{task.name}_accuracy"] = float(accuracy_score(gold, predicted)) if len(gold) else 0.0
    return scores


class DevLogits:
    """``compute_metrics`` for the Trainer that also keeps each evaluation's dev logits (for calibration)."""

    def __init__(self, tasks: Sequence[Task]) -> None:
        self.tasks = tuple(tasks)
        self.logits: list[np.ndarray] = []
        self.labels: np.ndarray | None = None

    @staticmethod
    def logits_of(outputs: Any) -> np.ndarray:
        """The joined logits of all tasks from the model's outputs (``all_logits`` is the last one)."""
        return outputs[-1] if isinstance(outputs, tuple) else outputs

    def __call__(self, prediction: EvalPrediction) -> dict[str, float]:
        joined = self.logits_of(prediction.predictions)
        labels = np.asarray(prediction.label_ids).reshape(len(joined), len(self.tasks))
        self.logits.append(joined)
        self.labels = labels
        scores = task_scores(self.tasks, joined, labels)
        # The best epoch is chosen by the mean macro-F1 over tasks (stance alone for a stance run).
        scores["score"] = float(np.mean([scores[f"{task.name}_macro_f1"] for task in self.tasks]))
        return scores
