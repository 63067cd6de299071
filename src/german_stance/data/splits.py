"""Split sentences by article and find near-duplicates across splits (so no article or sentence leaks).

Usage: ``train, dev, test = split_by_article(rows, [0.7, 0.15, 0.15], seed=13, stratify_key="writer")``
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any


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
