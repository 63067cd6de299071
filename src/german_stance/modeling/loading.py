"""Load backbones for training and trained runs for use; pick the device; save model folders.

Usage: ``model, tokenizer = load_backbone(cfg)`` for training, ``load_run("runs/default")`` for use.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..config import Config
from ..tasks import Task, get_tasks
from .backbone import OFFLINE_BACKBONE, ensure_offline_backbone
from .heads import GermanStanceConfig, GermanStanceModel
from .runs import TrainedRun, check_run_dir, read_run

__all__ = ["TrainedRun", "check_run_dir", "load_backbone", "load_run", "resolve_device", "save_model_folder"]
logger = logging.getLogger(__name__)
REMOTE_CODE_NAME = "modeling_german_stance"


def register_auto_classes() -> None:
    """Let ``AutoConfig``/``AutoModelForSequenceClassification`` know our head inside this package."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    try:
        AutoConfig.register(GermanStanceConfig.model_type, GermanStanceConfig)
        AutoModelForSequenceClassification.register(GermanStanceConfig, GermanStanceModel)
    except ValueError:  # already registered
        pass


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


def head_config(path: str | Path, tasks: Sequence[Task], pooling: str, task_poolers: bool = False,
                detached_tasks: Sequence[str] = ()) -> GermanStanceConfig:
    """Our config for a BERT backbone folder or Hub id, with one head per task."""
    from transformers import AutoConfig

    backbone = AutoConfig.from_pretrained(path)
    if backbone.model_type != "bert":
        raise ValueError(f"expected a BERT-architecture backbone, found model type {backbone.model_type!r} in "
                         f"{path}; use a BERT checkpoint (e5, gbert, bert-base-german-cased)")
    values = {key: value for key, value in backbone.to_dict().items()
              if key not in ("model_type", "architectures", "id2label", "label2id", "num_labels", "transformers_version")}
    return GermanStanceConfig(tasks=[{"name": task.name, "labels": list(task.labels)} for task in tasks],
                              pooling=pooling, task_poolers=task_poolers and len(tasks) > 1,
                              detached_tasks=list(detached_tasks), **values)


def load_backbone(cfg: Config) -> tuple[GermanStanceModel, Any]:
    """Tokenizer and a fresh multi-task classifier on the configured backbone."""
    from transformers import AutoTokenizer

    path = resolve_model_path(cfg.model_name)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = GermanStanceModel.from_pretrained(
        path, config=head_config(path, get_tasks(cfg.tasks), cfg.pooling, cfg.task_poolers, cfg.detached_tasks))
    model.init_task_poolers()
    if cfg.freeze_embeddings:
        freeze_word_embeddings(model)
    if cfg.freeze_layers:
        freeze_lower_layers(model, cfg.freeze_layers)
    return model, tokenizer


def freeze_word_embeddings(model: torch.nn.Module) -> int:
    """Freeze the word-embedding matrix (most of a multilingual model's weights); return its size."""
    # 96M of e5-small's 118M parameters sit in this matrix; freezing it made training 1.3x faster with
    # scores within noise (README, Results), and keeps the multilingual vocabulary from drifting.
    embeddings = model.get_input_embeddings()
    embeddings.weight.requires_grad_(False)
    return embeddings.weight.numel()


def freeze_lower_layers(model: GermanStanceModel, count: int) -> int:
    """Freeze the embeddings and the bottom ``count`` encoder layers; return the number of frozen parameters."""
    # Nothing below the lowest trainable layer needs gradients, so autograd skips the backward pass there:
    # each frozen layer saves about two thirds of its training compute.
    layers = model.bert.encoder.layer
    if count > len(layers):
        raise ValueError(f"expected freeze_layers <= {len(layers)} (the backbone's encoder layers), got {count}; "
                         "lower freeze_layers in the config")
    frozen = [*model.bert.embeddings.parameters(), *(p for layer in layers[:count] for p in layer.parameters())]
    for parameter in frozen:
        parameter.requires_grad_(False)
    return sum(parameter.numel() for parameter in frozen)


def save_model_folder(model: GermanStanceModel, tokenizer: Any, folder: Path) -> None:
    """``save_pretrained`` plus this head's code, so transformers can load it with ``trust_remote_code``."""
    model.config.auto_map = {"AutoConfig": f"{REMOTE_CODE_NAME}.GermanStanceConfig",
                             "AutoModelForSequenceClassification": f"{REMOTE_CODE_NAME}.GermanStanceModel"}
    model.config.architectures = ["GermanStanceModel"]
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    shutil.copyfile(Path(__file__).with_name("heads.py"), folder / f"{REMOTE_CODE_NAME}.py")


# A tokenizer needs its config and one vocabulary file; without them transformers may build an empty
# tokenizer that maps every word to [UNK], and every sentence then gets the same label.
TOKENIZER_VOCABULARIES = ("tokenizer.json", "vocab.txt", "sentencepiece.bpe.model", "tokenizer.model", "spiece.model")


def check_model_files(run_dir: Path) -> None:
    """Raise a clear error unless the run's ``model/`` holds safetensors weights and a complete tokenizer."""
    folder = run_dir / "model"
    if not any((folder / name).is_file() for name in ("model.safetensors", "model.safetensors.index.json")):
        pickled = [name for name in ("pytorch_model.bin", "model.pt", "model.bin") if (folder / name).exists()]
        found = (f"only {pickled[0]} (a pickle file, which is never loaded: it can run code)" if pickled
                 else "no weights file")
        if (run_dir / "onnx" / "export.json").is_file() and not pickled:
            raise FileNotFoundError(f"expected the torch weights in {folder / 'model.safetensors'}, found an ONNX "
                                    "model only (a bundle); use --backend onnx (or auto), or the full run folder")
        raise FileNotFoundError(f"expected the weights in {folder / 'model.safetensors'}, found {found}; copy the "
                                "run folder again or retrain it")
    vocabulary = [name for name in TOKENIZER_VOCABULARIES if (folder / name).is_file()]
    if not (folder / "tokenizer_config.json").is_file() or not vocabulary:
        absent = "tokenizer_config.json" if vocabulary else f"vocabulary ({' or '.join(TOKENIZER_VOCABULARIES[:2])})"
        raise FileNotFoundError(f"expected the tokenizer files in {folder}, found no {absent}; copy the whole run "
                                "folder again (model/ holds the tokenizer) or retrain it")


def load_weights(folder: Path) -> GermanStanceModel:
    """``from_pretrained`` that refuses damaged or incomplete weights with an error naming the file."""
    weights = folder / "model.safetensors"
    try:
        model, info = GermanStanceModel.from_pretrained(folder, output_loading_info=True)
    except (OSError, RuntimeError, ValueError, KeyError) as error:
        raise ValueError(f"expected loadable weights in {weights}, found a damaged file "
                         f"({type(error).__name__}: {' '.join(str(error).split())[:160]}); copy the run folder "
                         "again or retrain it") from None
    except Exception as error:  # safetensors raises its own SafetensorError for a truncated header
        if type(error).__name__ != "SafetensorError":
            raise
        raise ValueError(f"expected loadable weights in {weights}, found a damaged file ({error}); copy the run "
                         "folder again or retrain it") from None
    # Missing weights would be initialised at random without a word: the labels would be noise.
    missing = [key for key in info["missing_keys"] if not key.endswith("position_ids")]
    if missing or info["mismatched_keys"]:
        broken = sorted(missing)[:3] or sorted(str(key) for key in info["mismatched_keys"])[:3]
        raise ValueError(f"expected every weight of the model in {weights}, found {broken} missing or of the "
                         "wrong shape; copy the run folder again or retrain it")
    return model


def check_tokenizer(tokenizer: Any, model: GermanStanceModel, folder: Path) -> None:
    """Refuse a tokenizer that does not belong to the model (ids out of range, or a near-empty vocabulary)."""
    size, expected = len(tokenizer), model.config.vocab_size
    if size > expected or size < expected // 2:
        raise ValueError(f"expected a tokenizer of about {expected} tokens in {folder} (the model's vocabulary), "
                         f"found {size}; the tokenizer files belong to another model: copy the run folder again")


def load_legacy_model(folder: Path, pooling: str) -> GermanStanceModel:
    """A stance-only run from before the task heads (``classifier.*`` weights) as a ``GermanStanceModel``."""
    from safetensors.torch import load_file

    raw = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    labels = [raw["id2label"][str(index)] for index in range(len(raw["id2label"]))]
    values = {key: value for key, value in raw.items()
              if key not in ("model_type", "architectures", "id2label", "label2id", "transformers_version")}
    config = GermanStanceConfig(tasks=[{"name": "stance", "labels": labels}], pooling=pooling, **values)
    state = load_file(str(folder / "model.safetensors"))
    state = {("heads.stance." + key[len("classifier."):]) if key.startswith("classifier.") else key: value
             for key, value in state.items()}
    model = GermanStanceModel(config)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [key for key in missing if not key.endswith("position_ids")]
    if missing or unexpected:
        raise ValueError(f"expected the weights of a stance classifier in {folder}, found missing {missing[:3]} "
                         f"and unexpected {unexpected[:3]}; retrain the run with this version")
    return model


def load_run(run_dir: str | Path, device: str = "auto") -> TrainedRun:
    """Load the model, tokenizer, config, tasks and calibration of a trained run."""
    from transformers import AutoTokenizer

    run = read_run(run_dir)
    register_auto_classes()  # our head is local code: transformers then loads it without asking for remote code
    folder = run.path / "model"
    check_model_files(run.path)
    if run.legacy:
        logger.warning("%s was trained before sentiment heads existed: it predicts stance only", run.path)
    run.model = load_legacy_model(folder, run.config.pooling) if run.legacy else load_weights(folder)
    try:
        run.tokenizer = AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(f"expected a readable tokenizer in {folder}, found a broken one ({type(error).__name__}); "
                         "copy the run folder again or retrain it") from None
    check_tokenizer(run.tokenizer, run.model, folder)
    run.model.to(resolve_device(device)).eval()
    return run
