"""Rebuilding the corpus from data/raw reproduces the committed splits exactly (placement and order)."""

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_rebuild_reproduces_the_committed_splits(tmp_path: Path) -> None:
    out = tmp_path / "data"
    (out / "eval").mkdir(parents=True)
    for name in ("train.jsonl", "dev.jsonl", "test.jsonl"):
        shutil.copy(REPO / "data" / name, out / name)
    for name in ("challenge.jsonl", "seed_article.jsonl"):
        shutil.copy(REPO / "data" / "eval" / name, out / "eval" / name)
    subprocess.run([sys.executable, str(REPO / "scripts" / "build_corpus.py"), "--raw", str(REPO / "data" / "raw"),
                    "--out", str(out)], check=True, capture_output=True, cwd=tmp_path)
    for name in ("train.jsonl", "dev.jsonl", "test.jsonl"):
        # A reordered or re-split train file would silently change what the default config trains on.
        assert (out / name).read_bytes() == (REPO / "data" / name).read_bytes(), name
