"""Trim a multilingual SentencePiece (Unigram) vocabulary to the pieces German text needs.

Kept: the special tokens, every piece the training sentences use, every piece of the most frequent German
words (wordfreq's large German list, each word as written and capitalised, since the list is lower case)
and, as the fallback, every single-character piece of the Latin, Greek and Cyrillic scripts, digits and
punctuation, so an unseen word still splits into kept pieces instead of becoming ``<unk>``. A word whose best
segmentation uses only kept pieces is tokenized exactly as before (the Unigram search just has fewer
candidates). Usage: ``keep = german_piece_ids(tokenizer_json, texts)``;
``trimmed = trim_tokenizer_json(tokenizer_json, keep)``; ``embeddings[keep]``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

DEFAULT_WORDS = 100_000
# Single characters below U+2000 (Latin, Greek, Cyrillic, IPA, combining marks) plus general punctuation
# and currency signs: enough for names and loan words in German news.
FALLBACK_RANGES = ((0x0000, 0x2000), (0x2000, 0x2070), (0x20A0, 0x20D0))


def require_unigram(tokenizer_json: dict[str, Any]) -> None:
    """Raise unless the tokenizer is a SentencePiece Unigram model (the XLM-R family, e5)."""
    kind = tokenizer_json.get("model", {}).get("type")
    if kind != "Unigram":
        raise ValueError(f"expected a Unigram (SentencePiece) tokenizer to trim, found {kind!r}; "
                         "export with --no-trim for this backbone")


def german_words(count: int = DEFAULT_WORDS) -> list[str]:
    """The ``count`` most frequent German words of wordfreq's large list, each lower case and capitalised."""
    try:
        from wordfreq import top_n_list
    except ImportError as error:
        raise ImportError("expected the wordfreq package for the German word list, found it missing; "
                          "install it with `pip install 'german-stance[onnx]'` or export with --no-trim") from error
    words = top_n_list("de", count, wordlist="large")
    return list(dict.fromkeys([*words, *(word[:1].upper() + word[1:] for word in words)]))


def is_fallback_piece(piece: str) -> bool:
    """A single character (with or without the word-start mark) from the fallback ranges."""
    core = piece[1:] if piece.startswith("▁") and len(piece) > 1 else piece
    return len(core) == 1 and any(low <= ord(core) < high for low, high in FALLBACK_RANGES)


def german_piece_ids(tokenizer_json: dict[str, Any], texts: Iterable[str], words: Sequence[str] | None = None
                     ) -> np.ndarray:
    """Sorted ids of the pieces to keep: specials, pieces of ``texts`` and ``words``, fallback characters."""
    from tokenizers import Tokenizer

    require_unigram(tokenizer_json)
    tokenizer = Tokenizer.from_str(json.dumps(tokenizer_json))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    keep = {token["id"] for token in tokenizer_json.get("added_tokens", [])}
    keep.add(tokenizer_json["model"]["unk_id"])
    for batch in (list(texts), list(words if words is not None else german_words())):
        for encoding in tokenizer.encode_batch(batch, add_special_tokens=False):
            keep.update(encoding.ids)
    vocab = tokenizer_json["model"]["vocab"]
    keep.update(index for index, (piece, _score) in enumerate(vocab) if is_fallback_piece(piece))
    return np.array(sorted(keep), dtype=np.int64)


def trim_tokenizer_json(tokenizer_json: dict[str, Any], keep: Sequence[int]) -> dict[str, Any]:
    """The tokenizer restricted to the ``keep`` pieces, renumbered 0..len(keep)-1 in the original order."""
    require_unigram(tokenizer_json)
    new_id = {int(old): new for new, old in enumerate(keep)}
    trimmed = copy.deepcopy(tokenizer_json)
    model = trimmed["model"]
    model["vocab"] = [tokenizer_json["model"]["vocab"][int(old)] for old in keep]
    model["unk_id"] = new_id[tokenizer_json["model"]["unk_id"]]
    for token in trimmed.get("added_tokens", []):
        token["id"] = new_id[token["id"]]
    processor = trimmed.get("post_processor") or {}
    processors = processor.get("processors", [processor])  # a Sequence of processors, or one
    for item in processors:
        for special in (item.get("special_tokens") or {}).values():
            special["ids"] = [new_id[old] for old in special["ids"]]
        for key in ("sep", "cls"):  # RobertaProcessing / BertProcessing keep [token, id] pairs
            if isinstance(item.get(key), list):
                item[key] = [item[key][0], new_id[item[key][1]]]
    trimmed["truncation"] = None
    trimmed["padding"] = None
    return trimmed


def tokens_per_sentence(tokenizer_json: dict[str, Any], texts: Sequence[str]) -> float:
    """Mean pieces per sentence (special tokens included) under a tokenizer."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(json.dumps(tokenizer_json))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    encodings = tokenizer.encode_batch(list(texts), add_special_tokens=True)
    return float(np.mean([len(encoding.ids) for encoding in encodings])) if encodings else 0.0


def unknown_rate(tokenizer_json: dict[str, Any], texts: Sequence[str]) -> float:
    """Share of pieces that are ``<unk>``."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(json.dumps(tokenizer_json))
    tokenizer.no_truncation()
    unk = tokenizer_json["model"]["unk_id"]
    ids = [index for encoding in tokenizer.encode_batch(list(texts), add_special_tokens=False) for index in encoding.ids]
    return float(np.mean([index == unk for index in ids])) if ids else 0.0
