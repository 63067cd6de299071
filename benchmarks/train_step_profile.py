"""Where a CPU training step of the default model spends its time (torch profiler), and what dropout masks cost.

Usage: ``python benchmarks/train_step_profile.py [--config configs/stance.yaml] [--steps 10]``; writes
``benchmarks/results/train_step_profile.md``. Steps are forward + backward of the default model in training mode
(dropout on, bf16 autocast where ``train`` uses it) on length-sorted batches of the training split, after two
warm-up steps. Not a test: a lead for speed work, not a target.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from german_stance.config import load_config  # noqa: E402
from german_stance.data import read_jsonl  # noqa: E402
from german_stance.modeling.loading import load_backbone  # noqa: E402
from german_stance.training.trainer import uses_bf16  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "train_step_profile.md"


def batches(tokenizer, path: str, size: int, count: int) -> list[dict[str, torch.Tensor]]:
    """``count`` batches of ``size`` neighbouring sentences by length, spread over the split (as group_by_length)."""
    texts = sorted((row["text"] for row in read_jsonl(path)), key=len)
    stride = max(1, len(texts) // count)
    return [dict(tokenizer(texts[i : i + size], padding=True, return_tensors="pt"))
            for i in range(0, stride * count, stride)]


def mask_cost(elements: int, rounds: int = 50) -> dict[str, float]:
    """Milliseconds per call: torch's dropout against a keep-mask made from random bytes (8 per 64-bit draw)."""
    x = torch.randn(elements)

    def timed(step) -> float:
        step()
        start = time.perf_counter()
        for _ in range(rounds):
            step()
        return (time.perf_counter() - start) / rounds * 1000

    return {"torch.nn.functional.dropout(p=0.1)": timed(lambda: torch.nn.functional.dropout(x, 0.1, True)),
            "bernoulli_ mask": timed(lambda: torch.empty(elements).bernoulli_(0.9)),
            # random_() alone draws from [0, 2**63): the top byte of each draw would hold 7 bits and never drop.
            "random bytes mask (full-range int64 random_ viewed as uint8, keep below 230: drop p = 26/256)":
                timed(lambda: torch.empty((elements + 7) // 8, dtype=torch.int64).random_(-2**63, None)
                      .view(torch.uint8) < 230)}


def main() -> int:
    """Profile the steps and write the top operators and the mask costs as Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/stance.yaml")
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    cfg = load_config(REPO / args.config)  # an absolute --config replaces REPO in the join
    model, tokenizer = load_backbone(cfg)
    model.train()
    bf16 = uses_bf16(cfg, torch.device("cpu"))
    data = batches(tokenizer, str(REPO / cfg.train_file), cfg.batch_size, args.steps + 2)

    def step(batch: dict[str, torch.Tensor]) -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            output = model(**batch)
        output.logits.float().logsumexp(-1).mean().backward()

    for batch in data[:2]:
        step(batch)
    from torch.profiler import ProfilerActivity, profile

    started = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for batch in data[2:]:
            step(batch)
    seconds = time.perf_counter() - started
    events = sorted(profiler.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:8]
    total = sum(e.self_cpu_time_total for e in profiler.key_averages())
    tokens = int(sum(b["attention_mask"].sum() for b in data[2:]))
    lines = ["# Where a CPU training step goes", "",
             f"`python benchmarks/train_step_profile.py --steps {args.steps}`: forward + backward of `{args.config}`'s "
             f"model, batch {cfg.batch_size}, bf16 autocast {'on' if bf16 else 'off'}, {args.steps} profiled steps "
             f"({tokens} tokens, {seconds:.1f} s wall with the profiler on). Machine: {platform.platform()}, "
             f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads. "
             "One run.", "", "| operator | self CPU s | share |", "|---|---:|---:|"]
    lines += [f"| `{e.key}` | {e.self_cpu_time_total / 1e6:.2f} | {e.self_cpu_time_total / total:.0%} |" for e in events]
    elements = cfg.batch_size * 25 * 384 * 2  # two hidden-state dropouts of a median batch (25 tokens, width 384)
    lines += ["", f"Dropout masks for {elements:,} elements (one layer's two hidden-state dropouts at a median batch), "
              "ms per call, mean of 50:", "", "| mask | ms |", "|---|---:|"]
    lines += [f"| {name} | {ms:.2f} |" for name, ms in mask_cost(elements).items()]
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(RESULTS.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
