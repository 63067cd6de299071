"""The one tokenizer call that training and inference share, so their inputs cannot drift apart.

Usage: ``encode_texts(tokenizer, ["Ein Satz."], None, max_length=128)``
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..tasks import Task


def encode_texts(tokenizer: Any, texts: Sequence[str], contexts: Sequence[str] | None, max_length: int,
                 padding: bool = False, return_tensors: str | None = None) -> Any:
    """Tokenize sentences, with their context as second segment when ``contexts`` is given."""
    # "longest_first" trims the longer segment first, so a long context is cut before the sentence.
    pairs = [context or "" for context in contexts] if contexts is not None else None
    return tokenizer(list(texts), pairs, truncation=True, max_length=max_length, padding=padding,
                     return_tensors=return_tensors)


def encode_for_model(rows: Sequence[dict[str, Any]], tokenizer: Any, max_length: int, use_context: bool,
                     tasks: Sequence[Task] = ()) -> "datasets.Dataset":  # noqa: F821
    """Tokenize labelled rows into a ``datasets.Dataset``; ``labels`` holds one id per task (-100 = missing)."""
    from datasets import Dataset

    contexts = [row.get("context") or "" for row in rows] if use_context else None
    encoded = encode_texts(tokenizer, [row["text"] for row in rows], contexts, max_length)
    columns = {key: list(value) for key, value in encoded.items()}
    if tasks:
        columns["labels"] = [[task.label2id[row[task.field]] if row.get(task.field) in task.label2id else -100
                              for task in tasks] for row in rows]
    return Dataset.from_dict(columns)
