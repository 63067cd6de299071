"""Inter-annotator agreement: Cohen's kappa overall, per class (one-vs-rest) and per group, for every annotation set.

Usage: ``python scripts/agreement.py`` reads each set's ``first_annotator.jsonl`` / ``second_annotator.jsonl``
(rows with ``id`` and the labels of the tasks it covers; optional ``kind`` / ``register``) and writes
``data/agreement/agreement.json``.

Sets: the first corpus for stance (``data/agreement``) and for sentiment (``data/agreement/sentiment``), the
story-first batch for both tasks with kappa per hard kind (``data/agreement/new_corpus``), the third batch
(writers w11 to w14, every sentence annotated twice, ``data/agreement/third_batch``), and the blind
challenge set for both tasks (``data/agreement/challenge``).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from sklearn.metrics import cohen_kappa_score, confusion_matrix

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from german_stance.tasks import TASKS as TASK_DEFINITIONS  # noqa: E402

TASKS = {task.field: list(task.labels) for task in TASK_DEFINITIONS.values()}  # data field -> labels
SETS = {  # name -> (folder, fields it covers, group key for per-group kappa)
    "corpus": ("data/agreement", ["label"], None),
    "corpus_sentiment": ("data/agreement/sentiment", ["sentiment"], None),
    "new_corpus": ("data/agreement/new_corpus", ["label", "sentiment"], "kind"),
    "challenge": ("data/agreement/challenge", ["label", "sentiment"], "register"),
    "third_batch": ("data/agreement/third_batch", ["label", "sentiment"], "kind"),
}


def rows(path: Path) -> dict[str, dict]:
    """id -> row of one annotation file."""
    return {row["id"]: row for row in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if row}


def agreement(first: list[str], second: list[str], labels: list[str]) -> dict:
    """Kappa overall and per class, raw agreement and the confusion matrix."""
    return {
        "n": len(first),
        "raw_agreement": round(sum(a == b for a, b in zip(first, second)) / len(first), 4),
        "kappa": round(cohen_kappa_score(first, second, labels=labels), 4) if len(set(first + second)) > 1 else None,
        "kappa_per_class": {label: round(cohen_kappa_score([a == label for a in first], [b == label for b in second]), 4)
                            for label in labels if label in first or label in second},
        "confusion_first_rows_second_columns": confusion_matrix(first, second, labels=labels).tolist(),
        "disagreements": dict(Counter(f"{a}->{b}" for a, b in zip(first, second) if a != b)),
    }


def set_agreement(folder: Path, fields: list[str], group: str | None) -> dict:
    """Agreement of one set: per field, overall, on the seed article separately, and per group."""
    first, second = rows(folder / "first_annotator.jsonl"), rows(folder / "second_annotator.jsonl")
    if set(first) != set(second):
        raise ValueError(f"expected the same ids in both files of {folder}, found {len(set(first) ^ set(second))} differing")
    result: dict = {}
    for field in fields:
        labels = TASKS[field]
        parts = {"all": sorted(i for i in first if not i.startswith("seed"))}
        if any(i.startswith("seed") for i in first):
            parts["seed_article"] = sorted(i for i in first if i.startswith("seed"))
        entry = {name: agreement([first[i][field] for i in ids], [second[i][field] for i in ids], labels)
                 for name, ids in parts.items() if ids}
        if group:
            values = sorted({first[i].get(group) or "(none)" for i in parts["all"]})
            entry[f"per_{group}"] = {}
            for value in values:
                ids = [i for i in parts["all"] if (first[i].get(group) or "(none)") == value]
                scores = agreement([first[i][field] for i in ids], [second[i][field] for i in ids], labels)
                entry[f"per_{group}"][value] = {key: scores[key] for key in ("n", "raw_agreement", "kappa")}
        result[next(task.name for task in TASK_DEFINITIONS.values() if task.field == field)] = entry
    return result


def main() -> int:
    """Compute every set that is present and write agreement.json."""
    result = {name: set_agreement(ROOT / folder, fields, group) for name, (folder, fields, group) in SETS.items()
              if (ROOT / folder / "second_annotator.jsonl").is_file()}
    (ROOT / "data" / "agreement" / "agreement.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for name, entry in result.items():
        for task, parts in entry.items():
            print(f"{name} {task}: " + "; ".join(f"{part} n={v['n']} kappa={v['kappa']} raw={v['raw_agreement']}"
                                                for part, v in parts.items() if "kappa" in v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
