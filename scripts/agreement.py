"""Inter-annotator agreement: Cohen's kappa overall and per class (one-vs-rest) between two label files.

Usage: ``python scripts/agreement.py`` compares data/agreement/first_annotator.jsonl with
second_annotator.jsonl (same ids) and writes data/agreement/agreement.json.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from sklearn.metrics import cohen_kappa_score, confusion_matrix

ROOT = Path(__file__).resolve().parents[1]
LABELS = ["critical", "neutral", "supportive"]


def labels(path: Path) -> dict[str, str]:
    """id -> label of one annotation file."""
    return {row["id"]: row["label"] for row in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


def agreement(first: list[str], second: list[str]) -> dict:
    """Kappa overall and per class, raw agreement and the confusion matrix."""
    return {
        "n": len(first),
        "raw_agreement": round(sum(a == b for a, b in zip(first, second)) / len(first), 4),
        "kappa": round(cohen_kappa_score(first, second), 4),
        "kappa_per_class": {label: round(cohen_kappa_score([a == label for a in first], [b == label for b in second]), 4)
                            for label in LABELS},
        "confusion_first_rows_second_columns": confusion_matrix(first, second, labels=LABELS).tolist(),
        "disagreements": dict(Counter(f"{a}->{b}" for a, b in zip(first, second) if a != b)),
    }


def main() -> int:
    """Compute agreement on the corpus sentences and, separately, on the seed article."""
    folder = ROOT / "data" / "agreement"
    first, second = labels(folder / "first_annotator.jsonl"), labels(folder / "second_annotator.jsonl")
    if set(first) != set(second):
        raise ValueError(f"expected the same ids in both files, found {len(set(first) ^ set(second))} differing")
    result = {}
    for name, keep in (("corpus", lambda i: not i.startswith("seed")), ("seed_article", lambda i: i.startswith("seed"))):
        ids = sorted(i for i in first if keep(i))
        result[name] = agreement([first[i] for i in ids], [second[i] for i in ids])
    (folder / "agreement.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
