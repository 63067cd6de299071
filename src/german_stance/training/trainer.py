"""Fine-tune a backbone on the labelled sentences (one head per task) with the Hugging Face Trainer.

Usage: ``german-stance train --config configs/stance.yaml [--key=value ...]``; writes ``runs/<run_name>/``
with ``model/`` (model, tokenizer, head code), ``config.yaml``, ``label_map.json``, ``calibration.json``
and ``metrics.json``.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import Trainer, TrainerCallback, TrainingArguments, set_seed
from transformers.trainer_callback import PrinterCallback, ProgressCallback
from transformers.trainer_utils import EvalPrediction

from ..config import Config, save_config
from ..data import encode_for_model, read_sentences, vary_spelling, with_context
from ..files import check_interrupt
from ..modeling.calibration import choose_temperature
from ..modeling.loading import load_backbone, resolve_device, save_model_folder
from ..tasks import Task, get_tasks

logger = logging.getLogger(__name__)


class MultiTaskTrainer(Trainer):
    """Trainer whose loss is the weighted sum of each task's class-weighted cross-entropy."""

    def __init__(self, *args: Any, tasks: Sequence[Task] = (), class_weights: list[torch.Tensor | None] | None = None,
                 task_weights: Sequence[float] = (), label_smoothing: float = 0.0, distill_weight: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tasks = tuple(tasks)
        self.distill_weight = distill_weight
        self.class_weights = class_weights or [None] * len(self.tasks)
        self.task_weights = list(task_weights) or [1.0] * len(self.tasks)
        self.label_smoothing = label_smoothing

    def compute_loss(self, model: torch.nn.Module, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        """Sum over tasks of weight x cross-entropy (class weights, label smoothing; -100 = unlabelled).

        With teachers (``soft_labels``), each task's loss mixes the gold cross-entropy with the cross-entropy
        against the teachers' mean probabilities, ``distill_weight`` of the latter.
        """
        labels = inputs.pop("labels").view(-1, len(self.tasks))
        soft = inputs.pop("soft_labels", None)
        outputs = model(**inputs)
        loss, start = outputs.all_logits.new_zeros(()), 0
        for index, task in enumerate(self.tasks):
            logits = outputs.all_logits[:, start : start + len(task.labels)].float()
            start += len(task.labels)
            if not (labels[:, index] != -100).any():
                continue
            weight = self.class_weights[index]
            task_loss = torch.nn.functional.cross_entropy(
                logits, labels[:, index], weight=weight.to(logits.device) if weight is not None else None,
                ignore_index=-100, label_smoothing=self.label_smoothing)
            if soft is not None and self.distill_weight:
                targets = soft[:, start - len(task.labels) : start].float()
                distill = -(targets * torch.log_softmax(logits, dim=-1)).sum(-1).mean()
                task_loss = (1 - self.distill_weight) * task_loss + self.distill_weight * distill
            loss = loss + self.task_weights[index] * task_loss
        return (loss, outputs) if return_outputs else loss


class EpochLog(TrainerCallback):
    """One readable line per evaluation: ``epoch 2 | train loss 0.412 | val stance macro-F1 0.731 | ...``."""

    def __init__(self, tasks: Sequence[Task]) -> None:
        self.tasks = tuple(tasks)
        self.train_loss: float | None = None
        self.history: list[dict[str, Any]] = []

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kwargs: Any) -> None:
        if logs and "loss" in logs:
            self.train_loss = float(logs["loss"])

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, float] | None = None,
                    **kwargs: Any) -> None:
        metrics = metrics or {}
        entry: dict[str, Any] = {"epoch": round(float(state.epoch or 0), 2), "train_loss": self.train_loss,
                                 "val_score": metrics.get("eval_score")}
        for task in self.tasks:
            entry[f"val_{task.name}_macro_f1"] = metrics.get(f"eval_{task.name}_macro_f1")
            entry[f"val_{task.name}_accuracy"] = metrics.get(f"eval_{task.name}_accuracy")
        self.history.append(entry)
        loss = f"{self.train_loss:.3f}" if self.train_loss is not None else "n/a"
        scores = " | ".join(f"val {task.name} macro-F1 {entry[f'val_{task.name}_macro_f1'] or 0.0:.3f}"
                            for task in self.tasks)
        logger.info("epoch %s | train loss %s | %s", entry["epoch"], loss, scores)


class QuietProgress(ProgressCallback):
    """The Trainer's progress bars without its raw log dicts (``--verbose`` brings them back)."""

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kwargs: Any) -> None:
        """Print nothing: ``EpochLog`` writes one readable line per epoch instead."""


class DevLogits:
    """``compute_metrics`` for the Trainer that also keeps each evaluation's dev logits (for calibration)."""

    def __init__(self, tasks: Sequence[Task]) -> None:
        self.tasks = tuple(tasks)
        self.logits: list[np.ndarray] = []
        self.labels: np.ndarray | None = None

    def __call__(self, prediction: EvalPrediction) -> dict[str, float]:
        from sklearn.metrics import accuracy_score, f1_score

        outputs = prediction.predictions
        joined = outputs[-1] if isinstance(outputs, tuple) else outputs  # all_logits is the last output
        labels = np.asarray(prediction.label_ids).reshape(len(joined), len(self.tasks))
        self.logits.append(joined)
        self.labels = labels
        scores: dict[str, float] = {}
        start = 0
        for index, task in enumerate(self.tasks):
            logits = joined[:, start : start + len(task.labels)]
            start += len(task.labels)
            known = labels[:, index] != -100
            gold, predicted = labels[known, index], logits[known].argmax(axis=1)
            scores[f"{task.name}_macro_f1"] = float(f1_score(gold, predicted, labels=list(range(len(task.labels))),
                                                             average="macro", zero_division=0))
            scores[f"{task.name}_accuracy"] = float(accuracy_score(gold, predicted)) if len(gold) else 0.0
        # The best epoch is chosen by the mean macro-F1 over tasks (stance alone for a stance run).
        scores["score"] = float(np.mean([scores[f"{task.name}_macro_f1"] for task in self.tasks]))
        return scores


def sample_rows(rows: list[dict[str, Any]], limit: int, seed: int) -> list[dict[str, Any]]:
    """Return ``limit`` rows drawn with ``seed`` (all rows when ``limit`` is 0), in their original order."""
    if not limit or limit >= len(rows):
        return rows
    keep = sorted(random.Random(seed).sample(range(len(rows)), limit))
    return [rows[index] for index in keep]


def class_weights_for(rows: list[dict[str, Any]], task: Task) -> torch.Tensor:
    """Inverse-frequency weights ``n / (k * count)`` in label order; absent classes get weight 1."""
    counts = Counter(row[task.field] for row in rows if task.field in row)
    total = sum(counts.values())
    return torch.tensor([total / (len(task.labels) * counts[label]) if counts[label] else 1.0
                         for label in task.labels], dtype=torch.float)


def check_classes(rows: list[dict[str, Any]], tasks: Sequence[Task], where: str) -> None:
    """Refuse training data in which a task has fewer than two classes: the model could learn nothing."""
    for task in tasks:
        found = sorted({row[task.field] for row in rows})
        if len(found) < 2:
            raise ValueError(f"expected at least two {task.name} classes of {list(task.labels)} in {where}, found "
                             f"only {found}; add sentences of the other classes (ANNOTATION.md)")


def load_split(path: str, limit: int, seed: int, use_context: bool, tasks: Sequence[Task]) -> list[dict[str, Any]]:
    """Read one split, adding the previous sentence as context when the file has none."""
    rows = read_sentences(path, tasks=tasks)
    # Contexts come from the whole file, before sampling, so each is the true previous sentence.
    return sample_rows(with_context(rows) if use_context else rows, limit, seed)


def teacher_probabilities(cfg: Config, rows: list[dict[str, Any]], tasks: Sequence[Task]) -> np.ndarray:
    """The teachers' mean probabilities for each training row, every task side by side (the model's order)."""
    from ..data.context import contexts_for
    from ..inference.ensemble import Ensemble

    teachers = Ensemble.from_runs(cfg.teacher_runs)
    names = [task.name for task in teachers.tasks]
    missing = [task.name for task in tasks if task.name not in names]
    if missing:
        raise ValueError(f"expected teacher runs with the tasks {[t.name for t in tasks]}, found {names}; "
                         "train the teachers with the same tasks")
    texts = [row["text"] for row in rows]
    contexts = [row.get("context") or "" for row in rows] if teachers.use_context else None
    logits = teachers.logits(texts, contexts if contexts is not None else contexts_for(texts))
    return np.concatenate([np.exp(logits[task.name]) for task in tasks], axis=1)


def training_arguments(cfg: Config, device: torch.device, checkpoints: Path) -> TrainingArguments:
    """Translate our config into ``TrainingArguments`` (mixed precision only on CUDA)."""
    on_cuda = device.type == "cuda"
    bf16 = on_cuda and cfg.mixed_precision and torch.cuda.is_bf16_supported()
    return TrainingArguments(
        output_dir=str(checkpoints), num_train_epochs=cfg.num_epochs, learning_rate=cfg.learning_rate,
        per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.eval_batch_size,
        warmup_steps=cfg.warmup_ratio, weight_decay=cfg.weight_decay, seed=cfg.seed,
        eval_strategy="epoch", save_strategy="epoch", load_best_model_at_end=True,
        metric_for_best_model="score", greater_is_better=True, save_total_limit=1, save_only_model=True,
        logging_steps=cfg.logging_steps, report_to="none", use_cpu=device.type == "cpu",
        bf16=bf16, fp16=on_cuda and cfg.mixed_precision and not bf16,
        # Batches of similar length waste less compute on padding, which matters most on CPU.
        train_sampling_strategy="group_by_length",
        remove_unused_columns=False,  # our datasets hold only model inputs, labels and (distillation) soft labels
        disable_tqdm=not logger.isEnabledFor(logging.INFO),
        log_level="warning",
    )


def count_parameters(model: torch.nn.Module) -> dict[str, int]:
    """Total and trainable parameter counts."""
    return {"total": sum(p.numel() for p in model.parameters()),
            "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad)}


def calibrate(tasks: Sequence[Task], logits: np.ndarray, labels: np.ndarray, dev_file: str) -> dict[str, Any]:
    """Per task: the dev-fitted temperature, and whether it is applied (only where it lowers dev ECE)."""
    result, start = {}, 0
    for index, task in enumerate(tasks):
        task_logits = logits[:, start : start + len(task.labels)]
        start += len(task.labels)
        known = labels[:, index] != -100
        result[task.name] = choose_temperature(task_logits[known], labels[known, index], dev_file)
    return result


def train(cfg: Config, overwrite: bool = False, verbose: bool = False) -> Path:
    """Train one run and return its folder; the best epoch by dev macro-F1 (mean over tasks) is kept."""
    run_dir = cfg.run_dir
    if (run_dir / "model").exists() and not overwrite:
        raise FileExistsError(f"expected a new run folder, found a trained model in {run_dir}; pass "
                              f"--run_name=<new name> or --overwrite to replace it")
    tasks = get_tasks(cfg.tasks)
    device = resolve_device(cfg.device)
    logger.info("device: %s | tasks: %s", device, ", ".join(task.name for task in tasks))
    # The classification heads are randomly initialised, so the seed must be set before loading.
    set_seed(cfg.seed)
    train_rows = load_split(cfg.train_file, cfg.max_train_samples, cfg.seed, cfg.use_context, tasks)
    dev_rows = load_split(cfg.dev_file, cfg.max_dev_samples, cfg.seed, cfg.use_context, tasks)
    check_classes(train_rows, tasks, cfg.train_file)
    if cfg.spelling_variants:
        train_rows = vary_spelling(train_rows, cfg.seed)
    model, tokenizer = load_backbone(cfg)
    train_set = encode_for_model(train_rows, tokenizer, cfg.max_length, cfg.use_context, tasks)
    if cfg.teacher_runs:
        train_set = train_set.add_column("soft_labels", teacher_probabilities(cfg, train_rows, tasks).tolist())
    dev_set = encode_for_model(dev_rows, tokenizer, cfg.max_length, cfg.use_context, tasks)

    checkpoints = run_dir / "checkpoints"
    log, dev_logits = EpochLog(tasks), DevLogits(tasks)
    trainer = MultiTaskTrainer(
        model=model, args=training_arguments(cfg, device, checkpoints), train_dataset=train_set,
        eval_dataset=dev_set, processing_class=tokenizer, compute_metrics=dev_logits, callbacks=[log], tasks=tasks,
        class_weights=[class_weights_for(train_rows, task) for task in tasks] if cfg.class_weighted_loss else None,
        task_weights=cfg.task_weights, label_smoothing=cfg.label_smoothing,
        distill_weight=cfg.distill_weight if cfg.teacher_runs else 0.0,
    )
    if not verbose:
        trainer.remove_callback(PrinterCallback)
        if trainer.pop_callback(ProgressCallback):
            trainer.add_callback(QuietProgress)
            # After the progress callback, so the dev-evaluation bar is closed before the epoch line is written.
            trainer.remove_callback(log)
            trainer.add_callback(log)
    started = time.perf_counter()
    from tqdm.contrib.logging import logging_redirect_tqdm

    with logging_redirect_tqdm():  # the epoch line goes above the training bar, not glued onto it
        trainer.train()
    check_interrupt()  # a Ctrl-C swallowed inside the Trainer must not lead to a saved, half-trained run
    train_seconds = time.perf_counter() - started
    # The loaded model is the best epoch, already scored on dev during training: no second evaluation.
    best_index = max(range(len(log.history)), key=lambda i: log.history[i]["val_score"] or 0.0)
    best = log.history[best_index]
    if not trainer.is_world_process_zero():
        return run_dir  # under torchrun only the main process writes the run folder

    run_dir.mkdir(parents=True, exist_ok=True)
    save_model_folder(trainer.model, tokenizer, run_dir / "model")
    shutil.rmtree(checkpoints, ignore_errors=True)  # the best epoch is in model/; checkpoints are ~0.5 GB each
    save_config(cfg, run_dir / "config.yaml")
    (run_dir / "label_map.json").write_text(json.dumps(
        {task.name: {"id2label": task.id2label, "label2id": task.label2id} for task in tasks}, indent=2))
    calibration = (calibrate(tasks, dev_logits.logits[best_index], dev_logits.labels, cfg.dev_file)
                   if cfg.calibrate and dev_logits.labels is not None else {})
    (run_dir / "calibration.json").write_text(json.dumps(calibration, indent=2))
    stance = tasks[0].name
    metrics = {
        "dev_macro_f1": best[f"val_{stance}_macro_f1"], "dev_accuracy": best[f"val_{stance}_accuracy"],
        "best_epoch": best["epoch"], "tasks": {task.name: {"dev_macro_f1": best[f"val_{task.name}_macro_f1"],
                                                            "dev_accuracy": best[f"val_{task.name}_accuracy"]}
                                               for task in tasks},
        "train_seconds": round(train_seconds, 1), "device": str(device), "history": log.history,
        "n_train": len(train_rows), "n_dev": len(dev_rows), "parameters": count_parameters(model),
        "torch_threads": torch.get_num_threads(),
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    logger.info("dev %s | trained in %.0f s on %s -> %s", " | ".join(
        f"{task.name} macro-F1 {best[f'val_{task.name}_macro_f1']:.3f}" for task in tasks), train_seconds, device, run_dir)
    return run_dir
