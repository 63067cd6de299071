"""Build the blind challenge set ``data/eval/challenge.jsonl`` from its two writers' files and the adjudication.

The writers (``data/eval/challenge/c1.jsonl``, ``c2.jsonl``) saw only ANNOTATION.md and a list of real-world
registers and events, never the training corpus; their labels are the first annotation. A second annotator
labelled every sentence blind (``data/agreement/challenge/second_annotator.jsonl``); disagreements were
adjudicated by the rules (``data/agreement/challenge/adjudication.jsonl``). The set is never trained or tuned on.
Usage: ``python scripts/build_challenge.py``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from german_stance.data import add_context, near_duplicate_pairs, validate_rows  # noqa: E402
from german_stance.tasks import SENTIMENT, STANCE  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def read(path: Path) -> list[dict]:
    """JSON lines of a file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> int:
    """Write the challenge set and the first annotator's file for the agreement script."""
    rows: list[dict] = []
    for path in sorted((ROOT / "data" / "eval" / "challenge").glob("c*.jsonl")):
        position: Counter = Counter()
        for row in read(path):
            position[row["source"]] += 1
            rows.append({"id": f"{row['source']}-s{position[row['source']]:02d}", "text": row["text"].strip(),
                         "label": row["label"], "sentiment": row["sentiment"], "source": row["source"],
                         "register": row["register"], "writer": path.stem})
    folder = ROOT / "data" / "agreement" / "challenge"
    first = [{"id": r["id"], "text": r["text"], "label": r["label"], "sentiment": r["sentiment"],
              "register": r["register"]} for r in rows]
    (folder / "first_annotator.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in first),
                                                  encoding="utf-8")
    decided = {row["id"]: row for row in read(folder / "adjudication.jsonl")}
    for row in rows:
        if row["id"] in decided:
            row["label"], row["sentiment"] = decided[row["id"]]["label"], decided[row["id"]]["sentiment"]
    # Kinds (issue 9's six hard kinds) were tagged afterwards by a third annotator who saw no labels.
    kinds_file = ROOT / "data" / "eval" / "challenge" / "kinds.jsonl"
    if kinds_file.is_file():
        kinds = {row["id"]: row["kind"] for row in read(kinds_file)}
        for row in rows:
            if kinds.get(row["id"]):
                row["kind"] = kinds[row["id"]]
    rows = add_context(rows)
    # A stock phrase written independently in training too would leak: drop such sentences from the set.
    training = [json.loads(line)["text"] for line in (ROOT / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    leaked = {text for text, _ in near_duplicate_pairs([r["text"] for r in rows], training)}
    rows = [row for row in rows if row["text"] not in leaked]
    print(f"dropped {len(leaked)} near-duplicate(s) of training sentences: {sorted(leaked)}")
    validate_rows(rows, "challenge set", tasks=(STANCE, SENTIMENT))
    out = ROOT / "data" / "eval" / "challenge.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    # Two halves by article (alternating within each writer): fit a temperature on half a, check it on half b.
    articles = sorted({r["source"] for r in rows})
    half_a = set(articles[::2])
    for name, keep in (("challenge_half_a", lambda r: r["source"] in half_a),
                       ("challenge_half_b", lambda r: r["source"] not in half_a)):
        part = [r for r in rows if keep(r)]
        (ROOT / "data" / "eval" / f"{name}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part), encoding="utf-8")
    print(f"{len(rows)} sentences, {len({r['source'] for r in rows})} articles, {len(decided)} adjudicated")
    print("stance", dict(Counter(r["label"] for r in rows)), "sentiment", dict(Counter(r["sentiment"] for r in rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
