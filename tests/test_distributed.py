"""torchrun with two CPU processes (gloo) on the tiny BERT: the run folder is complete and written once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from german_stance.config import load_config, save_config
from german_stance.training.distributed import ddp_backend

from conftest import REPO


def test_backend_follows_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setenv("WORLD_SIZE", "1")
    assert ddp_backend(torch.device("cpu")) is None
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert ddp_backend(torch.device("cpu")) == "gloo"
    assert ddp_backend(torch.device("cuda")) == "nccl"


@pytest.mark.slow
def test_torchrun_two_cpu_processes_write_the_run_once(tiny_config, tmp_path: Path) -> None:
    cfg = replace(tiny_config, num_epochs=2, batch_size=2, gradient_accumulation_steps=2, device="cpu")
    config, record = tmp_path / "tiny.yaml", tmp_path / "writes.log"
    save_config(cfg, config)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(REPO / "tests" / "ddp_entry.py"), str(record), "train", "--config", str(config)],
        capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert record.read_text().splitlines() == ["rank 0 of 2"]  # written by the main process, once
    run_dir = cfg.run_dir
    for name in ("model/config.json", "model/model.safetensors", "model/tokenizer.json", "config.yaml",
                 "label_map.json", "metrics.json", "calibration.json"):
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "checkpoints").exists()
    assert load_config(run_dir / "config.yaml") == cfg
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["processes"] == 2
    assert [entry["epoch"] for entry in metrics["history"]] == [1.0, 2.0]
    # 12 sentences, 2 per process, 2 processes, 2 accumulation steps: an effective batch of 8.
    assert "effective batch 8 = 2 per process x 2 x 2 accumulation steps" in result.stderr
    # Only the main process logs: one line per epoch, one final line.
    assert result.stderr.count("epoch 1.0 | train loss") == 1
    assert result.stderr.count(f"-> {run_dir}") == 1
