"""Length-bucketed batches: sort by token count, batch by a token budget, pad each batch to its own longest.

Padding is wasted compute; sorting first keeps batches of similar length. Usage:
``for index, batch in bucket_batches(encoded["input_ids"], pad_id=0): ...``
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

DEFAULT_BATCH_TOKENS = 4096  # padded tokens per forward pass
DEFAULT_MAX_BATCH = 64


def bucket_batches(encoded: dict[str, Sequence[Sequence[int]]], pad_id: int, batch_tokens: int = DEFAULT_BATCH_TOKENS,
                   max_batch: int = DEFAULT_MAX_BATCH) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Yield ``(positions, padded arrays)``; ``positions`` index the input so results can go back in order."""
    lengths = np.array([len(ids) for ids in encoded["input_ids"]])
    order = np.argsort(lengths, kind="stable")
    start = 0
    while start < len(order):
        end = start + 1
        # Sorted ascending, so the last member is the longest: the padded size is count * its length.
        while end < len(order) and end - start < max_batch and (end - start + 1) * lengths[order[end]] <= batch_tokens:
            end += 1
        positions = order[start:end]
        width = int(lengths[positions].max())
        batch = {}
        for key, values in encoded.items():
            fill = pad_id if key == "input_ids" else 0
            array = np.full((len(positions), width), fill, dtype=np.int64)
            for row, position in enumerate(positions):
                array[row, : len(values[position])] = values[position]
            batch[key] = array
        if "attention_mask" not in batch:
            batch["attention_mask"] = (np.arange(width)[None, :] < lengths[positions][:, None]).astype(np.int64)
        yield positions, batch
        start = end
