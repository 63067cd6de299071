"""Per hard kind (issue 9): how many challenge sentences of each kind each run labels correctly (stance).

Usage: ``python scripts/kind_analysis.py --model old=runs/old-default new=runs/default --out reports/compare/kinds.md``
Ensembles: ``NAME=ensemble:RUN1,RUN2,RUN3``. The kinds were tagged after the fact by a third annotator who saw neither labels nor predictions
(``data/eval/challenge/kinds.jsonl``; ``kind`` field of ``data/eval/challenge.jsonl``).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from german_stance import StanceClassifier  # noqa: E402
from german_stance.data import read_sentences  # noqa: E402
from german_stance.inference.ensemble import Ensemble  # noqa: E402
from german_stance.evaluation.scoring import predict_rows  # noqa: E402


def main() -> int:
    """Write a Markdown table: per kind, n and correct stance labels per run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", required=True, help="NAME=RUN ...")
    parser.add_argument("--data", default="data/eval/challenge.jsonl")
    parser.add_argument("--out", type=Path, default=Path("reports/compare/kinds.md"))
    parser.add_argument("--backend", default="torch", choices=["auto", "torch", "onnx"],
                        help="torch (default): the trained weights, as compare --backend torch scores them")
    args = parser.parse_args()
    rows = read_sentences(args.data)
    kinds = [row.get("kind") or "(none)" for row in rows]
    totals = Counter(kinds)
    names, correct = [], {}
    for spec in args.model:
        name, _, path = spec.partition("=")
        if path.startswith("ensemble:"):
            classifier = Ensemble.from_runs(path.removeprefix("ensemble:").split(","), backend=args.backend)
        else:
            classifier = StanceClassifier.from_run(path, backend=args.backend)
        _, logits = predict_rows(classifier, rows)
        predicted = logits["stance"].argmax(axis=1)
        gold = [classifier.task("stance").label2id[row["label"]] for row in rows]
        names.append(name)
        correct[name] = Counter(kind for kind, p, g in zip(kinds, predicted, gold) if p == g)
    order = sorted(totals, key=lambda kind: (kind == "(none)", kind))
    lines = ["| kind | n | " + " | ".join(f"{name} correct" for name in names) + " |",
             "|---|---:|" + "---:|" * len(names)]
    for kind in order + ["all"]:
        n = len(rows) if kind == "all" else totals[kind]
        cells = [sum(correct[name].values()) if kind == "all" else correct[name][kind] for name in names]
        lines.append(f"| {kind} | {n} | " + " | ".join(f"{c} ({c / n:.0%})" for c in cells) + " |")
    table = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(f"# Challenge set by hard kind (stance)\n\n`python scripts/kind_analysis.py --model "
                        f"{' '.join(args.model)}`\n\n{table}\n", encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
