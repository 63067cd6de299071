"""Does the lexical half help on text by writers the run never saw? Encoder, TF-IDF and their blends, per set.

Usage::

    python scripts/lexical_transfer.py --model runs/old-default --train old_train.jsonl \
        --set "story-first=data/train.jsonl,data/dev.jsonl,data/test.jsonl:w7,w8,w9,w10,w11,w12,w13,w14" \
        --set challenge=data/eval/challenge.jsonl --out reports/lexical-transfer/old-default.md

``--train`` is the file the run was trained on: the lexical half is fitted on it here exactly as ``train`` fits it
(spelling variants, same seed), so a run trained before lexical halves existed can be checked too. A set's
``:w7,w8`` suffix keeps only the sentences by those writers (the ``writer`` field).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from german_stance import StanceClassifier  # noqa: E402
from german_stance.data import read_sentences  # noqa: E402
from german_stance.data.augment import vary_spelling  # noqa: E402
from german_stance.evaluation.metrics import bootstrap_intervals, compute_metrics, paired_bootstrap  # noqa: E402
from german_stance.modeling.calibration import softmax  # noqa: E402
from german_stance.modeling.lexical import fit_lexical, mix  # noqa: E402

WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)  # 0: the encoder alone, 1: the TF-IDF half alone


def read_set(spec: str, tasks: Any) -> tuple[str, list[dict[str, Any]]]:
    """``NAME=FILE[,FILE...][:WRITER,...]`` -> the set's name and its rows (only those writers' when given)."""
    name, _, rest = spec.partition("=")
    files, _, writers = rest.partition(":")
    if not name or not files:
        raise SystemExit(f"expected --set NAME=FILE[,FILE...][:WRITER,...], found {spec!r}")
    keep = set(filter(None, writers.split(",")))
    rows = [row for path in files.split(",") for row in read_sentences(path, tasks=tasks[:1])
            if not keep or row.get("writer") in keep]
    if not rows:
        raise SystemExit(f"expected sentences in {files} by {sorted(keep)}, found none; check the writer ids")
    return name, rows


def by_group(groups: list[str], gold: np.ndarray, predicted: dict[float, np.ndarray], labels: Any,
             field: str) -> list[str]:
    """Per group: encoder and TF-IDF macro-F1, the encoder's lead over TF-IDF and each blend's gain over the encoder."""
    blends = [w for w in WEIGHTS if 0.0 < w < 1.0]
    lines = [f"Per {field}: does a blend's gain shrink where the encoder leads TF-IDF by more?", "",
             f"| {field} | n | encoder | TF-IDF | encoder − TF-IDF | "
             + " | ".join(f"blend {w} − encoder" for w in blends) + " |", "|---|---|---|---|---|" + "---|" * len(blends)]
    groups_array, leads, gains = np.array(groups), [], {w: [] for w in blends}
    for group in sorted(set(groups)):
        rows = groups_array == group
        scores = {w: compute_metrics(gold[rows], predicted[w][rows], labels)["macro_f1"] for w in WEIGHTS}
        leads.append(scores[0.0] - scores[1.0])
        for w in blends:
            gains[w].append(scores[w] - scores[0.0])
        lines.append(f"| {group} | {int(rows.sum())} | {scores[0.0]:.3f} | {scores[1.0]:.3f} | {leads[-1]:+.3f} | "
                     + " | ".join(f"{gains[w][-1]:+.3f}" for w in blends) + " |")
    if len(leads) > 2:
        lines += ["", f"Least-squares lines over the {len(leads)} groups, gain = a + b × lead, and what each reads at a "
                  "lead of +0.073 (the encoder's lead over TF-IDF on the hidden real-news set, issue 9):", ""]
        for w in blends:
            slope, intercept = np.polyfit(leads, gains[w], 1)
            lines.append(f"- blend {w}: gain = {intercept:+.3f} {slope:+.2f} × lead (correlation "
                         f"{np.corrcoef(leads, gains[w])[0, 1]:+.2f}); at +0.073: {intercept + slope * 0.073:+.3f}")
    return lines + [""]


def main() -> int:
    """Write a Markdown table: macro-F1 per set and task for the encoder, TF-IDF and their blends."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="run folder")
    parser.add_argument("--train", required=True, help="the training file the run was trained on")
    parser.add_argument("--set", dest="sets", action="append", required=True, help="NAME=FILE[,FILE...][:WRITERS]")
    parser.add_argument("--out", type=Path, required=True, help="Markdown file to write")
    parser.add_argument("--seed", type=int, default=42, help="the run's seed (spelling variants, TF-IDF)")
    parser.add_argument("--by", default="", help="also break each set down by this field (e.g. writer, register)")
    args = parser.parse_args()

    classifier = StanceClassifier.from_run(args.model, backend="torch", calibrated=False)
    tasks = classifier.tasks
    classifier.run.lexical = None  # the encoder alone; the blends are made below from a fresh lexical half
    train_rows = vary_spelling(read_sentences(args.train, tasks=tasks[:1]), args.seed)
    lexical = fit_lexical(train_rows, tasks, 0.5, args.seed)
    lines = [f"# Encoder, TF-IDF half and their blends on unseen writers: `{args.model}`", "",
             f"Lexical half fitted on `{args.train}` ({len(train_rows)} sentences) as `train` fits it. "
             "Macro-F1 [95% bootstrap interval]; w = weight of the TF-IDF half "
             "(0: encoder alone, 0.5: the default's blend, 1: TF-IDF alone). Command: `python "
             + " ".join(sys.argv) + "`", ""]
    for spec in args.sets:
        name, rows = read_set(spec, tasks)
        texts = [row["text"] for row in rows]
        encoder = {task: softmax(values) for task, values in classifier.logits(texts).items()}
        tfidf = lexical.probabilities(texts)
        for task in tasks:
            known = [i for i, row in enumerate(rows) if task.field in row]
            gold = np.array([task.label2id[rows[i][task.field]] for i in known])
            predicted = {}
            for weight in WEIGHTS:
                # The blend as predict makes it (predict takes the log, which keeps the argmax).
                predicted[weight] = mix(encoder[task.name][known], tfidf[task.name][known], weight).argmax(axis=1)
            lines += [f"## {name}: {task.name} ({len(known)} sentences)", "",
                      "| w | macro-F1 | accuracy |", "|---|---|---|"]
            for weight, labels in predicted.items():
                scores = compute_metrics(gold, labels, task.labels)
                low, high = bootstrap_intervals(gold, labels, labels=task.labels)["macro_f1"]
                lines.append(f"| {weight:.2f} | {scores['macro_f1']:.3f} [{low:.3f}, {high:.3f}] "
                             f"| {scores['accuracy']:.3f} |")
            n_labels = len(task.labels)
            for a, b, label in ((0.5, 0.0, "blend 0.5 − encoder"), (0.0, 1.0, "encoder − TF-IDF"),
                                (0.5, 1.0, "blend 0.5 − TF-IDF")):
                diff = paired_bootstrap(gold, predicted[a], predicted[b], n_labels)
                lines.append(f"\n{label}: {diff['delta']:+.3f} [{diff['low']:+.3f}, {diff['high']:+.3f}]")
            lines.append("")
            if args.by:
                lines += by_group([rows[i].get(args.by, "?") for i in known], gold, predicted, task.labels, args.by)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
