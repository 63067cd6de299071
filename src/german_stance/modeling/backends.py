"""Inference backends: one ``logits(batch)`` method over padded numpy arrays, whatever runs underneath.

The classifier object only calls ``backend.logits``; a backend returns every task's logits side by side,
in the model's task order. ``OnnxBackend`` imports no torch, so the ONNX path starts fast. Usage:
``TorchBackend(run.model).logits({"input_ids": ..., "attention_mask": ...})`` or ``OnnxBackend(path).logits(...)``
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class Backend(Protocol):
    """What the classifier object needs from a backend."""

    name: str
    description: str

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """Logits ``(batch, sum of label counts)`` for one padded batch."""


class TorchBackend:
    """The PyTorch model of a run, in eval mode, on its device."""

    name = "torch"

    def __init__(self, model: Any) -> None:
        self.model = model.eval()

    @property
    def description(self) -> str:
        """What reports print: the backend and, for ONNX, the model file."""
        return "torch"

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """One forward pass without gradients; float32 logits on the CPU."""
        import torch

        device = next(self.model.parameters()).device
        with torch.inference_mode():
            inputs = {key: torch.from_numpy(batch[key]).to(device) for key in MODEL_INPUTS if key in batch}
            return self.model(**inputs).all_logits.float().cpu().numpy()


def allowed_cpus() -> int:
    """CPUs this process may run on when fewer than the machine has (taskset, containers), else 0.

    0 lets ONNX Runtime take one thread per physical core; it does not look at the affinity mask, so on a
    process confined to one core its two threads would share that core (2.3x slower in our benchmark).
    """
    import os

    try:
        allowed = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS and Windows have no affinity call
        return 0
    return allowed if allowed < (os.cpu_count() or allowed) else 0


class OnnxBackend:
    """An exported ONNX model run by ONNX Runtime on the CPU; imports no torch."""

    name = "onnx"

    def __init__(self, path: str | Path, threads: int = 0) -> None:
        try:
            import onnxruntime
        except ImportError as error:
            raise ImportError("expected onnxruntime for the ONNX backend, found it missing; install it with "
                              "`pip install 'german-stance[onnx]'` or use --backend torch") from error
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or allowed_cpus()
        self.path = Path(path)
        self.session = onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.inputs = [item.name for item in self.session.get_inputs()]

    @property
    def description(self) -> str:
        """What reports print: the backend and the model file (``model.int8.onnx`` or ``model.fp32.onnx``)."""
        return f"onnx ({self.path.name})"

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """One forward pass; a graph input that the batch lacks (token types) is zeros, as in BERT."""
        feed = {name: batch[name] if name in batch else np.zeros_like(batch["input_ids"]) for name in self.inputs}
        return self.session.run(None, feed)[0]
