"""Training-time augmentation: other outlets' spellings and quote styles (labels unchanged).

Usage: ``rows = vary_spelling(rows, seed=42)``
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

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
