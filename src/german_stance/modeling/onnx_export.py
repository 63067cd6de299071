"""Export a trained model to ONNX (every task's logits, dynamic batch and sequence axes) and check the graph.

Usage: ``export_onnx(run.model, Path("model.fp32.onnx"), ["input_ids", "attention_mask"])``
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

logger = logging.getLogger(__name__)
OPSET = 17
OUTPUT = "all_logits"
INPUT_ORDER = ("input_ids", "attention_mask", "token_type_ids")  # AllLogits.forward's positional order
# Shapes the exported graph must handle: exporters can silently bake the example's batch or length in.
CHECK_SHAPES = ((1, 3), (2, 7), (5, 19), (16, 64), (3, 128))


class AllLogits(torch.nn.Module):
    """The model with one output: every task's logits side by side (what ``Backend.logits`` returns)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """``(batch, sum of label counts)`` logits."""
        return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).all_logits


def vocab_size(model: Any) -> int:
    """Rows of the word-embedding matrix (the config's number can disagree with the saved weights)."""
    return int(model.get_input_embeddings().weight.shape[0])


def example_inputs(input_names: Sequence[str], batch: int, length: int, vocab_size: int,
                   seed: int = 0) -> dict[str, np.ndarray]:
    """Random ids with ragged attention masks (the last row full), as int64 arrays."""
    generator = np.random.default_rng(seed)
    ids = generator.integers(0, vocab_size, size=(batch, length), dtype=np.int64)
    lengths = generator.integers(1, length + 1, size=batch)
    lengths[-1] = length
    mask = (np.arange(length)[None, :] < lengths[:, None]).astype(np.int64)
    inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    return {name: inputs[name] for name in input_names}


def export_onnx(model: Any, path: Path, input_names: Sequence[str]) -> Path:
    """Write ``model`` as ONNX with dynamic batch and sequence axes; eager attention, TorchScript exporter."""
    if list(input_names) != [name for name in INPUT_ORDER if name in input_names]:
        raise ValueError(f"expected input names in the order {INPUT_ORDER}, found {list(input_names)}")
    model = model.cpu().eval()
    # Eager attention exports as plain MatMul/Softmax, the pattern ONNX Runtime's BERT fusions recognise;
    # the TorchScript exporter (dynamo=False) keeps the dynamic axes as named symbols.
    model.set_attn_implementation("eager")
    inputs = example_inputs(input_names, 2, 11, vocab_size(model))
    axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    axes[OUTPUT] = {0: "batch"}
    with torch.inference_mode():
        torch.onnx.export(AllLogits(model), tuple(torch.from_numpy(inputs[name]) for name in input_names),
                          str(path), input_names=list(input_names), output_names=[OUTPUT], dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False, do_constant_folding=True)
    return path


def torch_logits(model: Any, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The torch model's ``all_logits`` for numpy inputs."""
    with torch.inference_mode():
        tensors = {name: torch.from_numpy(value) for name, value in inputs.items()}
        return model.cpu().eval()(**tensors).all_logits.float().numpy()


def check_shapes(model: Any, path: Path, input_names: Sequence[str], tolerance: float = 1e-4) -> float:
    """Largest |ONNX - torch| logit difference over ``CHECK_SHAPES``; raises above ``tolerance``."""
    from .backends import OnnxBackend

    backend = OnnxBackend(path)
    worst = 0.0
    for batch, length in CHECK_SHAPES:
        inputs = example_inputs(input_names, batch, length, vocab_size(model), seed=batch * 1000 + length)
        found = backend.logits(inputs)
        expected = torch_logits(model, inputs)
        if found.shape != expected.shape:
            raise ValueError(f"expected ONNX logits of shape {expected.shape} for input {batch}x{length}, found "
                             f"{found.shape}; the exporter fixed an axis: export again with dynamic axes")
        worst = max(worst, float(np.abs(found - expected).max()))
    if worst > tolerance:
        raise ValueError(f"expected ONNX logits within {tolerance} of torch on shapes {CHECK_SHAPES}, found a "
                         f"difference of {worst:.2e}; the exported graph is wrong for some shapes")
    return worst


def optimize_onnx(source: Path, target: Path, num_heads: int, hidden_size: int) -> Path:
    """ONNX Runtime's BERT graph fusions (attention, GELU, LayerNorm, bias), written offline to ``target``.

    The embedding layer is left unfused, so its word matrix stays a plain initializer that a Gather reads
    (the quantization step stores it in half precision).
    """
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.enable_embed_layer_norm = False
    optimized = optimize_model(str(source), model_type="bert", num_heads=num_heads, hidden_size=hidden_size,
                               optimization_options=options, opt_level=1)
    logger.info("fused operators: %s", optimized.get_fused_operator_statistics())
    optimized.save_model_to_file(str(target))
    return target


def trim_embeddings(model: Any, keep: np.ndarray) -> Any:
    """Keep only the word-embedding rows ``keep`` (in that order), in place; returns the model."""
    old = model.get_input_embeddings()
    rows = torch.from_numpy(keep).to(old.weight.device)
    new = torch.nn.Embedding(len(keep), old.weight.shape[1])
    new.weight.data.copy_(old.weight.data[rows])
    model.set_input_embeddings(new)
    model.config.vocab_size = len(keep)
    return model
