"""German sentence splitting for news text, built on SoMaJo.

SoMaJo (``de_CMC`` model, pure Python, no model download) was the most accurate
of the splitters compared in ``benchmarks/splitter_comparison.py``: it knows
German ordinals ("am 19. Juni", "1. FC Köln"), abbreviations ("z. B.", "usw.")
and quotes, and already splits run-together text such as "besuchen.Die".

On top of it we add only two things it gets wrong on news text:

* a line break is a hard boundary, so a headline without a full stop is not
  glued to the first sentence of the body (SoMaJo treats "\\n" as a space);
* a decimal number with a full stop ("auf 18.432,1. Händler") ends a sentence:
  SoMaJo reads "1." as an ordinal, but a number with a decimal comma never is one.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from somajo import SoMaJo

__all__ = ["split_sentences"]

# Any line break counts, including the Unicode line/paragraph separators that
# str.splitlines() also treats as breaks.
_LINE_BREAK = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")

# "<digits>,<digits>." followed by whitespace and a capitalised (or quoted or
# bracketed) word: the full stop closes the sentence, not an ordinal.
_DECIMAL_END = re.compile(r"\d,\d+\.(?=\s+[\"„“«»(\[]?[A-ZÄÖÜ])")


@lru_cache(maxsize=1)
def _tokenizer() -> SoMaJo:
    """Build the SoMaJo tokenizer once (about 0.15 s), then reuse it for every call."""
    from somajo import SoMaJo  # imported lazily so importing this module stays cheap

    # character_offsets lets us cut sentences out of the original string, so
    # the text (spacing, quotes, entities) is returned exactly as given.
    return SoMaJo("de_CMC", split_camel_case=False, character_offsets=True)


def _split_decimal_ends(sentence: str) -> list[str]:
    """Split a sentence after decimal numbers that end a sentence."""
    parts, start = [], 0
    for match in _DECIMAL_END.finditer(sentence):
        parts.append(sentence[start : match.end()])
        start = match.end()
    parts.append(sentence[start:])
    return parts


def split_sentences(text: str) -> list[str]:
    """Split German text into stripped, non-empty sentences in original order."""
    if not text or text.isspace():
        return []
    tokenizer = _tokenizer()
    sentences: list[str] = []
    # Each line is tokenized on its own, so no sentence crosses a line break;
    # offsets are relative to the line we pass in.
    for line in _LINE_BREAK.split(text):
        if not line.strip():
            continue
        for tokens in tokenizer.tokenize_text([line]):
            if not tokens:  # a line of only invisible characters (e.g. U+200B) yields []
                continue
            begin, end = tokens[0].character_offset[0], tokens[-1].character_offset[1]
            for part in _split_decimal_ends(line[begin:end]):
                part = part.strip()
                if part:
                    sentences.append(part)
    return sentences
