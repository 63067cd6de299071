"""Int8 quantization recipes for an exported (and fused) ONNX model, and half-precision word embeddings.

Each recipe is data: which weights become int8 (per tensor or per output channel), which nodes stay in
float (the embedding lookup, the last encoder layers, parts of every layer, the pooler and heads), whether
activation outliers are first moved into the weights (SmoothQuant, with maxima from training sentences), and
how many of the most sensitive MatMuls get block-wise int8 instead. Activations are scaled per batch (dynamic
quantization): one scale for a whole activation tensor, which a few outlier channels (GELU and layer-norm
outputs of BERT) make coarse for everything else. The block-wise MatMuls (ONNX Runtime's ``MatMulNBits``, 8
bits, accuracy level 4) scale weights and activations per block of 32 input channels, so outliers only cost
their own block; which MatMuls those are is measured on training sentences (``activation_errors``), never on
dev or test. ``german-stance export`` tries ``DEFAULT_RECIPES`` in order (preferred first) and keeps the first
within the macro-F1 budget on dev; every other recipe can be tried with ``--recipe``. Usage:
``quantize(Path("model.fp32.onnx"), Path("model.int8.onnx"), RECIPES["dynamic-per-channel"])``
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

WORD_EMBEDDINGS = "word_embeddings"


@dataclass(frozen=True)
class Recipe:
    """One way to quantize: int8 weights, with some nodes kept in float."""

    name: str
    per_channel: bool = False
    reduce_range: bool = False  # 7-bit weights: no u8*s8 overflow on CPUs without VNNI, slightly coarser
    keep_embeddings: bool = False  # word embeddings in fp16 instead of per-tensor int8 (Gather not quantized)
    keep_layers: tuple[int, ...] = ()  # encoder layers left in fp32
    keep_roles: tuple[str, ...] = ()  # parts of every layer left in fp32: "attention", "ffn_in", "ffn_out"
    smooth: float = 0.0  # SmoothQuant alpha (0 = off): activation outliers moved into the weights first
    blockwise: int = 0  # this many MatMuls, most int8-sensitive first, get block-wise 8-bit (MatMulNBits)
    description: str = ""
    extra: dict = field(default_factory=dict)


BLOCKWISE_COUNTS = (8, 16, 24)  # block-wise MatMuls per recipe of the default ladder
RECIPES: dict[str, Recipe] = {recipe.name: recipe for recipe in (
    Recipe("dynamic", description="quantize_dynamic, QInt8 per tensor, everything (embedding lookup included)"),
    Recipe("dynamic-per-channel", per_channel=True, description="as above, one scale per output channel"),
    Recipe("dynamic-per-channel-fp16-embeddings", per_channel=True, keep_embeddings=True,
           description="per channel; word embeddings stored in fp16 instead of int8"),
    Recipe("dynamic-per-channel-reduce-range-fp16-embeddings", per_channel=True, reduce_range=True,
           keep_embeddings=True, description="7-bit weights per channel (safe on CPUs without VNNI)"),
    Recipe("smoothquant-dynamic-per-channel-fp16-embeddings", per_channel=True, keep_embeddings=True, smooth=0.5,
           description="SmoothQuant (alpha 0.5, maxima from 512 training sentences), then as above"),
    Recipe("dynamic-per-channel-fp16-embeddings-fp32-last2", per_channel=True, keep_embeddings=True,
           keep_layers=(10, 11), description="as above; the last two encoder layers stay fp32"),
    Recipe("dynamic-per-channel-fp16-embeddings-fp32-ffn-out", per_channel=True, keep_embeddings=True,
           keep_roles=("ffn_out",), description="as above; the FFN output projections (GELU outliers) stay fp32"),
    Recipe("dynamic-per-channel-fp16-embeddings-fp32-ffn-out-last2", per_channel=True, keep_embeddings=True,
           keep_roles=("ffn_out",), keep_layers=(10, 11),
           description="as above; the FFN output projections and the last two layers stay fp32"),
    Recipe("dynamic-per-channel-fp16-embeddings-fp32-attention", per_channel=True, keep_embeddings=True,
           keep_roles=("attention",), description="per channel, fp16 embeddings; attention stays fp32"),
    Recipe("dynamic-per-channel-fp16-embeddings-fp32-ffn-in", per_channel=True, keep_embeddings=True,
           keep_roles=("ffn_in",), description="per channel, fp16 embeddings; the FFN input projections stay fp32"),
    *(Recipe(f"dynamic-per-channel-fp16-embeddings-blockwise-{count}", per_channel=True, keep_embeddings=True,
             blockwise=count, description=f"per channel, fp16 embeddings; the {count} MatMuls with the largest "
             "int8 activation error on training sentences get block-wise 8-bit weights and activations")
      for count in BLOCKWISE_COUNTS),
)}
# What export tries by default, preferred (fastest) first: the first within the budget on dev is kept.
# Measured on the default run (benchmarks/results/onnx_export.md): per-tensor activations alone lose up to 1.4
# points on dev or test; 8 block-wise MatMuls bring every loss under 0.4 at +0.5 MB.
DEFAULT_RECIPES: tuple[str, ...] = tuple(f"dynamic-per-channel-fp16-embeddings-blockwise-{count}"
                                         for count in BLOCKWISE_COUNTS)
BLOCK_SIZE = 32
_LAYER = re.compile(r"layer\.(\d+)/")


def node_role(name: str, op_type: str) -> tuple[int | None, str]:
    """(encoder layer, role) of a node in the fused BERT graph: attention, ffn_in, ffn_out, head or other."""
    if op_type == "Attention":  # fused nodes are called Attention_<layer>
        return int(name.rsplit("_", 1)[1]), "attention"
    match = _LAYER.search(name)
    layer = int(match.group(1)) if match else None
    if "/attention/" in name:
        return layer, "attention"
    if "/intermediate/" in name:
        return layer, "ffn_in"
    if "/output/dense" in name:
        return layer, "ffn_out"
    if layer is None and op_type in ("MatMul", "Gemm"):
        return None, "head"  # the pooler and the task heads: tiny, and nearest to the labels
    return layer, "other"


def excluded_nodes(model: onnx.ModelProto, recipe: Recipe) -> list[str]:  # noqa: F821
    """Names of the nodes a recipe keeps in float."""
    excluded = []
    for node in model.graph.node:
        layer, role = node_role(node.name, node.op_type)
        if role == "head" or (recipe.keep_embeddings and node.op_type == "Gather") \
                or layer in recipe.keep_layers or role in recipe.keep_roles:
            excluded.append(node.name)
    return excluded


def quantize(source: Path, target: Path, recipe: Recipe, calibration: Iterable[dict[str, np.ndarray]] = (),
             errors: dict[str, float] | None = None) -> list[str]:
    """Write the int8 model of ``source`` to ``target`` following ``recipe``; returns the block-wise MatMuls.

    ``errors`` (from ``activation_errors`` on the same source) saves measuring them again for each recipe.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if recipe.smooth:
        source = smooth_activations(source, target.with_suffix(".smooth.onnx"), calibration, recipe.smooth)
    model = onnx.load(str(source))
    exclude = excluded_nodes(model, recipe)
    blockwise: list[str] = []
    if recipe.blockwise:
        errors = errors if errors is not None else activation_errors(source, calibration)
        ranked = sorted(errors, key=errors.get, reverse=True)
        matmuls = {node.name for node in model.graph.node if node.op_type == "MatMul"}
        blockwise = [name for name in ranked if name in matmuls and name not in exclude][:recipe.blockwise]
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=recipe.per_channel,
                     reduce_range=recipe.reduce_range, nodes_to_exclude=exclude + blockwise,
                     extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT,
                                    **recipe.extra})
    if blockwise:
        blockwise_int8(target, blockwise)
    if recipe.keep_embeddings:
        half_embeddings(target)
    if recipe.smooth:
        source.unlink()
    return blockwise


def blockwise_int8(path: Path, nodes: list[str]) -> Path:
    """Rewrite ``nodes`` (float MatMuls with constant weights) of ``path`` as 8-bit block-wise MatMulNBits.

    Accuracy level 4 makes ONNX Runtime quantize the activations to int8 per block too (int8 kernels), so these
    MatMuls stay fast; symmetric blocks of ``BLOCK_SIZE`` input channels keep outliers local.
    """
    import onnx
    from onnxruntime.quantization import matmul_nbits_quantizer as nbits

    model = onnx.load(str(path))
    config = nbits.DefaultWeightOnlyQuantConfig(block_size=BLOCK_SIZE, is_symmetric=True, accuracy_level=4, bits=8)
    quantizer = nbits.MatMulNBitsQuantizer(model, bits=8, block_size=BLOCK_SIZE, is_symmetric=True,
                                           accuracy_level=4, nodes_to_include=list(nodes), algo_config=config)
    # The quantizer logs every node it visits at INFO; keep the export's own log readable.
    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)
    quantizer.process()
    done = sum(node.op_type == "MatMulNBits" for node in quantizer.model.model.graph.node)
    if done != len(nodes):
        raise ValueError(f"expected {len(nodes)} MatMuls rewritten block-wise in {path}, found {done}; the graph "
                         "has MatMuls the quantizer cannot handle: try a recipe without block-wise nodes")
    quantizer.model.save_model_to_file(str(path), use_external_data_format=False)
    return path


def quantizable_nodes(model: onnx.ModelProto) -> list[onnx.NodeProto]:  # noqa: F821
    """MatMul and fused Attention nodes with a constant weight, outside the heads."""
    weights = {item.name for item in model.graph.initializer}
    return [node for node in model.graph.node if node.op_type in ("MatMul", "Attention") and len(node.input) > 1
            and node.input[1] in weights and node_role(node.name, node.op_type)[1] != "head"]


def activation_errors(source: Path, calibration: Iterable[dict[str, np.ndarray]]) -> dict[str, float]:
    """Relative error of each quantizable node's product when its input is int8 per tensor (as dynamic does).

    For node ``y = x @ W`` on calibration batches: ``|q(x) @ W - x @ W| / |x @ W|`` (Frobenius), averaged over
    batches, with ``q`` ONNX Runtime's dynamic uint8 rounding (one scale and zero point per tensor). The
    weights stay exact here: their per-channel int8 error is several times smaller and not what differs
    between nodes.
    """
    import onnx
    import onnxruntime
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    targets = quantizable_nodes(model)
    weights = {item.name: item for item in model.graph.initializer}
    names = list(dict.fromkeys(node.input[0] for node in targets))
    model.graph.output.extend(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None) for name in names)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    inputs = [item.name for item in session.get_inputs()]
    matrices = {node.name: numpy_helper.to_array(weights[node.input[1]]) for node in targets}
    totals: dict[str, list[float]] = {node.name: [] for node in targets}
    for batch in calibration:
        values = dict(zip(names, session.run(names, {name: batch[name] for name in inputs})))
        for node in targets:
            weight = matrices[node.name]
            activations = values[node.input[0]].reshape(-1, weight.shape[0])
            exact = activations @ weight
            totals[node.name].append(float(np.linalg.norm(uint8_round_trip(activations) @ weight - exact)
                                           / max(float(np.linalg.norm(exact)), 1e-12)))
    if not any(totals.values()):
        raise ValueError("expected calibration batches to measure activation errors on, found none")
    return {name: float(np.mean(values)) for name, values in totals.items()}


def uint8_round_trip(values: np.ndarray) -> np.ndarray:
    """``values`` quantized to uint8 with one scale and zero point (range widened to include 0), and back."""
    low, high = min(float(values.min()), 0.0), max(float(values.max()), 0.0)
    scale = (high - low) / 255.0 or 1.0
    zero_point = np.round(-low / scale)
    return (np.clip(np.round(values / scale) + zero_point, 0, 255) - zero_point) * scale


def half_embeddings(path: Path) -> Path:
    """Store the word-embedding matrix in fp16 with a Cast after its Gather: half the bytes, no int8 error."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    initializers = {item.name: item for item in graph.initializer}
    for node in list(graph.node):
        if node.op_type != "Gather" or WORD_EMBEDDINGS not in node.input[0] or node.input[0] not in initializers:
            continue
        weight = initializers[node.input[0]]
        half = numpy_helper.from_array(numpy_helper.to_array(weight).astype(np.float16), weight.name)
        weight.CopyFrom(half)
        gathered, original_output = node.output[0] + "_fp16", node.output[0]
        node.output[0] = gathered
        cast = helper.make_node("Cast", [gathered], [original_output], name=node.name + "_to_float",
                                to=onnx.TensorProto.FLOAT)
        graph.node.insert(list(graph.node).index(node) + 1, cast)
        # The shape annotation of the Gather output (if any) still says float: drop it, ORT re-infers.
        for info in list(graph.value_info):
            if info.name == original_output:
                graph.value_info.remove(info)
        onnx.save(model, str(path))
        return path
    raise ValueError(f"expected a Gather over the word embeddings in {path}, found none; "
                     "export again (the embedding layer must stay unfused)")


def smooth_activations(source: Path, target: Path, calibration: Iterable[dict[str, np.ndarray]],
                       alpha: float = 0.5) -> Path:
    """SmoothQuant: move activation outliers into the weights before int8, so per-batch ranges stay tight.

    For every quantizable MatMul/Attention with a constant weight ``W`` (input channels first), the per-channel
    maxima of its input ``x`` on calibration batches give scales ``s = max|x|^alpha / max|W|^(1-alpha)``; the
    graph computes ``(x / s) @ (s * W)``, the same product, with a cheap Mul in front. Layer-norm outputs of
    BERT carry a few channels 10-100x larger than the rest, which a per-tensor activation scale handles badly.
    """
    import onnx
    import onnxruntime
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    weights = {item.name: item for item in graph.initializer}
    targets = quantizable_nodes(model)
    probe = onnx.load(str(source))
    names = list(dict.fromkeys(node.input[0] for node in targets))
    probe.graph.output.extend(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None) for name in names)
    session = onnxruntime.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    inputs = [item.name for item in session.get_inputs()]
    maxima: dict[str, np.ndarray] = {}
    for batch in calibration:
        values = session.run(names, {name: batch[name] for name in inputs})
        for name, value in zip(names, values):
            channel = np.abs(value.reshape(-1, value.shape[-1])).max(axis=0)
            maxima[name] = np.maximum(maxima.get(name, channel), channel)
    for node in targets:
        weight = numpy_helper.to_array(weights[node.input[1]])
        scale = (maxima[node.input[0]] ** alpha / np.maximum(np.abs(weight).max(axis=1), 1e-5) ** (1 - alpha))
        scale = np.clip(scale, 1e-2, 1e2).astype(np.float32)
        weights[node.input[1]].CopyFrom(numpy_helper.from_array(weight * scale[:, None], node.input[1]))
        inverse = f"{node.name}_smooth_inverse"
        graph.initializer.append(numpy_helper.from_array((1.0 / scale).astype(np.float32), inverse))
        smoothed = f"{node.name}_smoothed_input"
        graph.node.insert(list(graph.node).index(node), helper.make_node(
            "Mul", [node.input[0], inverse], [smoothed], name=f"{node.name}_smooth"))
        node.input[0] = smoothed
    onnx.save(model, str(target))
    return target
