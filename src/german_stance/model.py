"""Load backbones and trained runs; pick the device.

Usage: ``model, tokenizer = load_backbone(cfg)`` for training, ``load_run("runs/default")`` for use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import BertForSequenceClassification
from transformers.modeling_outputs import SequenceClassifierOutput

from .backbone import OFFLINE_BACKBONE, ensure_offline_backbone
from .config import ID2LABEL, LABEL2ID, LABELS, Config, load_config

logger = logging.getLogger(__name__)


def resolve_device(device: str = "auto") -> torch.device:
    """Pick cuda, then mps, then cpu for ``auto``; an explicit device wins."""
    if device != "auto":
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device {device!r} was asked for, but no CUDA GPU is visible; use device=cpu or auto")
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_model_path(model_name: str) -> str:
    """Map the offline backbone's name to its converted checkpoint; pass other ids and folders through."""
    if model_name == OFFLINE_BACKBONE:
        return str(ensure_offline_backbone())
    return model_name


class BertMeanPoolingClassifier(BertForSequenceClassification):
    """BERT classifier on the mean of the token states instead of the [CLS] state.

    e5 was trained with mean pooling, so its [CLS] state carries less sentence information (the [CLS]
    states of different sentences are more alike than their mean states). README's comparison table
    measures both heads. Weights and names are those of ``BertForSequenceClassification``, so checkpoints
    load with this class's ``from_pretrained``.
    """

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                **kwargs: Any) -> SequenceClassifierOutput:
        """Mean-pool non-padding token states, then the pooler's dense+tanh and the classifier."""
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
        if attention_mask is None:
            attention_mask = torch.ones(hidden.shape[:2], device=hidden.device)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = torch.tanh(self.bert.pooler.dense((hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)))
        logits = self.classifier(self.dropout(pooled))
        loss = torch.nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


def classifier_class(path: str | Path, pooling: str) -> Any:
    """The model class for a backbone folder/id and a pooling choice."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    if pooling == "cls":
        return AutoModelForSequenceClassification
    model_type = AutoConfig.from_pretrained(path).model_type
    if model_type != "bert":
        raise ValueError(f"pooling=mean needs a BERT backbone, found model type {model_type!r} in {path}; "
                         "set --pooling=cls for this backbone")
    return BertMeanPoolingClassifier


def load_backbone(cfg: Config) -> tuple[Any, Any]:
    """Load tokenizer and a 3-label sequence classifier from the configured backbone."""
    from transformers import AutoTokenizer

    path = resolve_model_path(cfg.model_name)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = classifier_class(path, cfg.pooling).from_pretrained(
        path, num_labels=len(LABELS), id2label=ID2LABEL, label2id=LABEL2ID)
    if cfg.freeze_embeddings:
        freeze_word_embeddings(model)
    return model, tokenizer


def freeze_word_embeddings(model: torch.nn.Module) -> int:
    """Freeze the word-embedding matrix (most of a multilingual model's weights); return its size."""
    # 96M of e5-small's 118M parameters sit in this matrix; freezing it made training 1.3x faster with
    # scores within noise (README, Results), and keeps the multilingual vocabulary from drifting.
    embeddings = model.get_input_embeddings()
    embeddings.weight.requires_grad_(False)
    return embeddings.weight.numel()


@dataclass
class TrainedRun:
    """A trained run folder, loaded for evaluation or prediction."""

    path: Path
    model: Any
    tokenizer: Any
    config: Config


def check_run_dir(run_dir: str | Path) -> Path:
    """Raise a clear error unless ``run_dir`` holds a trained model written by ``train``."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"expected a run folder at {run_dir}, found nothing; train one with "
                                "`german-stance train` or pass --model runs/<name>")
    missing = [name for name in ("model/config.json", "config.yaml") if not (run_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"expected a trained run in {run_dir} (with {', '.join(missing)}), found "
                                f"{sorted(p.name for p in run_dir.iterdir())[:8]}; point --model at a folder "
                                "written by `german-stance train`")
    return run_dir


def load_run(run_dir: str | Path, device: str = "auto") -> TrainedRun:
    """Load the model, tokenizer and config of a trained run."""
    from transformers import AutoTokenizer

    run_dir = check_run_dir(run_dir)
    cfg = load_config(run_dir / "config.yaml")
    model = classifier_class(run_dir / "model", cfg.pooling).from_pretrained(run_dir / "model")
    found = tuple(model.config.id2label[index] for index in range(model.config.num_labels))
    if found != LABELS:
        raise ValueError(f"expected a model with labels {list(LABELS)}, found {list(found)} in {run_dir}")
    tokenizer = AutoTokenizer.from_pretrained(run_dir / "model")
    model.to(resolve_device(device)).eval()
    return TrainedRun(path=run_dir, model=model, tokenizer=tokenizer, config=cfg)
