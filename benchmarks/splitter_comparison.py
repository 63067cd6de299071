"""Compare German sentence splitters on data/eval/splitter_passages.jsonl.

Each passage has gold sentences; the passage text is rebuilt from them (joined by
a space, by nothing for ``run_together`` and by a newline after the headline for
``newline_headline``). A candidate's output is scored by sentence BOUNDARIES: the
offset of every sentence end inside the passage, counted in characters with all
whitespace removed, so that a splitter that trims or normalises spaces is not
punished. The passage end is not a boundary (every splitter gets it for free).

Usage::

    .venv/bin/python benchmarks/splitter_comparison.py            # all candidates
    .venv/bin/python benchmarks/splitter_comparison.py --errors wrapper

Writes the Markdown report to benchmarks/results/splitter_comparison.md.
Candidates whose library is not installed are skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "eval" / "splitter_passages.jsonl"
OUT = ROOT / "benchmarks" / "results" / "splitter_comparison.md"
_WS = re.compile(r"\s+")

Splitter = Callable[[str], list[str]]


def passage_text(category: str, sentences: list[str]) -> str:
    """Rebuild the raw passage text from its gold sentences."""
    if category == "run_together":
        return "".join(sentences)
    if category == "newline_headline":
        return sentences[0] + "\n" + " ".join(sentences[1:])
    return " ".join(sentences)


def load_passages(path: Path = DATA) -> list[dict]:
    """Read the JSONL gold passages and attach their text."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        row["text"] = passage_text(row["category"], row["sentences"])
    return rows


def boundaries(text: str, sentences: list[str]) -> set[int]:
    """Sentence-end offsets in the whitespace-free text (passage end excluded)."""
    flat = _WS.sub("", text)
    cursor, ends = 0, set()
    for sent in sentences:
        piece = _WS.sub("", sent)
        if not piece:
            continue
        # Splitters should return substrings; if one rewrote characters, search
        # forward for the piece and otherwise fall back to its length.
        if flat.startswith(piece, cursor):
            cursor += len(piece)
        else:
            found = flat.find(piece, cursor)
            cursor = found + len(piece) if found >= 0 else cursor + len(piece)
        ends.add(cursor)
    ends.discard(len(flat))
    return {e for e in ends if 0 < e < len(flat)}


# --------------------------------------------------------------------------- candidates


def _version(dist: str) -> str:
    """Installed version of a distribution, or '?'."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def make_pysbd() -> Splitter:
    """pySBD (rule-based port of pragmatic_segmenter), German rules."""
    import pysbd

    seg = pysbd.Segmenter(language="de", clean=False)
    return lambda text: seg.segment(text)


def make_syntok() -> Splitter:
    """syntok segmenter; sentences sliced from the original text by token offsets."""
    from syntok import segmenter

    def split(text: str) -> list[str]:
        out = []
        for paragraph in segmenter.analyze(text):
            for sent in paragraph:
                out.append(text[sent[0].offset : sent[-1].offset + len(sent[-1].value)])
        return out

    return split


def make_somajo() -> Splitter:
    """SoMaJo (de_CMC) tokenizer + sentence splitter; sliced by character offsets."""
    from somajo import SoMaJo

    tok = SoMaJo("de_CMC", split_camel_case=False, character_offsets=True)

    def split(text: str) -> list[str]:
        return [text[s[0].character_offset[0] : s[-1].character_offset[1]] for s in tok.tokenize_text([text])]

    return split


def make_blingfire() -> Splitter:
    """Bling Fire's default (language-independent) sentence model."""
    import blingfire

    def split(text: str) -> list[str]:
        _, offsets = blingfire.text_to_sentences_and_offsets(text)
        return [text[a:b] for a, b in offsets]

    return split


def make_sentencex() -> Splitter:
    """sentencex (Wikimedia), German abbreviation list."""
    from sentencex import segment

    return lambda text: list(segment("de", text))


def make_spacy() -> Splitter:
    """spaCy rule-based sentencizer on a blank German pipeline (no model download)."""
    import spacy

    nlp = spacy.blank("de")
    nlp.add_pipe("sentencizer")
    return lambda text: [s.text for s in nlp(text).sents]


def make_wrapper() -> Splitter:
    """Our german_stance.sentences.split_sentences."""
    sys.path.insert(0, str(ROOT / "src"))
    from german_stance.sentences import split_sentences

    split_sentences("Aufwärmen.")  # builds the cached SoMaJo object, so init time is counted here
    return split_sentences


CANDIDATES: dict[str, tuple[Callable[[], Splitter], str]] = {
    "pysbd": (make_pysbd, "pysbd"),
    "syntok": (make_syntok, "syntok"),
    "somajo": (make_somajo, "SoMaJo"),
    "blingfire": (make_blingfire, "blingfire"),
    "sentencex": (make_sentencex, "sentencex"),
    "spacy-sentencizer": (make_spacy, "spacy"),
    "wrapper": (make_wrapper, "SoMaJo"),
}


# --------------------------------------------------------------------------- scoring


@dataclass
class Score:
    """Boundary counts and exact-passage hits for one candidate (and one slice)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    exact: int = 0
    n: int = 0

    def add(self, gold: set[int], pred: set[int]) -> None:
        """Accumulate one passage."""
        self.tp += len(gold & pred)
        self.fp += len(pred - gold)
        self.fn += len(gold - pred)
        self.exact += gold == pred
        self.n += 1

    @property
    def p(self) -> float:
        """Boundary precision."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def r(self) -> float:
        """Boundary recall."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Boundary F1."""
        return 2 * self.p * self.r / (self.p + self.r) if self.p + self.r else 0.0

    @property
    def acc(self) -> float:
        """Share of passages split exactly right."""
        return self.exact / self.n if self.n else 0.0


@dataclass
class Result:
    """Everything measured for one candidate."""

    name: str
    version: str
    overall: Score = field(default_factory=Score)
    per_cat: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))
    errors: list[tuple[dict, list[str]]] = field(default_factory=list)
    init_s: float = 0.0
    sents_per_s: float = 0.0


def evaluate(name: str, split: Splitter, version: str, passages: list[dict], repeats: int = 5) -> Result:
    """Score one splitter and time it (best of ``repeats`` passes over all passages)."""
    res = Result(name, version)
    for row in passages:
        pred = split(row["text"])
        gold_b = boundaries(row["text"], row["sentences"])
        pred_b = boundaries(row["text"], pred)
        res.overall.add(gold_b, pred_b)
        res.per_cat[row["category"]].add(gold_b, pred_b)
        if gold_b != pred_b:
            res.errors.append((row, pred))
    n_sents = sum(len(row["sentences"]) for row in passages)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for row in passages:
            split(row["text"])
        best = min(best, time.perf_counter() - start)
    res.sents_per_s = n_sents / best
    return res


def markdown(results: list[Result], passages: list[dict], skipped: list[str]) -> str:
    """Render the overall and per-category tables as Markdown."""
    cats = list(dict.fromkeys(row["category"] for row in passages))
    n_sents = sum(len(row["sentences"]) for row in passages)
    n_bounds = sum(len(boundaries(row["text"], row["sentences"])) for row in passages)
    lines = [
        "# German sentence splitter comparison",
        "",
        f"{len(passages)} passages, {n_sents} gold sentences, {n_bounds} gold boundaries "
        f"(`data/eval/splitter_passages.jsonl`). Boundary P/R/F1 are micro-averaged over "
        "boundary offsets (whitespace ignored); accuracy = passages split exactly right. "
        "Speed = gold sentences per second, best of 5 passes, single thread; init = construction time.",
        "",
        "| candidate | version | P | R | F1 | passage acc | sent/s | init s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        o = r.overall
        lines.append(
            f"| {r.name} | {r.version} | {o.p:.3f} | {o.r:.3f} | {o.f1:.3f} | {o.acc:.3f} "
            f"| {r.sents_per_s:,.0f} | {r.init_s:.2f} |"
        )
    for title, attr in (("Boundary F1 per category", "f1"), ("Passage accuracy per category", "acc")):
        lines += ["", f"## {title}", "", "| category | n | " + " | ".join(r.name for r in results) + " |"]
        lines.append("|---|---:|" + "---:|" * len(results))
        for cat in cats:
            n = results[0].per_cat[cat].n if results else 0
            cells = " | ".join(f"{getattr(r.per_cat[cat], attr):.2f}" for r in results)
            lines.append(f"| {cat} | {n} | {cells} |")
    if skipped:
        lines += ["", "Skipped (not importable): " + ", ".join(skipped)]
    wrapper = next((r for r in results if r.name == "wrapper"), None)
    if wrapper is not None:
        lines += ["", f"## Remaining wrapper errors ({len(wrapper.errors)} passages)", ""]
        for row, pred in wrapper.errors:
            lines.append(f"- `{row['id']}`: predicted {json.dumps(pred, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run all importable candidates, print and write the report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="candidate names to run (default: all)")
    ap.add_argument("--errors", nargs="*", default=[], help="print wrong passages for these candidates")
    ap.add_argument("--no-write", action="store_true", help="do not write the Markdown file")
    args = ap.parse_args(argv)

    passages = load_passages()
    results, skipped = [], []
    for name, (factory, dist) in CANDIDATES.items():
        if args.only and name not in args.only:
            continue
        start = time.perf_counter()
        try:
            split = factory()
        except ImportError as exc:
            skipped.append(f"{name} ({exc})")
            continue
        init_s = time.perf_counter() - start
        res = evaluate(name, split, _version(dist), passages)
        res.init_s = init_s
        results.append(res)

    report = markdown(results, passages, skipped)
    print(report)
    for r in results:
        if r.name in args.errors:
            print(f"\n### errors of {r.name}")
            for row, pred in r.errors:
                print(f"- {row['id']}\n    gold: {row['sentences']}\n    pred: {[p.strip() for p in pred]}")
    if not args.no_write:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
