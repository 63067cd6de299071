"""Process roles under torchrun: how many processes, which one is the main one, and which backend they talk over.

Usage: ``torchrun --nproc_per_node=2 -m german_stance train --config configs/tiny.yaml`` (see README, Scaling out).
"""

from __future__ import annotations

import os

import torch


def world_size() -> int:
    """Number of training processes (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def process_rank() -> int:
    """This process's global rank (0 without torchrun)."""
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """True on the one process that writes the run folder, logs and reports."""
    return process_rank() == 0


def ddp_backend(device: torch.device) -> str | None:
    """The collective backend: nccl between GPUs, gloo between CPU processes; none for a single process."""
    if world_size() == 1:
        return None
    return "nccl" if device.type == "cuda" else "gloo"
