"""Reading, validating and splitting sentence files."""

from pathlib import Path

import pytest

from german_stance.data import add_context, near_duplicate_pairs, read_sentences, split_by_article

from conftest import toy_rows, write_jsonl


def test_reads_valid_file(tmp_path: Path) -> None:
    rows = read_sentences(write_jsonl(tmp_path / "d.jsonl", toy_rows()))
    assert len(rows) == 12 and rows[0]["label"] == "critical"


@pytest.mark.parametrize(("content", "message"), [
    (b"", "found an empty file"),
    (b'{"id": "1", "source": "a", "text": "Satz.", "label": "positive"}\n', "expected a label in"),
    (b'{"id": "1", "source": "a", "label": "neutral"}\n', r"add \['text'\]"),
    (b'{"id": "1", "source": "a", "text": "  ", "label": "neutral"}\n', "expected a non-empty text"),
    (b'{"id": "1", "source": "a", "text": "Satz", "label": "neutral"\n', "line 1 is not JSON"),
    ('{"id": "1", "source": "a", "text": "Gr\u00fc\u00dfe", "label": "neutral"}\n'.encode("latin-1"),
     "expected UTF-8 text"),
    (b'{"id": "1", "source": "a", "text": "A.", "label": "neutral"}\n{"id": "1", "source": "a", "text": "B.", '
     b'"label": "neutral"}\n', "expected unique ids"),
])
def test_bad_files_are_rejected(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        read_sentences(path)
    assert path.read_bytes() == content  # the file is left as it was


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="expected a JSONL file"):
        read_sentences(tmp_path / "missing.jsonl")


def test_split_keeps_articles_together() -> None:
    rows = [{**row, "source": f"{row['source']}-{copy}"} for copy in range(5) for row in toy_rows()]
    parts = split_by_article(rows, [0.6, 0.2, 0.2], seed=1)
    sources = [{row["source"] for row in part} for part in parts]
    assert sum(len(part) for part in parts) == len(rows)
    assert not (sources[0] & sources[1]) and not (sources[0] & sources[2]) and not (sources[1] & sources[2])
    assert all(parts)
    assert split_by_article(rows, [0.6, 0.2, 0.2], seed=1) == parts  # the seed fixes the split


def test_context_is_previous_sentence_of_same_article() -> None:
    rows = add_context(toy_rows())
    assert rows[0]["context"] == "" and rows[3]["context"] == ""  # first sentences of a1 and a2
    assert rows[1]["context"] == rows[0]["text"]


def test_near_duplicates_found_despite_small_edits() -> None:
    left = ["Der Vertrag wurde am 19. Juni in Pjöngjang unterzeichnet, teilte die Agentur mit."]
    right = ["Der Vertrag wurde am 19. Juni in Pjöngjang unterzeichnet, teilte die Agentur mit!",
             "Nordkorea testete erneut eine Rakete."]
    assert near_duplicate_pairs(left, right) == [(left[0], right[0])]
