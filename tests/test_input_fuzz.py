"""Fuzzing the input readers of ``predict`` (hypothesis): random bytes, encodings, control characters, long lines.

Usage: ``FUZZ_EXAMPLES=2000 pytest tests/test_input_fuzz.py`` for a longer hunt. Whatever comes in, a reader either returns an article with text or raises ``InputError`` with a message that says
what was expected; it never crashes with anything else. The splitter never loses a letter, however the text is cut.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from german_stance.inference import pipeline  # noqa: E402
from german_stance.inference.inputs import (Article, InputError, check_sentences, decode_bytes,  # noqa: E402
                                             parse_jsonl_line, read_file, read_stream)

# FUZZ_EXAMPLES=2000 for a long hunt; the suite's default stays fast.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252"]
# Text a news file may hold, plus the awkward: control characters, separators, combining marks, emoji, RTL marks.
TEXT = st.lists(st.one_of(
    st.sampled_from(["Kim", "dankte", "Putin.", "Seoul", "verurteilte", "das", "Abkommen!", "Grüße?", "ÄÖÜß", "„", "“",
                     "19.", "Juni", " ", " ", "\n", "\n\n"]),
    st.characters(codec="utf-8", exclude_characters="\x00"),
    st.sampled_from(["\r", "\r\n", "\x0b", "\x0c", "\x1b[31m", "\u2028", "\u2029", "\u202e", "\u200b", "\ufeff", "🤝"]),
), max_size=120).map("".join)


def outcome(read) -> Article | InputError:
    """The article, or the ``InputError``; any other exception fails the test."""
    try:
        article = read()
    except InputError as error:
        assert "expected" in str(error) and "\n" not in str(error).strip()
        return error
    assert isinstance(article, Article) and isinstance(article.id, str) and isinstance(article.text, str)
    assert any(character.isalpha() for character in article.text)
    return article


@FUZZ
@given(data=st.binary(max_size=600), suffix=st.sampled_from([".txt", ".md", ".html", ".htm"]))
def test_read_file_on_random_bytes(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"a{suffix}"
        path.write_bytes(data)
        outcome(lambda: read_file(path))


@FUZZ
@given(text=TEXT, encoding=st.sampled_from(ENCODINGS))
def test_text_in_any_encoding(text: str, encoding: str) -> None:
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        return
    result = outcome(lambda: Article("x", check_sentences(decode_bytes(data, "x"), "x")))
    if isinstance(result, Article) and encoding in ("utf-8", "utf-8-sig", "utf-16", "utf-32"):
        # What can be read unambiguously is read exactly (a leading BOM character of the text itself aside).
        assert result.text.lstrip("\ufeff") == text.lstrip("\ufeff")


@FUZZ
@given(data=st.binary(max_size=300))
def test_standard_input_on_random_bytes(data: bytes) -> None:
    outcome(lambda: read_stream(io.TextIOWrapper(io.BytesIO(data))))


@FUZZ
@given(line=st.one_of(st.binary(max_size=200), st.builds(
    lambda key, value: __import__("json").dumps({key: value}).encode("utf-8"),
    st.sampled_from(["id", "text", "titel"]),
    st.one_of(TEXT, st.integers(), st.none(), st.lists(st.integers(), max_size=2), st.booleans()))))
def test_jsonl_line_on_random_input(line: bytes) -> None:
    outcome(lambda: parse_jsonl_line(Path("batch.jsonl"), 1, line))


@settings(max_examples=max(EXAMPLES * 2 // 3, 1), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT, repeat=st.integers(1, 30), block_chars=st.integers(8, 120))
def test_cutting_long_lines_keeps_every_letter(text: str, repeat: int, block_chars: int) -> None:
    # Long lines without breaks are cut into bounded blocks; no cut may drop or double a letter.
    long = (text.replace("\n", " ") + " ") * repeat
    sentences = list(pipeline.iter_sentences(long, block_chars=block_chars))
    assert all(isinstance(sentence, str) and sentence for sentence in sentences)
    letters = "".join(character for character in long if character.isalnum())
    assert "".join(character for sentence in sentences for character in sentence if character.isalnum()) == letters
