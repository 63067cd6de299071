"""Fine-tune a backbone on the stance data with the Hugging Face Trainer.

Usage: ``german-stance train --config configs/stance.yaml [--key=value ...]``; writes ``runs/<run_name>/``
with ``model/`` (model + tokenizer), ``config.yaml``, ``label_map.json`` and ``metrics.json``.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import Trainer, TrainerCallback, TrainingArguments, set_seed
from transformers.trainer_utils import EvalPrediction

from .config import ID2LABEL, LABEL2ID, LABELS, Config, save_config
from .data import encode_for_model, read_sentences, vary_spelling, with_context
from .metrics import compute_metrics
from .model import load_backbone, resolve_device

logger = logging.getLogger(__name__)


class WeightedLossTrainer(Trainer):
    """Trainer whose cross-entropy weighs each class by its inverse frequency."""

    def __init__(self, *args: Any, class_weights: torch.Tensor | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.class_weights = class_weights

    def compute_loss(self, model: torch.nn.Module, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        """Cross-entropy with class weights (plain cross-entropy when none are set)."""
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        weight = self.class_weights.to(outputs.logits.device) if self.class_weights is not None else None
        loss = torch.nn.functional.cross_entropy(outputs.logits.float(), labels, weight=weight)
        return (loss, outputs) if return_outputs else loss


class EpochLogCallback(TrainerCallback):
    """One readable line per evaluation: ``epoch 2 | train loss 0.412 | val macro-F1 0.731``."""

    def __init__(self) -> None:
        self.train_loss: float | None = None
        self.history: list[dict[str, float]] = []

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kwargs: Any) -> None:
        if logs and "loss" in logs:
            self.train_loss = float(logs["loss"])

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, float] | None = None,
                    **kwargs: Any) -> None:
        metrics = metrics or {}
        entry = {"epoch": round(float(state.epoch or 0), 2), "train_loss": self.train_loss,
                 "val_macro_f1": metrics.get("eval_macro_f1"), "val_accuracy": metrics.get("eval_accuracy")}
        self.history.append(entry)
        loss = f"{self.train_loss:.3f}" if self.train_loss is not None else "n/a"
        logger.info("epoch %s | train loss %s | val macro-F1 %.3f", entry["epoch"], loss, entry["val_macro_f1"] or 0.0)


def sample_rows(rows: list[dict[str, Any]], limit: int, seed: int) -> list[dict[str, Any]]:
    """Return ``limit`` rows drawn with ``seed`` (all rows when ``limit`` is 0), in their original order."""
    if not limit or limit >= len(rows):
        return rows
    keep = sorted(random.Random(seed).sample(range(len(rows)), limit))
    return [rows[index] for index in keep]


def class_weights_for(rows: list[dict[str, Any]]) -> torch.Tensor:
    """Inverse-frequency weights ``n / (k * count)`` in label order; absent classes get weight 1."""
    counts = Counter(row["label"] for row in rows)
    return torch.tensor([len(rows) / (len(LABELS) * counts[label]) if counts[label] else 1.0 for label in LABELS],
                        dtype=torch.float)


def load_split(path: str, limit: int, seed: int, use_context: bool) -> list[dict[str, Any]]:
    """Read one split, adding the previous sentence as context when the file has none."""
    rows = read_sentences(path)
    # Contexts come from the whole file, before sampling, so each is the true previous sentence.
    return sample_rows(with_context(rows) if use_context else rows, limit, seed)


def trainer_metrics(prediction: EvalPrediction) -> dict[str, float]:
    """Macro-F1 and accuracy for the Trainer's evaluation loop."""
    logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
    scores = compute_metrics(prediction.label_ids, np.argmax(logits, axis=1))
    return {"macro_f1": scores["macro_f1"], "accuracy": scores["accuracy"]}


def training_arguments(cfg: Config, device: torch.device, checkpoints: Path) -> TrainingArguments:
    """Translate our config into ``TrainingArguments`` (mixed precision only on CUDA)."""
    on_cuda = device.type == "cuda"
    bf16 = on_cuda and cfg.mixed_precision and torch.cuda.is_bf16_supported()
    return TrainingArguments(
        output_dir=str(checkpoints), num_train_epochs=cfg.num_epochs, learning_rate=cfg.learning_rate,
        per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.eval_batch_size,
        warmup_steps=cfg.warmup_ratio, weight_decay=cfg.weight_decay, seed=cfg.seed,
        eval_strategy="epoch", save_strategy="epoch", load_best_model_at_end=True,
        metric_for_best_model="macro_f1", greater_is_better=True, save_total_limit=1, save_only_model=True,
        logging_steps=cfg.logging_steps, report_to="none", use_cpu=device.type == "cpu",
        bf16=bf16, fp16=on_cuda and cfg.mixed_precision and not bf16,
        # Batches of similar length waste less compute on padding, which matters most on CPU.
        train_sampling_strategy="group_by_length",
        disable_tqdm=not logger.isEnabledFor(logging.INFO),
    )


def count_parameters(model: torch.nn.Module) -> dict[str, int]:
    """Total and trainable parameter counts."""
    return {"total": sum(p.numel() for p in model.parameters()),
            "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad)}


def train(cfg: Config, overwrite: bool = False) -> Path:
    """Train one run and return its folder; the best epoch by dev macro-F1 is kept."""
    run_dir = cfg.run_dir
    if (run_dir / "model").exists() and not overwrite:
        raise FileExistsError(f"expected a new run folder, found a trained model in {run_dir}; pass "
                              f"--run_name=<new name> or --overwrite to replace it")
    device = resolve_device(cfg.device)
    logger.info("device: %s", device)
    # The classification head is randomly initialised, so the seed must be set before loading.
    set_seed(cfg.seed)
    train_rows = load_split(cfg.train_file, cfg.max_train_samples, cfg.seed, cfg.use_context)
    dev_rows = load_split(cfg.dev_file, cfg.max_dev_samples, cfg.seed, cfg.use_context)
    if cfg.spelling_variants:
        train_rows = vary_spelling(train_rows, cfg.seed)
    model, tokenizer = load_backbone(cfg)
    train_set = encode_for_model(train_rows, tokenizer, cfg.max_length, cfg.use_context)
    dev_set = encode_for_model(dev_rows, tokenizer, cfg.max_length, cfg.use_context)

    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoints = run_dir / "checkpoints"
    log_callback = EpochLogCallback()
    trainer = WeightedLossTrainer(
        model=model, args=training_arguments(cfg, device, checkpoints), train_dataset=train_set,
        eval_dataset=dev_set, processing_class=tokenizer, compute_metrics=trainer_metrics,
        callbacks=[log_callback], class_weights=class_weights_for(train_rows) if cfg.class_weighted_loss else None,
    )
    started = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - started
    # The loaded model is the best epoch, already scored on dev during training: no second evaluation.
    best = max(log_callback.history, key=lambda entry: entry["val_macro_f1"] or 0.0)

    trainer.save_model(str(run_dir / "model"))
    shutil.rmtree(checkpoints, ignore_errors=True)  # the best epoch is in model/; checkpoints are ~0.5 GB each
    save_config(cfg, run_dir / "config.yaml")
    (run_dir / "label_map.json").write_text(json.dumps({"id2label": ID2LABEL, "label2id": LABEL2ID}, indent=2))
    metrics = {
        "dev_macro_f1": best["val_macro_f1"], "dev_accuracy": best["val_accuracy"], "best_epoch": best["epoch"],
        "train_seconds": round(train_seconds, 1), "device": str(device), "history": log_callback.history,
        "n_train": len(train_rows), "n_dev": len(dev_rows), "parameters": count_parameters(model),
        "torch_threads": torch.get_num_threads(),
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    logger.info("dev macro-F1 %.3f | accuracy %.3f | trained in %.0f s on %s -> %s",
                metrics["dev_macro_f1"], metrics["dev_accuracy"], train_seconds, device, run_dir)
    return run_dir
