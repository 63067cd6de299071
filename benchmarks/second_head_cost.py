"""Prediction cost of the sentiment head: the same sentences through a stance-only run and a two-task run.

Usage: ``python benchmarks/second_head_cost.py --stance runs/stance-only --joint runs/default [--sentences 500]``
Alternates the two models for ``--repeats`` rounds (so background load hits both alike) and reports the median
seconds per round and their ratio. Not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from german_stance import StanceClassifier


def main() -> int:
    """Time both runs on the dev sentences and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stance", required=True)
    parser.add_argument("--joint", required=True)
    parser.add_argument("--sentences", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    texts = [json.loads(line)["text"] for line in Path("data/dev.jsonl").read_text(encoding="utf-8").splitlines()]
    texts = texts[: args.sentences]
    models = {"stance-only": StanceClassifier.from_run(args.stance, backend="torch"),
              "two-task": StanceClassifier.from_run(args.joint, backend="torch")}
    for model in models.values():
        model.predict_records(texts[:32])  # warm-up
    seconds: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            started = time.perf_counter()
            model.predict_records(texts)
            seconds[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    print(f"{len(texts)} sentences, median of {args.repeats} alternating rounds: " + ", ".join(
        f"{name} {value:.2f} s" for name, value in medians.items())
          + f"; ratio two-task / stance-only {medians['two-task'] / medians['stance-only']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
