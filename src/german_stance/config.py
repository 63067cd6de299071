"""One typed config: YAML file first, then ``--key=value`` overrides.

Usage: ``cfg = load_config("configs/stance.yaml", ["--num_epochs=2"])``
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import yaml

from .tasks import STANCE, get_tasks

# Stance labels, kept here for old imports; every label set is defined in tasks.py.
LABELS: tuple[str, ...] = STANCE.labels


@dataclass
class Config:
    """Everything a training run depends on; saved as ``config.yaml`` in each run folder."""

    # tasks: one shared encoder, one head per task (tasks.py); the loss is the weighted sum over tasks
    tasks: list[str] = field(default_factory=lambda: ["stance"])
    task_weights: list[float] = field(default_factory=list)  # one weight per task; empty = all 1.0
    # model
    model_name: str = "offline:multilingual-e5-small"
    max_length: int = 128
    freeze_embeddings: bool = True
    freeze_layers: int = 0  # the bottom N encoder layers stay fixed (no backward pass through them: faster)
    pooling: str = "mean"  # "mean" over tokens (how e5 was trained; BERT backbones) or "cls" (any backbone)
    use_context: bool = False
    task_poolers: bool = False  # with several tasks: a dense + tanh projection per task instead of a shared one
    detached_tasks: list[str] = field(default_factory=list)  # tasks whose loss does not reach the shared encoder
    # rewrite 40% of training sentences with Pyongyang/"…" style spellings (see data.vary_spelling)
    spelling_variants: bool = True
    # optimisation
    batch_size: int = 16
    eval_batch_size: int = 64
    # optimizer step every N batches: effective batch = batch_size x processes x gradient_accumulation_steps
    gradient_accumulation_steps: int = 1
    learning_rate: float = 4e-5
    num_epochs: float = 4.0
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    class_weighted_loss: bool = True
    label_smoothing: float = 0.0
    # distillation: learn from the mean probabilities of these runs (e.g. a seed ensemble) besides the gold labels
    teacher_runs: list[str] = field(default_factory=list)
    distill_weight: float = 0.5  # share of the loss that follows the teachers (the rest follows the gold labels)
    # fit a temperature per task on dev and apply it at prediction time unless it worsens dev calibration
    calibrate: bool = True
    # blend a TF-IDF + logistic regression per task into the probabilities: (1 - w) x encoder + w x lexical (0 = off)
    lexical_weight: float = 0.0
    seed: int = 42
    # hardware
    device: str = "auto"
    mixed_precision: bool = True
    # data
    train_file: str = "data/train.jsonl"
    dev_file: str = "data/dev.jsonl"
    max_train_samples: int = 0
    max_dev_samples: int = 0
    # output
    output_dir: str = "runs"
    run_name: str = "default"
    logging_steps: int = 20
    # epoch checkpoints kept while training, for --resume (plus the best epoch when it is older); removed at the end
    keep_checkpoints: int = 1

    def __post_init__(self) -> None:
        """Reject values that would fail later, quoting the bad value."""
        checks = [
            (self.freeze_layers >= 0, f"freeze_layers must be >= 0 (0 = train every layer), got {self.freeze_layers}"),
            (self.max_length >= 8, f"max_length must be >= 8, got {self.max_length}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.eval_batch_size >= 1, f"eval_batch_size must be >= 1, got {self.eval_batch_size}"),
            (self.gradient_accumulation_steps >= 1,
             f"gradient_accumulation_steps must be >= 1, got {self.gradient_accumulation_steps}"),
            (self.keep_checkpoints >= 1, f"keep_checkpoints must be >= 1, got {self.keep_checkpoints}"),
            (self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}"),
            (self.num_epochs > 0, f"num_epochs must be > 0, got {self.num_epochs}"),
            (0 <= self.warmup_ratio <= 1, f"warmup_ratio must be in [0, 1], got {self.warmup_ratio}"),
            (self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}"),
            (self.device in ("auto", "cpu", "cuda", "mps") or self.device.startswith("cuda:"),
             f"device must be auto, cpu, cuda, cuda:N or mps, got {self.device!r}"),
            (self.max_train_samples >= 0, f"max_train_samples must be >= 0 (0 = all), got {self.max_train_samples}"),
            (self.max_dev_samples >= 0, f"max_dev_samples must be >= 0 (0 = all), got {self.max_dev_samples}"),
            (bool(self.run_name) and "/" not in self.run_name,
             f"run_name must be a non-empty folder name without '/', got {self.run_name!r}"),
            (self.pooling in ("mean", "cls"), f"pooling must be mean or cls, got {self.pooling!r}"),
            (self.logging_steps >= 1, f"logging_steps must be >= 1, got {self.logging_steps}"),
            (0 <= self.label_smoothing < 1, f"label_smoothing must be in [0, 1), got {self.label_smoothing}"),
            (0 <= self.lexical_weight < 1, f"lexical_weight must be in [0, 1) (0 = encoder only), got {self.lexical_weight}"),
            (0 <= self.distill_weight <= 1, f"distill_weight must be in [0, 1], got {self.distill_weight}"),
            (not self.task_weights or len(self.task_weights) == len(self.tasks),
             f"task_weights must give one weight per task {self.tasks}, got {self.task_weights}"),
            (all(weight >= 0 for weight in self.task_weights), f"task_weights must be >= 0, got {self.task_weights}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        get_tasks(self.tasks)  # raises on unknown task names
        if self.detached_tasks and (not self.task_poolers or not set(self.detached_tasks) < set(self.tasks)):
            raise ValueError(f"detached_tasks must name some (not all) of the tasks {self.tasks} and needs "
                             f"task_poolers=true, got {self.detached_tasks} with task_poolers={self.task_poolers}")

    @property
    def run_dir(self) -> Path:
        """Folder this run writes to."""
        return Path(self.output_dir) / self.run_name

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for YAML/JSON."""
        return dataclasses.asdict(self)


def _cast(name: str, value: Any, kind: type) -> Any:
    """Cast one raw value (from YAML or the command line) to its field's type."""
    # PyYAML reads 3e-5 as a string and the command line gives strings only, so cast explicitly.
    if get_origin(kind) is list:
        # YAML gives a list; the command line gives "stance,sentiment".
        items = value if isinstance(value, list) else [part for part in str(value).split(",") if part.strip()]
        return [_cast(name, item, get_args(kind)[0]) for item in items]
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "1", "yes", "on"):
                return True
            if text in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(float(value)) if isinstance(value, str) and "e" in value.lower() else int(value)
        if kind is float:
            return float(value)
        return str(value).strip()
    except (TypeError, ValueError):
        raise ValueError(f"{name} expects a {kind.__name__}, got {value!r}; fix the value in the config or flag") from None


def _check_keys(raw: dict[str, Any], where: str) -> None:
    """Raise on unknown keys, naming the nearest valid key."""
    valid = [field.name for field in fields(Config)]
    for key in raw:
        if key not in valid:
            nearest = difflib.get_close_matches(key, valid, n=1)
            hint = f"; did you mean {nearest[0]!r}?" if nearest else f"; valid keys: {', '.join(valid)}"
            raise ValueError(f"unknown config key {key!r} in {where}{hint}")


def parse_overrides(overrides: list[str]) -> dict[str, str]:
    """Turn ``["--key=value", ...]`` into a dict."""
    parsed: dict[str, str] = {}
    for item in overrides:
        if not item.startswith("--") or "=" not in item:
            raise ValueError(f"expected overrides of the form --key=value, got {item!r}")
        key, value = item[2:].split("=", 1)
        parsed[key.replace("-", "_")] = value
    return parsed


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Read a YAML config (optional), apply ``--key=value`` overrides, cast and validate."""
    raw: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"expected a YAML config at {path}, found no file; see configs/ for examples")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            where = getattr(error, "problem_mark", None)
            line = f" (line {where.line + 1})" if where is not None else ""
            raise ValueError(f"expected a YAML mapping of key: value in {path}, found text that is not valid YAML"
                             f"{line}; fix it (see configs/ for examples)") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"expected a mapping of key: value in {path}, found {type(loaded).__name__}")
        _check_keys(loaded, str(path))
        raw.update(loaded)
    flags = parse_overrides(overrides or [])
    _check_keys(flags, "the command line")
    raw.update(flags)
    hints = get_type_hints(Config)
    return Config(**{key: _cast(key, value, hints[key]) for key, value in raw.items()})


def save_config(cfg: Config, path: Path) -> None:
    """Write the resolved config as YAML."""
    path.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")
