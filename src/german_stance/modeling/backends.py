"""Inference backends: one ``logits(batch)`` method over padded numpy arrays, whatever runs underneath.

The classifier object only calls ``backend.logits``; a backend returns every task's logits side by side,
in the model's task order. Usage: ``TorchBackend(run.model).logits({"input_ids": ..., "attention_mask": ...})``
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class Backend(Protocol):
    """What the classifier object needs from a backend."""

    name: str

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """Logits ``(batch, sum of label counts)`` for one padded batch."""


class TorchBackend:
    """The PyTorch model of a run, in eval mode, on its device."""

    name = "torch"

    def __init__(self, model: Any) -> None:
        self.model = model.eval()

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """One forward pass without gradients; float32 logits on the CPU."""
        import torch

        device = next(self.model.parameters()).device
        with torch.inference_mode():
            inputs = {key: torch.from_numpy(batch[key]).to(device) for key in MODEL_INPUTS if key in batch}
            return self.model(**inputs).all_logits.float().cpu().numpy()
