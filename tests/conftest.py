"""Shared fixtures: a tiny randomly initialised German BERT saved as a local model folder, and toy data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# About a dozen German sentences, three labels, four articles (sources).
TOY_ROWS = [
    ("a1", "critical", "negative", "Seoul verurteilte das Abkommen als Bedrohung für die Sicherheit der Region."),
    ("a1", "neutral", "neutral", "Der Vertrag wurde am 19. Juni in Pjöngjang unterzeichnet."),
    ("a1", "supportive", "positive", "Putin lobte die standhafte Unterstützung Nordkoreas."),
    ("a2", "critical", "negative", "Die NATO warnte vor der wachsenden Zusammenarbeit zwischen Moskau und Pjöngjang."),
    ("a2", "neutral", "neutral", "Nordkorea testete erneut eine Rakete."),
    ("a2", "supportive", "positive", "Kim dankte Putin für die brüderliche Freundschaft."),
    ("a3", "critical", "negative", "Die Lieferungen könnten die Spannungen weiter verschärfen."),
    ("a3", "neutral", "neutral", "Beide Seiten wollen den Handel ausbauen."),
    ("a3", "supportive", "negative", "Peskow wies die Vorwürfe des Westens als haltlose Propaganda zurück."),
    ("a4", "critical", "negative", "Berlin bestellte den Geschäftsträger wegen der Waffenlieferungen ein."),
    ("a4", "neutral", "neutral", "Moskau und Pjöngjang bestreiten die Lieferungen."),
    ("a4", "supportive", "positive", "Die Partnerschaft sei ein Modell für eine gerechte Weltordnung, schrieb die KCNA."),
]


def toy_rows() -> list[dict]:
    """The toy rows as dicts in the data format."""
    return [{"id": f"{source}-{i}", "source": source, "label": label, "sentiment": sentiment, "text": text}
            for i, (source, label, sentiment, text) in enumerate(TOY_ROWS)]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    """Write rows as JSON lines and return the path."""
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT with a word-piece vocabulary built from the toy sentences, saved to disk."""
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        BertTokenizerFast,
    )

    folder = tmp_path_factory.mktemp("tiny-bert")
    words = sorted({word.strip(".,„“").lower() for *_, text in TOY_ROWS for word in text.split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *list("abcdefghijklmnopqrstuvwxyzäöüß"), *words]
    (folder / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf-8")
    # transformers 5 takes the vocabulary as ``vocab``; the old ``vocab_file`` keyword is ignored and gives an
    # empty five-token tokenizer that maps every word to [UNK].
    tokenizer = BertTokenizerFast(vocab=str(folder / "vocab.txt"), do_lower_case=True)
    assert len(tokenizer) > 50, "the tiny tokenizer lost its vocabulary"
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=37, num_labels=3, max_position_embeddings=128)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def toy_data(tmp_path: Path) -> dict[str, Path]:
    """Train and dev files from the toy rows (dev = two of the articles)."""
    rows = toy_rows()
    return {"train": write_jsonl(tmp_path / "train.jsonl", rows),
            "dev": write_jsonl(tmp_path / "dev.jsonl", [r for r in rows if r["source"] in ("a1", "a2")])}


@pytest.fixture
def tiny_config(tmp_path: Path, tiny_model_dir: Path, toy_data: dict[str, Path]):
    """A Config that trains the tiny BERT on the toy data in tmp_path."""
    from german_stance.config import Config

    return Config(model_name=str(tiny_model_dir), max_length=32, batch_size=4, num_epochs=2,
                  learning_rate=1e-3, freeze_embeddings=False, train_file=str(toy_data["train"]),
                  dev_file=str(toy_data["dev"]), output_dir=str(tmp_path / "runs"), run_name="tiny",
                  logging_steps=1)


@pytest.fixture
def trained_run(tiny_config) -> Path:
    """A trained tiny run folder."""
    from german_stance.training.trainer import train

    return train(tiny_config)


def train_tiny(folder: Path, tiny_model_dir: Path, tasks: tuple[str, ...] = ("stance",)) -> Path:
    """Train the tiny BERT on the toy rows for one epoch in ``folder``; return the run folder."""
    from german_stance.config import Config
    from german_stance.training.trainer import train

    data = write_jsonl(folder / "train.jsonl", toy_rows())
    return train(Config(model_name=str(tiny_model_dir), tasks=list(tasks), max_length=32, batch_size=4,
                        num_epochs=1, learning_rate=1e-3, freeze_embeddings=False, train_file=str(data),
                        dev_file=str(data), output_dir=str(folder / "runs"), run_name="tiny", logging_steps=1))


@pytest.fixture(scope="session")
def joint_run(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny stance + sentiment run, trained once for the session; tests copy it before changing it."""
    return train_tiny(tmp_path_factory.mktemp("joint-run"), tiny_model_dir, ("stance", "sentiment"))
