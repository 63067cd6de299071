"""The shipped corpus: schema, labels, class floor, and no leakage across train/dev/test."""

import json
from collections import Counter
from pathlib import Path

import pytest

from german_stance.config import LABELS
from german_stance.data import near_duplicate_pairs, read_sentences, vary_spelling

DATA = Path(__file__).resolve().parents[1] / "data"
SPLITS = ("train", "dev", "test")


@pytest.fixture(scope="module")
def splits() -> dict[str, list[dict]]:
    return {name: read_sentences(DATA / f"{name}.jsonl") for name in SPLITS}


def test_schema_and_labels(splits) -> None:
    for rows in splits.values():
        for row in rows:
            assert {"id", "text", "label", "source", "context", "register"} <= set(row)
            assert row["label"] in LABELS and row["text"].strip()
    ids = [row["id"] for rows in splits.values() for row in rows]
    assert len(ids) == len(set(ids))


def test_size_and_class_floor(splits) -> None:
    rows = [row for part in splits.values() for row in part]
    assert len(rows) >= 3000
    counts = Counter(row["label"] for row in rows)
    for label in LABELS:
        assert counts[label] / len(rows) >= 0.25, (label, counts)


def test_no_article_crosses_splits(splits) -> None:
    sources = {name: {row["source"] for row in rows} for name, rows in splits.items()}
    assert not sources["train"] & sources["dev"]
    assert not sources["train"] & sources["test"]
    assert not sources["dev"] & sources["test"]


def test_no_near_duplicate_crosses_splits(splits) -> None:
    texts = {name: [row["text"] for row in rows] for name, rows in splits.items()}
    assert near_duplicate_pairs(texts["dev"], texts["train"]) == []
    assert near_duplicate_pairs(texts["test"], texts["train"] + texts["dev"]) == []


def test_seed_article_is_never_trained_on(splits) -> None:
    seed = read_sentences(DATA / "eval" / "seed_article.jsonl")
    assert len(seed) == 15
    training = [row["text"] for row in splits["train"]]
    assert near_duplicate_pairs([row["text"] for row in seed], training, threshold=0.6) == []


def test_context_is_the_previous_sentence_of_the_article(splits) -> None:
    rows = splits["dev"]
    for previous, row in zip(rows, rows[1:]):
        if previous["source"] == row["source"]:
            assert row["context"] == previous["text"]


def test_spelling_variants_keep_labels_and_change_only_spelling() -> None:
    rows = [{"text": "Kim Jong Un empfing Schoigu in Pjöngjang: „Freundschaft“.", "label": "supportive"}] * 50
    varied = vary_spelling(rows, seed=1)
    changed = [row for row in varied if row["text"] != rows[0]["text"]]
    assert 5 < len(changed) < 45 and all(row["label"] == "supportive" for row in varied)
    assert changed[0]["text"] == 'Kim Jong-un empfing Shoigu in Pyongyang: "Freundschaft".'
    assert vary_spelling(rows, seed=1) == varied
