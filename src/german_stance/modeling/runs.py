"""A trained run folder read without torch: its config, tasks and calibration (the model is loaded elsewhere).

The ONNX path of ``predict`` needs only these and a tokenizer file, so nothing here imports torch or
transformers. Usage: ``info = read_run("runs/default")`` -> ``info.tasks``, ``info.temperature("stance")``
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config, load_config
from ..tasks import STANCE, Task, task_from_dict

MODEL_TYPE = "german_stance_bert"  # GermanStanceConfig.model_type; older stance-only runs have "bert"


@dataclass
class TrainedRun:
    """A trained run folder, loaded for evaluation or prediction (``model`` is None on the ONNX path)."""

    path: Path
    model: Any
    tokenizer: Any
    config: Config
    tasks: tuple[Task, ...]
    calibration: dict[str, Any] = field(default_factory=dict)  # task -> {"temperature", "applied", ...}
    legacy: bool = False  # trained before sentiment existed: stance head only
    lexical: Any = None  # the TF-IDF half blended into the probabilities (modeling/lexical.py), if the run has one

    def temperature(self, task: str) -> float:
        """The temperature to apply for ``task`` (1.0 when none was fitted or it was not applied)."""
        entry = self.calibration.get(task) or {}
        return float(entry["temperature"]) if entry.get("applied") else 1.0


def read_json(path: Path) -> Any:
    """Read a JSON file of a run folder, with an error that names the file."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"expected valid JSON in {path}, found a damaged file ({error}); copy the run folder "
                         "again or retrain it") from None


def read_json_object(path: Path) -> dict[str, Any]:
    """``read_json`` for a file that must hold a JSON object."""
    value = read_json(path)
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object in {path}, found {type(value).__name__}; copy the run folder "
                         "again or retrain it")
    return value


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


def read_tasks(model_config: dict[str, Any]) -> tuple[tuple[Task, ...], bool]:
    """The tasks of a saved model config, and whether it is a legacy stance-only run."""
    if model_config.get("model_type") == MODEL_TYPE:
        return tuple(task_from_dict(task) for task in model_config["tasks"]), False
    id2label = model_config.get("id2label") or dict(enumerate(STANCE.labels))
    labels = [id2label[str(index)] if str(index) in id2label else id2label[index] for index in range(len(id2label))]
    return (task_from_dict({"name": "stance", "labels": labels}),), True


def read_run(run_dir: str | Path, tokenizer: Any = None, model: Any = None) -> TrainedRun:
    """Config, tasks and calibration of a run folder, without loading its weights."""
    run_dir = check_run_dir(run_dir)
    tasks, legacy = read_tasks(read_json_object(run_dir / "model" / "config.json"))
    calibration_file = run_dir / "calibration.json"
    calibration = read_json_object(calibration_file) if calibration_file.is_file() else {}
    from .lexical import load_lexical

    config = load_config(run_dir / "config.yaml")
    # A run trained with a lexical half must not silently predict without it when its files went missing.
    lexical = load_lexical(run_dir, tasks, required=config.lexical_weight > 0)
    return TrainedRun(path=run_dir, model=model, tokenizer=tokenizer, config=config, tasks=tasks,
                      calibration=calibration, legacy=legacy, lexical=lexical)
