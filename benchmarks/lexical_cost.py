"""What the lexical half adds to prediction: the same classifier's logits with and without it, alternating.

Usage: ``python benchmarks/lexical_cost.py --model runs/default [--backend onnx] [--rounds 4]``; writes
``benchmarks/results/lexical_cost.md``. One process, one warm-up pass, then ``rounds`` alternating timed passes
over the first 1,000 sentences of data/test.jsonl (blended, then encoder alone), so machine drift hits both alike.
Not a test.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    """Time the two variants and write the Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/default")
    parser.add_argument("--backend", default="onnx", choices=["torch", "onnx"])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "lexical_cost.md")
    args = parser.parse_args()
    from german_stance import StanceClassifier
    from german_stance.data import read_jsonl

    texts = [row["text"] for row in read_jsonl(REPO / "data" / "test.jsonl")][:1000]
    classifier = StanceClassifier.from_run(args.model, backend=args.backend)
    lexical = classifier.run.lexical
    if lexical is None:
        raise SystemExit(f"expected a run with a lexical half in {args.model}, found none (lexical_weight: 0)")
    classifier.logits(texts[:100])  # warm-up
    seconds: dict[str, list[float]] = {"blended": [], "encoder alone": []}
    for _ in range(args.rounds):
        for name in seconds:
            classifier.run.lexical = lexical if name == "blended" else None
            started = time.perf_counter()
            classifier.logits(texts)
            seconds[name].append(round(time.perf_counter() - started, 3))
    classifier.run.lexical = lexical
    started = time.perf_counter()
    lexical.probabilities(texts)
    alone = time.perf_counter() - started
    lines = [f"# Cost of the lexical half ({args.model}, backend {args.backend}, {len(texts)} sentences)", "",
             f"`python benchmarks/lexical_cost.py --model {args.model} --backend {args.backend}`; machine: "
             f"{platform.platform()}, {platform.processor() or 'cpu'}; {args.rounds} alternating rounds after a warm-up.",
             "", "| variant | seconds per pass (median) | all passes |", "|---|---|---|"]
    lines += [f"| {name} | {statistics.median(values):.2f} | {values} |" for name, values in seconds.items()]
    lines += ["", f"The lexical half alone (both tasks, NumPy): {alone:.2f} s for the {len(texts)} sentences.", ""]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
