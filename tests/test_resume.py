"""Resumable training: epoch checkpoints, --resume after a crash ends like an uninterrupted run, config checks."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from safetensors.numpy import load_file
from transformers import TrainerCallback

from german_stance.cli import main
from german_stance.config import save_config
from german_stance.training.checkpoints import checkpoint_folders
from german_stance.training.trainer import train


class Crash(RuntimeError):
    """The simulated interruption."""


class CrashAfterSaves(TrainerCallback):
    """Raise right after the n-th epoch checkpoint is written, as a killed job would stop."""

    def __init__(self, saves: int) -> None:
        self.saves, self.seen = saves, 0

    def on_save(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003, ANN201 - Trainer signature
        self.seen += 1
        if self.seen == self.saves:
            raise Crash(f"simulated crash after checkpoint {self.seen}")


class CountSteps(TrainerCallback):
    """Count the optimizer steps this process trains."""

    def __init__(self) -> None:
        self.steps = 0

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003, ANN201 - Trainer signature
        self.steps += 1


def outcome(run_dir: Path) -> dict:
    """Metrics without the wall-clock time, calibration, and the weights of the kept model."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics.pop("train_seconds")
    return {"metrics": metrics, "calibration": json.loads((run_dir / "calibration.json").read_text()),
            "weights": load_file(run_dir / "model" / "model.safetensors")}


@pytest.fixture
def three_epochs(tiny_config):
    """The tiny config over three epochs, so that a resume has more than one epoch left to train."""
    return replace(tiny_config, num_epochs=3, tasks=["stance", "sentiment"])


def test_resumed_run_ends_like_an_uninterrupted_one(three_epochs) -> None:
    whole = outcome(train(replace(three_epochs, run_name="whole")))
    interrupted = replace(three_epochs, run_name="interrupted")
    with pytest.raises(Crash):
        train(interrupted, callbacks=[CrashAfterSaves(1)])
    checkpoints = interrupted.run_dir / "checkpoints"
    assert [path.name for path in checkpoint_folders(checkpoints)] == ["checkpoint-3"]
    assert not (interrupted.run_dir / "model").exists()
    counter = CountSteps()
    resumed = outcome(train(interrupted, resume=True, callbacks=[counter]))
    assert counter.steps == 6  # epochs 2 and 3 only (12 sentences / batch 4 = 3 steps per epoch)
    assert not checkpoints.exists()  # a finished run drops its checkpoints
    assert resumed["metrics"] == whole["metrics"]
    assert len(resumed["metrics"]["history"]) == 3
    assert resumed["calibration"] == whole["calibration"]
    assert resumed["weights"].keys() == whole["weights"].keys()
    for name, values in whole["weights"].items():
        assert (resumed["weights"][name] == values).all(), name


def test_checkpoints_are_bounded_and_a_crashed_run_is_not_restarted_silently(three_epochs) -> None:
    cfg = replace(three_epochs, keep_checkpoints=1, run_name="bounded")
    with pytest.raises(Crash):
        train(cfg, callbacks=[CrashAfterSaves(3)])
    # At most keep_checkpoints, plus the best epoch when it is an older one.
    assert 1 <= len(checkpoint_folders(cfg.run_dir / "checkpoints")) <= 2
    with pytest.raises(FileExistsError, match="pass --resume to continue it or --overwrite"):
        train(cfg)


def test_resume_refuses_a_changed_config_naming_the_keys(tiny_config) -> None:
    with pytest.raises(Crash):
        train(tiny_config, callbacks=[CrashAfterSaves(1)])
    changed = replace(tiny_config, learning_rate=5e-4, batch_size=2)
    with pytest.raises(ValueError, match=r"2 changed key\(s\): batch_size: 4 -> 2; learning_rate: 0.001 -> 0.0005"):
        train(changed, resume=True)
    assert not (tiny_config.run_dir / "model").exists()


def test_resume_without_checkpoints_and_on_a_finished_run(tiny_config, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="train without --resume"):
        train(tiny_config, resume=True)
    train(replace(tiny_config, num_epochs=1))
    config = tmp_path / "tiny.yaml"
    save_config(replace(tiny_config, num_epochs=1), config)
    assert main(["--quiet", "train", "--config", str(config), "--resume"]) == 2  # finished: nothing to resume
    assert main(["--quiet", "train", "--config", str(config), "--resume", "--overwrite"]) == 2
