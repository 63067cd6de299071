"""The previous sentence as context: one helper for training data, evaluation files and streamed articles.

Usage: ``contexts_for(["Satz eins.", "Satz zwei."])`` -> ``["", "Satz eins."]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def contexts_for(sentences: Sequence[str], previous: str = "") -> list[str]:
    """Each sentence's context: the sentence before it (``previous`` for the first, e.g. across chunks)."""
    return [previous, *sentences[:-1]] if sentences else []


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
