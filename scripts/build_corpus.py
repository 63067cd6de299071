"""Build data/{train,dev,test}.jsonl from the written articles in data/raw/*.jsonl.

Each raw line is ``{"source", "register", "text", "label", "sentiment"}`` in reading order, optionally with
``kind`` (one of the six hard kinds of issue 9) and ``pair`` (a minimal-pair id shared by two sentences). This
script adds stable ids and the previous sentence as ``context``, splits by article (stratified by writer;
articles linked by a minimal pair stay on one side), removes near-duplicates that would cross splits, and writes
``data/corpus_stats.json``. Usage: ``python scripts/build_corpus.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from german_stance.data import (add_context, near_duplicate_pairs, split_by_article, validate_rows,  # noqa: E402
                                vary_spelling)
from german_stance.tasks import SENTIMENT, STANCE  # noqa: E402

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
                         "label": row["label"], "sentiment": row["sentiment"], "source": row["source"],
                         "register": row.get("register", ""), "writer": path.stem,
                         **{key: row[key] for key in ("kind", "pair") if row.get(key)}})
    validate_rows(rows, str(raw_dir), tasks=(STANCE, SENTIMENT))
    return rows


def pair_groups(rows: list[dict]) -> dict[str, str]:
    """Article -> group id: articles that share a minimal pair form one group, so twins never cross splits."""
    parent: dict[str, str] = {row["source"]: row["source"] for row in rows}

    def find(item: str) -> str:
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    first_source: dict[str, str] = {}
    for row in rows:
        if row.get("pair"):
            other = first_source.setdefault(row["pair"], row["source"])
            parent[find(row["source"])] = find(other)
    return {source: find(source) for source in parent}


def distribution(rows: list[dict], task=STANCE) -> dict:
    """Label counts and shares of one task."""
    counts = Counter(row[task.field] for row in rows)
    return {label: {"count": counts[label], "share": round(counts[label] / len(rows), 3)} for label in task.labels}


def cross_table(rows: list[dict]) -> dict:
    """Stance x sentiment counts."""
    counts = Counter((row["label"], row["sentiment"]) for row in rows)
    return {stance: {sentiment: counts[(stance, sentiment)] for sentiment in SENTIMENT.labels} for stance in STANCE.labels}


def earlier_build(out: Path) -> tuple[dict[str, str], dict[str, int]]:
    """From the split files of an earlier build (empty when there are none): article -> split name, and
    sentence id -> position in those files."""
    placed: dict[str, str] = {}
    order: dict[str, int] = {}
    for name in SPLITS:
        path = out / f"{name}.jsonl"
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    placed[row["source"]] = name
                    order[row["id"]] = len(order)
    return placed, order


def drop_near_duplicates(rows: list[dict], others: list[str], split: str, removed: list[dict]) -> list[dict]:
    """``rows`` without those whose text is a near-duplicate of one of ``others``; records each in ``removed``."""
    leaked = {text for text, _ in near_duplicate_pairs([row["text"] for row in rows], others)}
    removed += [{"split": split, "text": text} for text in sorted(leaked)]
    return [row for row in rows if row["text"] not in leaked]


def main() -> int:
    """Build the splits and print the statistics."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--raw", default="data/raw")
    parser.add_argument("--out", default="data")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rows = add_context(load_raw(Path(args.raw)))
    groups = pair_groups(rows)
    # Split by group (an article, or articles joined by minimal pairs), then restore the article ids.
    # Articles that an earlier build already placed keep their split, so runs trained on an earlier train
    # split are never scored on their own training sentences; only new articles are split here.
    placed, order = earlier_build(Path(args.out))
    new_rows = [row for row in rows if row["source"] not in placed]
    grouped = [{**row, "source": groups[row["source"]], "article": row["source"]} for row in new_rows]
    parts = {name: [{**{k: v for k, v in row.items() if k != "article"}, "source": row["article"]} for row in part]
             for name, part in zip(SPLITS, split_by_article(grouped, list(SPLITS.values()), args.seed,
                                                           stratify_key="writer"))}
    for name in SPLITS:
        # Earlier rows keep their order in the split file, so rebuilding an unchanged corpus changes nothing.
        earlier = sorted((row for row in rows if placed.get(row["source"]) == name),
                         key=lambda row: order.get(row["id"], len(order)))
        parts[name] = earlier + parts[name]

    # A near-duplicate in dev/test of a training sentence would inflate the scores: drop it from dev/test.
    # dev is checked against train, test against train and dev.
    removed: list[dict] = []
    for name, earlier in (("dev", ["train"]), ("test", ["train", "dev"])):
        others = [row["text"] for split in earlier for row in parts[split]]
        parts[name] = drop_near_duplicates(parts[name], others, name, removed)

    # The evaluation sets stay blind: a training sentence that repeats one of theirs (short generic sentences
    # such as "Was bedeutet das für Südkorea?" can recur across writers) is dropped from training.
    blind = [row["text"] for name in ("challenge.jsonl", "seed_article.jsonl")
             if (Path(args.out) / "eval" / name).is_file()
             for row in map(json.loads, (Path(args.out) / "eval" / name).read_text(encoding="utf-8").splitlines())]
    parts["train"] = drop_near_duplicates(parts["train"], blind, "train", removed)
    # A twin whose partner was dropped is no longer a minimal pair.
    twins = Counter(row["pair"] for part in parts.values() for row in part if row.get("pair"))
    for part in parts.values():
        for row in part:
            if row.get("pair") and twins[row["pair"]] < 2:
                del row["pair"]

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
        "sentiment_distribution": distribution([row for part in parts.values() for row in part], SENTIMENT),
        "stance_x_sentiment": cross_table([row for part in parts.values() for row in part]),
        "kinds": dict(Counter(row.get("kind", "") or "(none)" for part in parts.values() for row in part).most_common()),
        "short_sentences": sum(1 for part in parts.values() for row in part if len(row["text"].split()) <= 8),
        "minimal_pairs": len({row["pair"] for part in parts.values() for row in part if row.get("pair")}),
        "writers": dict(Counter(row["writer"] for part in parts.values() for row in part).most_common()),
        "splits": {name: {"sentences": len(part), "articles": len({r["source"] for r in part}),
                          "distribution": distribution(part), "sentiment_distribution": distribution(part, SENTIMENT)}
                   for name, part in parts.items()},
        "registers": dict(Counter(row["register"] for row in rows).most_common()),
        "removed_near_duplicates": removed,
    }
    (out / "corpus_stats.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in stats.items() if k != "removed_near_duplicates"}, indent=2))
    print(f"removed {len(removed)} near-duplicates that would cross splits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
