"""Read, validate, split and tokenize the JSONL sentence data.

Rows are JSON lines with ``id``, ``text``, ``label``, ``source`` and an optional ``context`` (the previous
sentence), as ANNOTATION.md defines. Usage: ``rows = read_sentences("data/dev.jsonl")``.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .config import LABEL2ID, LABELS

REQUIRED_FIELDS = ("id", "label", "source", "text")


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a UTF-8 JSON-lines file into dicts, with errors that name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"expected a JSONL file at {path}, found nothing there; check the path")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise ValueError(f"expected UTF-8 text in {path}, found undecodable bytes at offset {error.start}; "
                         "re-save the file as UTF-8") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"expected one JSON object per line in {path}, line {number} is not JSON ({error.msg})") from None
        if not isinstance(row, dict):
            raise ValueError(f"expected a JSON object on line {number} of {path}, found {type(row).__name__}")
        rows.append(row)
    if not rows:
        raise ValueError(f"expected at least one sentence in {path}, found an empty file")
    return rows


def validate_rows(rows: Sequence[dict[str, Any]], where: str, require_label: bool = True) -> None:
    """Check fields, labels and texts of every row; raise on the first problem with a fix."""
    needed = REQUIRED_FIELDS if require_label else ("text",)
    for number, row in enumerate(rows, start=1):
        missing = [name for name in needed if name not in row]
        if missing:
            raise ValueError(f"expected fields {list(needed)}, found {sorted(row)} on row {number} of {where}; "
                             f"add {missing}")
        if not isinstance(row["text"], str) or not row["text"].strip():
            raise ValueError(f"expected a non-empty text on row {number} of {where}, found {row['text']!r}")
        if require_label and row["label"] not in LABEL2ID:
            raise ValueError(f"expected a label in {list(LABELS)} on row {number} of {where}, "
                             f"found {row['label']!r}; relabel it by ANNOTATION.md")
        context = row.get("context")
        if context is not None and not isinstance(context, str):
            raise ValueError(f"expected context to be a string on row {number} of {where}, found {context!r}")


def read_sentences(path: str | Path, require_label: bool = True) -> list[dict[str, Any]]:
    """Read and validate a labelled sentence file."""
    rows = read_jsonl(path)
    validate_rows(rows, str(path), require_label=require_label)
    counts = Counter(row["id"] for row in rows if "id" in row)
    duplicates = {value for value, count in counts.items() if count > 1}
    if duplicates:
        raise ValueError(f"expected unique ids in {path}, found duplicates {sorted(map(str, duplicates))[:5]}")
    return rows


def add_context(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fill ``context`` with the previous sentence of the same source, in file order."""
    result, previous = [], {}
    for row in rows:
        source = row.get("source")
        result.append({**row, "context": previous.get(source, "")})
        previous[source] = row["text"]
    return result


def with_context(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as they are when every row has a ``context``; otherwise contexts rebuilt from file order."""
    return list(rows) if all("context" in row for row in rows) else add_context(rows)


def split_by_article(rows: Sequence[dict[str, Any]], fractions: Sequence[float], seed: int,
                     stratify_key: str | None = None) -> list[list[dict[str, Any]]]:
    """Split rows into parts by ``source``, never by sentence, so no article is on two sides."""
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"expected split fractions that sum to 1, got {list(fractions)}")
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["source"], []).append(row)
    # Stratify sources by a key (e.g. the writer or register) so each split sees every kind of text.
    strata: dict[str, list[str]] = {}
    for source, members in groups.items():
        strata.setdefault(str(members[0].get(stratify_key, "")) if stratify_key else "", []).append(source)
    parts: list[list[dict[str, Any]]] = [[] for _ in fractions]
    rng = random.Random(seed)
    for stratum in sorted(strata):
        sources = sorted(strata[stratum])
        rng.shuffle(sources)
        total, bounds, running = len(sources), [], 0.0
        for fraction in fractions:
            running += fraction
            bounds.append(round(running * total))
        start = 0
        for part, end in zip(parts, bounds):
            for source in sources[start:end]:
                part.extend(groups[source])
            start = end
    return parts


def normalise_for_duplicates(text: str) -> str:
    """Lower-case, strip accents, quotes and punctuation: the key near-duplicates share."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(char for char in text if not unicodedata.combining(char))
    return re.sub(r"[^\w]+", " ", text).strip()


def near_duplicate_pairs(left: Iterable[str], right: Iterable[str], threshold: float = 0.85) -> list[tuple[str, str]]:
    """Return (left, right) text pairs whose word-trigram Jaccard similarity reaches ``threshold``."""

    def shingles(text: str) -> set[tuple[str, ...]]:
        words = normalise_for_duplicates(text).split()
        return {tuple(words[i : i + 3]) for i in range(max(1, len(words) - 2))}

    index: dict[tuple[str, ...], list[int]] = {}
    right_texts = list(right)
    right_shingles = [shingles(text) for text in right_texts]
    for position, grams in enumerate(right_shingles):
        for gram in grams:
            index.setdefault(gram, []).append(position)
    pairs = []
    for text in left:
        grams = shingles(text)
        candidates = {position for gram in grams for position in index.get(gram, [])}
        for position in candidates:
            other = right_shingles[position]
            if len(grams & other) / len(grams | other) >= threshold:
                pairs.append((text, right_texts[position]))
    return pairs


def encode_for_model(rows: Sequence[dict[str, Any]], tokenizer: Any, max_length: int,
                     use_context: bool) -> "datasets.Dataset":
    """Tokenize rows (with the previous sentence as second segment when ``use_context``) into a Dataset."""
    from datasets import Dataset

    texts = [row["text"] for row in rows]
    contexts = [row.get("context") or "" for row in rows] if use_context else None
    # "longest_first" trims the longer segment first, so a long context is cut before the sentence.
    encoded = tokenizer(texts, contexts, truncation=True, max_length=max_length)
    columns = {key: list(value) for key, value in encoded.items()}
    if all("label" in row for row in rows):
        columns["labels"] = [LABEL2ID[row["label"]] for row in rows]
    return Dataset.from_dict(columns)


# Spelling and typography that vary between German outlets; the corpus was written mostly in one style.
SPELLING_VARIANTS: tuple[tuple[str, str], ...] = (
    ("Pjöngjang", "Pyongyang"), ("Kim Jong Un", "Kim Jong-un"), ("Schoigu", "Shoigu"), ("Sacharowa", "Zakharova"),
)
QUOTE_STYLES: tuple[tuple[str, str], ...] = (("„", '"'), ("“", '"'), ("‚", "'"), ("‘", "'"))


def vary_spelling(rows: Sequence[dict[str, Any]], seed: int, rate: float = 0.4) -> list[dict[str, Any]]:
    """Rewrite a ``rate`` share of rows with another name spelling and straight quotes (labels unchanged)."""
    # Real news text mixes „…“ with "…" and Pjöngjang with Pyongyang; the model should not key on either.
    rng = random.Random(seed)
    varied = []
    for row in rows:
        text = row["text"]
        if rng.random() < rate:
            for original, variant in SPELLING_VARIANTS:
                text = text.replace(original, variant)
            for original, variant in QUOTE_STYLES:
                text = text.replace(original, variant)
        varied.append({**row, "text": text})
    return varied
