"""Data: read and validate labelled JSONL, split by article, previous-sentence context, encoding, sentences."""

from .augment import vary_spelling
from .context import add_context, contexts_for, with_context
from .encode import encode_for_model, encode_texts
from .io import read_jsonl, read_sentences, validate_rows
from .splits import near_duplicate_pairs, normalise_for_duplicates, split_by_article

__all__ = ["add_context", "contexts_for", "encode_for_model", "encode_texts", "near_duplicate_pairs",
           "normalise_for_duplicates", "read_jsonl", "read_sentences", "split_by_article", "validate_rows",
           "vary_spelling", "with_context"]
