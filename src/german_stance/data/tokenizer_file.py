"""A ``tokenizer.json`` read with the ``tokenizers`` library alone: the call ``encode_texts`` makes, without transformers.

The ONNX path uses it so that prediction never imports transformers (its import alone costs seconds).
It gives the same ids as transformers' fast tokenizer for the same file. Usage::

    tokenizer = TokenizerFile("runs/default/onnx/tokenizer.json", pad_token_id=1)
    encode_texts(tokenizer, ["Ein Satz."], None, max_length=128)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class TokenizerFile:
    """Callable like a transformers tokenizer for ``texts, pairs, truncation, max_length`` (no padding)."""

    def __init__(self, path: str | Path, pad_token_id: int, model_input_names: Sequence[str] = (
            "input_ids", "attention_mask")) -> None:
        from tokenizers import Tokenizer

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"expected a tokenizer file at {self.path}, found nothing; "
                                    "export the run again with `german-stance export --model RUN`")
        self.tokenizer = Tokenizer.from_file(str(self.path))
        self.tokenizer.no_padding()  # batches are padded later, each to its own longest member
        self.pad_token_id = pad_token_id
        self.model_input_names = tuple(model_input_names)

    def __call__(self, texts: Sequence[str], pairs: Sequence[str] | None = None, truncation: bool = True,
                 max_length: int | None = None, padding: bool = False, return_tensors: str | None = None
                 ) -> dict[str, list[list[int]]]:
        """``{"input_ids", "attention_mask"[, "token_type_ids"]}`` as lists, like transformers' ``__call__``."""
        if padding or return_tensors:
            raise ValueError("expected padding=False and return_tensors=None for TokenizerFile, found "
                             f"padding={padding!r}, return_tensors={return_tensors!r}; pad with bucket_batches")
        if truncation and max_length:
            # transformers' truncation=True is "longest_first": the longer segment of a pair is cut first.
            self.tokenizer.enable_truncation(max_length, strategy="longest_first")
        else:
            self.tokenizer.no_truncation()
        inputs = list(zip(texts, pairs)) if pairs is not None else list(texts)
        encodings = self.tokenizer.encode_batch(inputs, add_special_tokens=True)
        result = {"input_ids": [encoding.ids for encoding in encodings],
                  "attention_mask": [encoding.attention_mask for encoding in encodings]}
        if "token_type_ids" in self.model_input_names:
            result["token_type_ids"] = [encoding.type_ids for encoding in encodings]
        return result

    def tokenize(self, text: str) -> list[str]:
        """The pieces of one text, without special tokens."""
        return self.tokenizer.encode(text, add_special_tokens=False).tokens
