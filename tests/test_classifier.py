"""The public classifier object: inputs, outputs, article prediction, save, calibration, legacy runs, HF pipeline."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from german_stance import LABELS, StanceClassifier
from german_stance.data import encode_for_model, encode_texts
from german_stance.inference.pipeline import summarise_article
from german_stance.tasks import STANCE, Task

from conftest import toy_rows


def test_readme_python_api_example(joint_run: Path) -> None:
    classifier = StanceClassifier.from_run(joint_run)
    labels = classifier.predict(["Seoul verurteilte das Abkommen.", "Kim dankte Putin."])
    assert len(labels) == 2 and set(labels) <= set(LABELS)


def test_inputs_string_list_empty_and_wrong_types(joint_run: Path) -> None:
    classifier = StanceClassifier.from_run(joint_run)
    assert len(classifier.predict("Ein Satz mit vielen Zeichen.")) == 1  # a string is one sentence
    assert classifier.predict([]) == []
    assert classifier.predict_proba([]).shape == (0, 3)
    probabilities = classifier.predict_proba(["Kim dankte Putin.", "Nordkorea testete eine Rakete."])
    assert isinstance(probabilities, np.ndarray) and probabilities.shape == (2, 3)
    assert probabilities.sum(axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)
    assert classifier.predict_proba("Kim dankte Putin.", task="sentiment").shape == (1, 3)
    for bad in (None, 3, [1, 2], {"text": "x"}, ("a", None)):
        with pytest.raises(TypeError, match="expected a sentence"):
            classifier.predict(bad)
    with pytest.raises(ValueError, match="expected a task"):
        classifier.predict("x", task="irony")


def test_predict_article_records_and_summary(joint_run: Path) -> None:
    result = StanceClassifier.from_run(joint_run).predict_article(
        "Putin besucht Pjöngjang\nSeoul verurteilte das Abkommen. Kim dankte Putin.")
    assert [r["sentence"] for r in result["sentences"]] == [1, 2, 3]
    record = result["sentences"][0]
    assert record["stance"] in LABELS and record["sentiment"] in ("negative", "neutral", "positive")
    assert sum(record[f"p_stance_{label}"] for label in LABELS) == pytest.approx(1.0, abs=1e-3)
    summary = result["summary"]
    assert summary["sentences"] == 3 and set(summary) == {"sentences", "stance", "sentiment"}
    assert summary["stance"]["dominant"] in LABELS


def test_save_copies_the_run_and_refuses_to_overwrite(joint_run: Path, tmp_path: Path) -> None:
    classifier = StanceClassifier.from_run(joint_run)
    copy = classifier.save(tmp_path / "copy")
    texts = [row["text"] for row in toy_rows()]
    assert StanceClassifier.from_run(copy).predict_proba(texts) == pytest.approx(classifier.predict_proba(texts))
    with pytest.raises(FileExistsError, match="expected a new folder"):
        classifier.save(copy)


def test_training_and_prediction_encode_a_sentence_identically(joint_run: Path) -> None:
    classifier = StanceClassifier.from_run(joint_run)
    row = toy_rows()[0]
    trained = encode_for_model([row], classifier.run.tokenizer, classifier.max_length, use_context=False, tasks=(STANCE,))
    predicted = encode_texts(classifier.run.tokenizer, [row["text"]], None, classifier.max_length)
    assert trained[0]["input_ids"] == predicted["input_ids"][0]
    with_context = encode_for_model([{**row, "context": "Vorher."}], classifier.run.tokenizer, 32, use_context=True)
    assert with_context[0]["input_ids"] == encode_texts(classifier.run.tokenizer, [row["text"]], ["Vorher."], 32)["input_ids"][0]


def test_temperature_is_applied_only_where_the_run_says_so(joint_run: Path, tmp_path: Path) -> None:
    copy = StanceClassifier.from_run(joint_run).save(tmp_path / "calibrated")
    (copy / "calibration.json").write_text(json.dumps({"stance": {"temperature": 4.0, "applied": True},
                                                       "sentiment": {"temperature": 4.0, "applied": False}}))
    texts = [row["text"] for row in toy_rows()]
    raw = StanceClassifier.from_run(copy, calibrated=False)
    scaled = StanceClassifier.from_run(copy)
    logits = raw.logits(texts)
    expected = torch.softmax(torch.tensor(logits["stance"]) / 4.0, dim=1).numpy()
    assert scaled.predict_proba(texts) == pytest.approx(expected, abs=1e-5)
    assert scaled.predict_proba(texts, task="sentiment") == pytest.approx(raw.predict_proba(texts, task="sentiment"))


def test_non_finite_logits_stop_with_a_clear_error(joint_run: Path) -> None:
    classifier = StanceClassifier.from_run(joint_run)
    with torch.no_grad():
        classifier.run.model.heads["stance"].weight.fill_(float("nan"))
    with pytest.raises(ValueError, match="NaN or infinity"):
        classifier.predict("Kim dankte Putin.")


def test_a_two_task_definition_renders_and_summarises() -> None:
    from io import StringIO

    from german_stance.inference.inputs import Article
    from german_stance.inference.writers import make_writer

    irony = Task(name="irony", labels=("ironic", "literal", "unclear"), field="irony", sides=("ironic", "literal"))
    tasks = (STANCE, irony)
    records = [{"article": "a", "sentence": i + 1, "text": f"Satz {i}.", "stance": stance, "stance_confidence": 0.9,
                **{f"p_stance_{label}": 0.9 if label == stance else 0.05 for label in STANCE.labels},
                "irony": irony_label, "irony_confidence": 0.8,
                **{f"p_irony_{label}": 0.8 if label == irony_label else 0.1 for label in irony.labels}}
               for i, (stance, irony_label) in enumerate([("critical", "ironic"), ("critical", "literal"),
                                                          ("neutral", "ironic")])]
    summary = summarise_article(records, tasks)
    assert summary["stance"]["dominant"] == "critical" and summary["irony"]["dominant"] == "ironic"
    for fmt in ("jsonl", "csv", "table", "html"):
        stream = StringIO()
        writer = make_writer(fmt, stream, tasks, StringIO())
        writer.start(Article("a", " ".join(r["text"] for r in records)))
        writer.write(records)
        writer.finish(Article("a", " ".join(r["text"] for r in records)), summary)
        writer.close()
        assert "ironic" in stream.getvalue(), fmt


def test_legacy_stance_run_loads_and_predicts_like_its_original_head(tiny_model_dir: Path, tmp_path: Path) -> None:
    """A run saved by version 0.1 (BertForSequenceClassification weights, mean pooling) gives the same probabilities."""
    from transformers import AutoTokenizer, BertForSequenceClassification

    from german_stance.config import Config, save_config

    run = tmp_path / "old-run"
    (run / "model").mkdir(parents=True)
    torch.manual_seed(0)
    old = BertForSequenceClassification.from_pretrained(tiny_model_dir).eval()
    old.save_pretrained(run / "model")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.save_pretrained(run / "model")
    save_config(Config(model_name=str(tiny_model_dir), max_length=32), run / "config.yaml")
    texts = [row["text"] for row in toy_rows()]
    with torch.no_grad():  # the version 0.1 head: mean of the token states, pooler dense + tanh, classifier
        encoded = tokenizer(texts, padding=True, truncation=True, max_length=32, return_tensors="pt")
        hidden = old.bert(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).float()
        pooled = torch.tanh(old.bert.pooler.dense((hidden * mask).sum(1) / mask.sum(1)))
        expected = torch.softmax(old.classifier(pooled), dim=1).numpy()
    classifier = StanceClassifier.from_run(run, device="cpu")
    assert classifier.run.legacy and [task.name for task in classifier.tasks] == ["stance"]
    assert np.abs(classifier.predict_proba(texts) - expected).max() <= 1e-5
    with pytest.raises(ValueError, match="before sentiment heads existed"):
        classifier.predict("x", task="sentiment")


def test_transformers_pipeline_with_remote_code_matches_the_api(joint_run: Path) -> None:
    from transformers import pipeline

    texts = [row["text"] for row in toy_rows()]
    classifier = StanceClassifier.from_run(joint_run, device="cpu", calibrated=False)
    ours = classifier.predict_proba(texts)
    hf = pipeline("text-classification", model=str(joint_run / "model"), trust_remote_code=True, device="cpu", top_k=None)
    theirs = np.array([[next(d["score"] for d in row if d["label"] == label) for label in LABELS] for row in hf(texts)])
    assert np.abs(theirs - ours).max() <= 1e-4


def test_transformers_without_remote_code_fails_loudly(joint_run: Path, monkeypatch) -> None:
    import subprocess
    import sys

    # A fresh interpreter: in this one our package has registered its classes with transformers.
    code = ("from transformers import pipeline\n"
            f"pipeline('text-classification', model={str(joint_run / 'model')!r}, trust_remote_code=False)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            stdin=subprocess.DEVNULL)
    assert result.returncode != 0
    assert "trust_remote_code" in result.stderr


def test_replace_keeps_the_config_type(tiny_config) -> None:
    assert replace(tiny_config, tasks=["stance", "sentiment"]).tasks == ["stance", "sentiment"]


def test_min_confidence_marks_uncertain_sentences(joint_run: Path) -> None:
    texts = [row["text"] for row in toy_rows()]
    sure = StanceClassifier.from_run(joint_run).predict_records(texts)
    unsure = StanceClassifier.from_run(joint_run, min_confidence=0.99).predict_records(texts)
    assert all(record["stance"] in LABELS for record in sure)
    assert {record["stance"] for record in unsure} == {"uncertain"}  # the tiny model is never that sure
    assert [r["p_stance_critical"] for r in unsure] == [r["p_stance_critical"] for r in sure]
    summary = summarise_article([{**r, "sentence": i + 1} for i, r in enumerate(unsure)], (STANCE,))
    assert summary["stance"]["uncertain"] == len(texts) and summary["stance"]["dominant"] == "neutral"
    with pytest.raises(ValueError, match="min_confidence"):
        StanceClassifier.from_run(joint_run, min_confidence=1.5)


def test_calibrate_command_stores_temperatures_fitted_on_a_file(joint_run: Path, tmp_path: Path) -> None:
    from german_stance.cli import main

    from conftest import write_jsonl

    copy = StanceClassifier.from_run(joint_run).save(tmp_path / "run")
    data = write_jsonl(tmp_path / "heldout.jsonl", toy_rows())
    assert main(["--quiet", "calibrate", "--model", str(copy), "--data", str(data)]) == 0
    stored = json.loads((copy / "calibration.json").read_text())
    assert set(stored) == {"stance", "sentiment"} and stored["stance"]["fitted_on"] == str(data)
    assert stored["stance"]["n"] == len(toy_rows())
