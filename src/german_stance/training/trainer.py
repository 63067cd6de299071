"""Fine-tune a backbone on the labelled sentences (one head per task) with the Hugging Face Trainer.

Usage: ``german-stance train --config configs/stance.yaml [--key=value ...] [--resume]``; writes
``runs/<run_name>/`` with ``model/`` (model, tokenizer, head code), ``config.yaml``, ``label_map.json``,
``calibration.json`` and ``metrics.json``. Under ``torchrun`` every process trains and only the main one writes.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import Trainer, TrainerCallback, TrainingArguments, set_seed
from transformers.trainer_callback import PrinterCallback, ProgressCallback

from ..config import Config, save_config
from ..data import encode_for_model, read_sentences, vary_spelling, with_context
from ..files import check_interrupt
from ..modeling.calibration import choose_temperature
from ..modeling.lexical import LexicalModel, fit_lexical
from ..modeling.loading import load_backbone, resolve_device, save_model_folder
from ..tasks import Task, get_tasks
from .callbacks import DevLogits, EpochLog, QuietProgress, task_scores
from .checkpoints import RUN_CONFIG, check_start, drop_if_unresumable, history_from_log
from .distributed import ddp_backend, is_main_process

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
    from ..inference.ensemble import Ensemble

    # torch, not an exported int8 model: the student learns the teachers' own probabilities.
    teachers = Ensemble.from_runs(cfg.teacher_runs, backend="torch")
    names = [task.name for task in teachers.tasks]
    missing = [task.name for task in tasks if task.name not in names]
    if missing:
        raise ValueError(f"expected teacher runs with the tasks {[t.name for t in tasks]}, found {names}; "
                         "train the teachers with the same tasks")
    texts = [row["text"] for row in rows]
    contexts = [row.get("context") or "" for row in rows] if teachers.use_context else None
    logits = teachers.logits(texts, contexts)  # members without context ignore it
    return np.concatenate([np.exp(logits[task.name]) for task in tasks], axis=1)


def cpu_has_bf16_matrix_units() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (Intel AMX), where bf16 autocast pays off."""
    # Without AMX, bf16 autocast on CPU is at best as fast as fp32; torch exposes the check only privately.
    check = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(check and check())


def uses_bf16(cfg: Config, device: torch.device) -> bool:
    """bf16 autocast: on CUDA where supported, on CPU where AMX is there (weights and optimizer stay fp32)."""
    if not cfg.mixed_precision:
        return False
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_bf16_matrix_units()


def training_arguments(cfg: Config, device: torch.device, checkpoints: Path) -> TrainingArguments:
    """Translate our config into ``TrainingArguments`` (mixed precision on CUDA, and bf16 on AMX CPUs)."""
    on_cuda = device.type == "cuda"
    bf16 = uses_bf16(cfg, device)
    return TrainingArguments(
        output_dir=str(checkpoints), num_train_epochs=cfg.num_epochs, learning_rate=cfg.learning_rate,
        per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.eval_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        warmup_steps=cfg.warmup_ratio, weight_decay=cfg.weight_decay, seed=cfg.seed,
        eval_strategy="epoch", save_strategy="epoch", load_best_model_at_end=True,
        metric_for_best_model="score", greater_is_better=True,
        # Full checkpoints (optimizer, scheduler, random states) so that --resume continues exactly.
        save_total_limit=cfg.keep_checkpoints, save_only_model=False,
        logging_steps=cfg.logging_steps, report_to="none", use_cpu=device.type == "cpu",
        ddp_backend=ddp_backend(device),
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


@dataclass
class Outcome:
    """What a finished training hands to ``write_run_folder``."""

    history: list[dict[str, Any]]
    best_index: int
    dev_logits: np.ndarray | None
    dev_labels: np.ndarray | None
    train_seconds: float
    processes: int


def prepare_checkpoints(cfg: Config, overwrite: bool, resume: bool) -> None:
    """Main process: clear an old run's checkpoints (``--overwrite``) and record the config for ``--resume``."""
    checkpoints = cfg.run_dir / "checkpoints"
    if overwrite:
        shutil.rmtree(checkpoints, ignore_errors=True)
    if not resume:
        checkpoints.mkdir(parents=True, exist_ok=True)
        save_config(cfg, checkpoints / RUN_CONFIG)


def train(cfg: Config, overwrite: bool = False, verbose: bool = False, resume: bool = False,
          callbacks: Sequence[TrainerCallback] = ()) -> Path:
    """Train one run and return its folder; the best epoch by dev macro-F1 (mean over tasks) is kept.

    ``resume`` continues an interrupted run from its latest epoch checkpoint (same config required).
    """
    run_dir = cfg.run_dir
    resume_from = check_start(cfg, overwrite, resume)
    tasks = get_tasks(cfg.tasks)
    device = resolve_device(cfg.device)
    logger.info("device: %s%s | tasks: %s%s", device, " (bf16 autocast)" if uses_bf16(cfg, device) else "",
                ", ".join(task.name for task in tasks),
                f" | resuming from {resume_from.name}" if resume_from else "")
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

    args = training_arguments(cfg, device, run_dir / "checkpoints")  # sets up the process group under torchrun
    with args.main_process_first(local=False, desc="preparing the run folder"):
        if is_main_process():
            prepare_checkpoints(cfg, overwrite, resume)
    log, dev_logits = EpochLog(tasks), DevLogits(tasks)
    trainer = MultiTaskTrainer(
        model=model, args=args, train_dataset=train_set, eval_dataset=dev_set, processing_class=tokenizer,
        compute_metrics=dev_logits, callbacks=[log, *callbacks], tasks=tasks,
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
    if args.world_size > 1:
        steps = cfg.gradient_accumulation_steps
        logger.info("%d processes (%s) | effective batch %d = %d per process x %d x %d accumulation steps",
                    args.world_size, args.ddp_backend, cfg.batch_size * args.world_size * steps,
                    cfg.batch_size, args.world_size, steps)
    started = time.perf_counter()
    from tqdm.contrib.logging import logging_redirect_tqdm

    try:
        with logging_redirect_tqdm():  # the epoch line goes above the training bar, not glued onto it
            trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
        # A Ctrl-C swallowed inside the Trainer must not lead to a saved, half-trained run.
        check_interrupt()
    except BaseException:
        # Epoch checkpoints stay for --resume; a run stopped before its first one leaves nothing behind.
        if is_main_process():
            drop_if_unresumable(run_dir / "checkpoints")
        raise
    train_seconds = time.perf_counter() - started
    # The history comes from the Trainer's log, which a resumed run restores from its checkpoint.
    history = history_from_log(trainer.state.log_history, tasks)
    best_index = max(range(len(history)), key=lambda i: history[i]["val_score"] or 0.0)
    # Evaluations before a resume happened in another process: their dev logits are gone.
    offset = len(history) - len(dev_logits.logits)
    best_logits, dev_labels = None, dev_logits.labels
    if best_index >= offset:
        best_logits = dev_logits.logits[best_index - offset]
    elif cfg.calibrate:
        # One more dev pass (on every process: it is collective) on the loaded best epoch, for calibration.
        prediction = trainer.predict(dev_set)
        best_logits = DevLogits.logits_of(prediction.predictions)
        dev_labels = np.asarray(prediction.label_ids).reshape(len(best_logits), len(tasks))
    outcome = Outcome(history, best_index, best_logits, dev_labels, train_seconds, args.world_size)
    # Every process has loaded the best epoch before the main one removes the checkpoints; the others wait
    # until the run folder is complete, so it is whole on every process that returns.
    trainer.accelerator.wait_for_everyone()
    with args.main_process_first(local=False, desc="writing the run folder"):
        if trainer.is_world_process_zero():
            # The lexical half learns the same rows as the encoder (spelling variants included).
            lexical = fit_lexical(train_rows, tasks, cfg.lexical_weight, cfg.seed) if cfg.lexical_weight else None
            write_run_folder(cfg, trainer.model, tokenizer, tasks, outcome, device,
                             {"n_train": len(train_rows), "n_dev": len(dev_rows)}, lexical, dev_rows)
    return run_dir


def blended_dev_pass(model: torch.nn.Module, tokenizer: Any, cfg: Config, tasks: Sequence[Task],
                     lexical: LexicalModel, dev_rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Dev logits of the encoder + lexical blend in file order, computed as predict computes them, and the labels."""
    # The Trainer's own dev logits come in length-grouped order without the texts, so they cannot be blended.
    from ..inference.classifier import StanceClassifier
    from ..modeling.runs import TrainedRun

    run = TrainedRun(path=cfg.run_dir, model=model, tokenizer=tokenizer, config=cfg, tasks=tuple(tasks),
                     lexical=lexical)
    texts = [row["text"] for row in dev_rows]
    contexts = [row.get("context") or "" for row in dev_rows] if cfg.use_context else None
    logits = StanceClassifier(run, calibrated=False).logits(texts, contexts)
    labels = np.array([[task.label2id[row[task.field]] if task.field in row else -100 for task in tasks]
                       for row in dev_rows])
    return np.concatenate([logits[task.name] for task in tasks], axis=1), labels


def write_run_folder(cfg: Config, model: torch.nn.Module, tokenizer: Any, tasks: Sequence[Task], outcome: Outcome,
                     device: torch.device, counts: dict[str, int], lexical: LexicalModel | None = None,
                     dev_rows: list[dict[str, Any]] | None = None) -> None:
    """Main process only: model, lexical half, config, label map, calibration and metrics; drop the checkpoints."""
    run_dir = cfg.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    save_model_folder(model, tokenizer, run_dir / "model")
    blended = {}
    if lexical is not None:
        lexical.save(run_dir)
        if dev_rows:
            # Calibrate what predict will output: the blend, not the encoder alone.
            outcome.dev_logits, outcome.dev_labels = blended_dev_pass(model, tokenizer, cfg, tasks, lexical, dev_rows)
            scores = task_scores(tasks, outcome.dev_logits, outcome.dev_labels)
            blended = {task.name: scores[f"{task.name}_macro_f1"] for task in tasks}
    save_config(cfg, run_dir / "config.yaml")
    (run_dir / "label_map.json").write_text(json.dumps(
        {task.name: {"id2label": task.id2label, "label2id": task.label2id} for task in tasks}, indent=2))
    calibration = (calibrate(tasks, outcome.dev_logits, outcome.dev_labels, cfg.dev_file)
                   if cfg.calibrate and outcome.dev_logits is not None else {})
    (run_dir / "calibration.json").write_text(json.dumps(calibration, indent=2))
    best = outcome.history[outcome.best_index]
    stance = tasks[0].name
    metrics = {
        "dev_macro_f1": best[f"val_{stance}_macro_f1"], "dev_accuracy": best[f"val_{stance}_accuracy"],
        "best_epoch": best["epoch"], "tasks": {task.name: {"dev_macro_f1": best[f"val_{task.name}_macro_f1"],
                                                            "dev_accuracy": best[f"val_{task.name}_accuracy"]}
                                               for task in tasks},
        "train_seconds": round(outcome.train_seconds, 1), "device": str(device), "processes": outcome.processes,
        "history": outcome.history, **counts, "parameters": count_parameters(model),
        "torch_threads": torch.get_num_threads(), "bf16_autocast": uses_bf16(cfg, device),
        # dev macro-F1 of the blend that predict uses (the scores above are the encoder's alone)
        "lexical": {"weight": lexical.weight, "dev_macro_f1": blended} if lexical is not None else None,
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    # The best epoch is in model/ now; a finished run needs no resume, and checkpoints are ~0.7 GB each.
    shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    logger.info("dev %s | trained in %.0f s on %s -> %s", " | ".join(
        f"{task.name} macro-F1 {best[f'val_{task.name}_macro_f1']:.3f}" for task in tasks),
        outcome.train_seconds, device, run_dir)
    if blended:
        logger.info("dev with the lexical half (what predict uses, weight %.2f): %s", lexical.weight,
                    " | ".join(f"{name} macro-F1 {score:.3f}" for name, score in blended.items()))
