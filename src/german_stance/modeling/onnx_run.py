"""The exported ONNX models of a run (``RUN/onnx/``) and loading a run for the ONNX backend, without torch.

``german-stance export`` writes ``onnx/export.json`` (the manifest: each variant's model and tokenizer file,
the default variant, tokenizer settings, validation) next to the ``.onnx`` and ``tokenizer*.json`` files.
Usage: ``run, backend = load_onnx_run("runs/default")``
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..data.tokenizer_file import TokenizerFile
from .backends import OnnxBackend
from .runs import TrainedRun, check_run_dir, read_run

ONNX_DIR = "onnx"
MANIFEST = "export.json"


def read_manifest(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's ONNX manifest, or None when the run was never exported."""
    path = Path(run_dir) / ONNX_DIR / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def has_onnx(run_dir: str | Path) -> bool:
    """Whether the run has an exported ONNX model whose default file exists."""
    manifest = read_manifest(run_dir)
    if not manifest or manifest.get("default") not in manifest.get("variants", {}):
        return False
    return (Path(run_dir) / ONNX_DIR / manifest["variants"][manifest["default"]]["model"]).is_file()


def onnx_model_path(run_dir: str | Path, variant: str | None = None) -> Path:
    """The ONNX file of ``variant`` (``int8``/``fp32``; the manifest's default when None)."""
    run_dir = check_run_dir(run_dir)
    manifest = read_manifest(run_dir)
    if manifest is None:
        raise FileNotFoundError(f"expected an exported ONNX model in {run_dir / ONNX_DIR}, found none; run "
                                f"`german-stance export --model {run_dir}` or use --backend torch")
    variant = variant or manifest["default"]
    if variant not in manifest["variants"]:
        raise ValueError(f"expected an ONNX variant in {sorted(manifest['variants'])}, found {variant!r}")
    path = run_dir / ONNX_DIR / manifest["variants"][variant]["model"]
    if not path.is_file():
        raise FileNotFoundError(f"expected {path} (named in {MANIFEST}), found nothing; export the run again")
    return path


def load_onnx_run(run_dir: str | Path, variant: str | None = None, threads: int = 0) -> tuple[TrainedRun, OnnxBackend]:
    """Config, tasks, calibration and tokenizer of a run, and an ONNX Runtime session of its exported model."""
    path = onnx_model_path(run_dir, variant)
    manifest = read_manifest(run_dir) or {}
    entry = manifest["variants"][variant or manifest["default"]]
    tokenizer = TokenizerFile(Path(run_dir) / ONNX_DIR / entry["tokenizer"], pad_token_id=int(manifest["pad_token_id"]),
                              model_input_names=manifest["model_input_names"])
    return read_run(run_dir, tokenizer=tokenizer), OnnxBackend(path, threads=threads)
