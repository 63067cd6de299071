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
    # A sentence dropped from dev as a near-duplicate of training stays the next sentence's context.
    removed = {item["text"] for item in json.loads((DATA / "corpus_stats.json").read_text())["removed_near_duplicates"]}
    rows = splits["dev"]
    for previous, row in zip(rows, rows[1:]):
        if previous["source"] == row["source"]:
            assert row["context"] == previous["text"] or row["context"] in removed


def test_spelling_variants_keep_labels_and_change_only_spelling() -> None:
    rows = [{"text": "Kim Jong Un empfing Schoigu in Pjöngjang: „Freundschaft“.", "label": "supportive"}] * 50
    varied = vary_spelling(rows, seed=1)
    changed = [row for row in varied if row["text"] != rows[0]["text"]]
    assert 5 < len(changed) < 45 and all(row["label"] == "supportive" for row in varied)
    assert changed[0]["text"] == 'Kim Jong-un empfing Shoigu in Pyongyang: "Freundschaft".'
    assert vary_spelling(rows, seed=1) == varied


def test_every_sentence_has_a_sentiment(splits) -> None:
    from german_stance.tasks import SENTIMENT

    for rows in splits.values():
        assert all(row["sentiment"] in SENTIMENT.labels for row in rows)
    counts = Counter(row["sentiment"] for rows in splits.values() for row in rows)
    assert min(counts.values()) / sum(counts.values()) >= 0.15, counts


def test_story_first_batch_covers_the_hard_kinds(splits) -> None:
    rows = [row for part in splits.values() for row in part]
    kinds = Counter(row.get("kind") for row in rows if row.get("kind"))
    assert len(kinds) == 6 and min(kinds.values()) >= 300, kinds
    pairs = Counter(row["pair"] for row in rows if row.get("pair"))
    assert len(pairs) >= 300 and set(pairs.values()) == {2}


def test_minimal_pair_twins_stay_in_one_split(splits) -> None:
    where: dict[str, set[str]] = {}
    for name, rows in splits.items():
        for row in rows:
            if row.get("pair"):
                where.setdefault(row["pair"], set()).add(name)
    assert all(len(names) == 1 for names in where.values())


def test_challenge_set_is_blind_to_training(splits) -> None:
    path = DATA / "eval" / "challenge.jsonl"
    if not path.is_file():
        pytest.skip("challenge set not built")
    challenge = read_sentences(path)
    assert len(challenge) >= 500 and len({row["source"] for row in challenge}) >= 60
    assert not {row["source"] for row in challenge} & {row["source"] for row in splits["train"]}
    training = [row["text"] for row in splits["train"]]
    assert near_duplicate_pairs([row["text"] for row in challenge], training) == []
