"""Analysis scripts under scripts/: they run on a tiny run and report what they claim to."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, toy_rows, write_jsonl


def test_lexical_transfer_scores_the_encoder_tfidf_and_blends(joint_run: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from german_stance import StanceClassifier
    from german_stance.evaluation.metrics import compute_metrics

    rows = [{**row, "writer": "wa" if i % 2 else "wb"} for i, row in enumerate(toy_rows())]
    data = write_jsonl(tmp_path / "eval.jsonl", rows)
    out = tmp_path / "transfer.md"
    monkeypatch.setattr(sys, "argv", ["lexical_transfer.py", "--model", str(joint_run), "--train",
                                      str(joint_run.parent.parent / "train.jsonl"), "--set", f"only-wa={data}:wa",
                                      "--set", f"all={data}", "--by", "writer", "--out", str(out)])
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(REPO / "scripts" / "lexical_transfer.py"), run_name="__main__")
    assert stopped.value.code == 0
    text = out.read_text(encoding="utf-8")
    for heading in ("## only-wa: stance (6 sentences)", "## all: stance (12 sentences)", "## all: sentiment"):
        assert heading in text
    assert "| wa | 6 |" in text and "| wb | 6 |" in text  # the per-writer breakdown

    # w = 0 is the encoder alone: the same macro-F1 as the run's own predictions without its lexical half.
    classifier = StanceClassifier.from_run(joint_run, backend="torch", calibrated=False)
    classifier.run.lexical = None
    predicted = np.array([classifier.task().label2id[label] for label in classifier.predict([r["text"] for r in rows])])
    gold = np.array([classifier.task().label2id[r["label"]] for r in rows])
    expected = compute_metrics(gold, predicted, classifier.labels)["macro_f1"]
    section = text.split("## all: stance")[1]
    shown = float(re.search(r"\| 0\.00 \| ([\d.]+) ", section).group(1))
    assert shown == pytest.approx(expected, abs=5e-4)


def test_lexical_transfer_refuses_a_writer_with_no_sentences(joint_run: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    data = write_jsonl(tmp_path / "eval.jsonl", toy_rows())
    monkeypatch.setattr(sys, "argv", ["lexical_transfer.py", "--model", str(joint_run), "--train", str(data),
                                      "--set", f"x={data}:w99", "--out", str(tmp_path / "t.md")])
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(REPO / "scripts" / "lexical_transfer.py"), run_name="__main__")
    assert "found none; check the writer ids" in str(stopped.value.code)
    assert not (tmp_path / "t.md").exists()
