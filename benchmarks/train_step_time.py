"""Time training steps of the offline backbone with and without the word-embedding matrix frozen.

Runs the same forward/backward/AdamW step on real training sentences for each setting and reports the
median seconds per step, so the cost of ``freeze_embeddings`` is a measured number, not a claim.
Usage: ``python benchmarks/train_step_time.py [--steps 12 --batch-size 16]``; writes
``benchmarks/results/train_step_time.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from german_stance.config import Config  # noqa: E402
from german_stance.modeling.loading import load_backbone  # noqa: E402
from german_stance.tasks import STANCE  # noqa: E402


def time_steps(freeze: bool, texts: list[str], labels: list[int], steps: int, batch_size: int) -> list[float]:
    """Seconds for each of ``steps`` optimiser steps (after one warm-up step)."""
    torch.manual_seed(0)
    model, tokenizer = load_backbone(Config(freeze_embeddings=freeze))
    model.train()
    # Fused AdamW is what the Trainer uses by default (optim="adamw_torch_fused"); the unfused one spends
    # about a second per step updating the 96M-parameter embedding matrix on CPU and overstates the cost.
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=4e-5, fused=True)
    durations = []
    for step in range(steps + 1):
        start = (step * batch_size) % (len(texts) - batch_size)
        batch = tokenizer(texts[start : start + batch_size], truncation=True, max_length=128, padding=True,
                          return_tensors="pt")
        began = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(**batch).logits, torch.tensor(labels[start : start + batch_size]))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step:  # the first step pays one-off allocation costs
            durations.append(time.perf_counter() - began)
    return durations


def main() -> int:
    """Measure both settings and write the result table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    rows = [json.loads(line) for line in (ROOT / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    texts = [row["text"] for row in rows[:400]]
    labels = [STANCE.label2id[row["label"]] for row in rows[:400]]
    results = {}
    for freeze in (True, False):
        durations = time_steps(freeze, texts, labels, args.steps, args.batch_size)
        results[freeze] = statistics.median(durations)
        print(f"freeze_embeddings={freeze}: median {results[freeze]:.3f} s/step over {len(durations)} steps")
    speedup = results[False] / results[True]
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, " \
              f"{torch.get_num_threads()} threads"
    table = "\n".join([
        "# Training step time: frozen vs trainable word embeddings", "",
        f"Offline backbone (multilingual-e5-small), batch {args.batch_size}, max_length 128, fused AdamW (as the "
        f"Trainer); median of "
        f"{args.steps} steps after one warm-up step. Machine: {machine}.", "",
        "| freeze_embeddings | seconds / step | sentences / second |", "|---|---:|---:|",
        *[f"| {freeze} | {results[freeze]:.3f} | {args.batch_size / results[freeze]:.1f} |" for freeze in (True, False)],
        "", f"Freezing makes a step {speedup:.1f}x faster.", ""])
    out = ROOT / "benchmarks" / "results" / "train_step_time.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table, encoding="utf-8")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
