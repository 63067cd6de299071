"""Build data/{train,dev,test}.jsonl from the written articles in data/raw/*.jsonl.

Each raw line is ``{"source", "register", "text", "label"}`` in reading order. This script adds stable ids
and the previous sentence as ``context``, splits by article (stratified by writer), removes near-duplicates
that would cross splits, and writes ``data/corpus_stats.json``. Usage: ``python scripts/build_corpus.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from german_stance.config import LABELS  # noqa: E402
from german_stance.data import (add_context, near_duplicate_pairs, split_by_article, validate_rows,  # noqa: E402
                                vary_spelling)

SPLITS = {"train": 0.7, "dev": 0.15, "test": 0.15}


def load_raw(raw_dir: Path) -> list[dict]:
    """Read every raw file, numbering sentences within each article."""
    rows: list[dict] = []
    for path in sorted(raw_dir.glob("*.jsonl")):
        position: Counter = Counter()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            position[row["source"]] += 1
            rows.append({"id": f"{row['source']}-s{position[row['source']]:02d}", "text": row["text"].strip(),
                         "label": row["label"], "source": row["source"], "register": row.get("register", ""),
                         "writer": path.stem})
    validate_rows(rows, str(raw_dir))
    return rows


def distribution(rows: list[dict]) -> dict:
    """Label counts and shares."""
    counts = Counter(row["label"] for row in rows)
    return {label: {"count": counts[label], "share": round(counts[label] / len(rows), 3)} for label in LABELS}


def main() -> int:
    """Build the splits and print the statistics."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--raw", default="data/raw")
    parser.add_argument("--out", default="data")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rows = add_context(load_raw(Path(args.raw)))
    parts = dict(zip(SPLITS, split_by_article(rows, list(SPLITS.values()), args.seed, stratify_key="writer")))

    # A near-duplicate in dev/test of a training sentence would inflate the scores: drop it from dev/test.
    # dev is checked against train, test against train and dev.
    removed = []
    for name, earlier in (("dev", ["train"]), ("test", ["train", "dev"])):
        others = [row["text"] for split in earlier for row in parts[split]]
        leaked = {text for text, _ in near_duplicate_pairs([r["text"] for r in parts[name]], others)}
        removed += [{"split": name, "text": text} for text in sorted(leaked)]
        parts[name] = [row for row in parts[name] if row["text"] not in leaked]

    out = Path(args.out)
    for name, part in parts.items():
        with (out / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for row in part:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    # The test split in the other house style (Pyongyang, Kim Jong-un, "..."), to measure robustness to it.
    with (out / "eval" / "test_spelling_variants.jsonl").open("w", encoding="utf-8") as handle:
        for row in add_context(vary_spelling(parts["test"], seed=0, rate=1.0)):
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    stats = {
        "total": sum(len(part) for part in parts.values()),
        "articles": len({row["source"] for row in rows}),
        "distribution": distribution([row for part in parts.values() for row in part]),
        "splits": {name: {"sentences": len(part), "articles": len({r["source"] for r in part}),
                          "distribution": distribution(part)} for name, part in parts.items()},
        "registers": dict(Counter(row["register"] for row in rows).most_common()),
        "removed_near_duplicates": removed,
    }
    (out / "corpus_stats.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in stats.items() if k != "removed_near_duplicates"}, indent=2))
    print(f"removed {len(removed)} near-duplicates that would cross splits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
