"""Training the tiny BERT end to end: run folder, best checkpoint, reload, refusal to overwrite."""

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from german_stance.config import LABELS, load_config
from german_stance.model import check_run_dir, freeze_word_embeddings, load_backbone, load_run
from german_stance.predict import predict_logits, predict_sentences
from german_stance.train import class_weights_for, train

from conftest import toy_rows


def test_run_folder_holds_everything(trained_run: Path, tiny_config) -> None:
    for name in ("model/config.json", "model/model.safetensors", "model/tokenizer.json", "config.yaml",
                 "label_map.json", "metrics.json"):
        assert (trained_run / name).is_file(), name
    assert not (trained_run / "checkpoints").exists()
    assert load_config(trained_run / "config.yaml") == tiny_config
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert 0.0 <= metrics["dev_macro_f1"] <= 1.0 and metrics["train_seconds"] > 0
    # The kept model is the best epoch by dev macro-F1.
    assert metrics["dev_macro_f1"] == pytest.approx(max(e["val_macro_f1"] for e in metrics["history"]))
    assert json.loads((trained_run / "label_map.json").read_text())["label2id"] == {l: i for i, l in enumerate(LABELS)}


def test_predictions_identical_after_reload(trained_run: Path) -> None:
    texts = [row["text"] for row in toy_rows()]
    first = predict_logits(load_run(trained_run, device="cpu"), texts)
    second = predict_logits(load_run(trained_run, device="cpu"), texts)
    assert first.shape == (len(texts), 3)
    assert (first == second).all()
    records = predict_sentences(load_run(trained_run, device="cpu"), texts[:2])
    assert records[0]["label"] in LABELS
    assert sum(records[0]["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)


def test_batching_does_not_change_results(trained_run: Path) -> None:
    run = load_run(trained_run, device="cpu")
    texts = [row["text"] for row in toy_rows()]
    assert predict_logits(run, texts, batch_size=3) == pytest.approx(predict_logits(run, texts, batch_size=64), abs=1e-5)


def test_refuses_to_overwrite_a_trained_run(trained_run: Path, tiny_config) -> None:
    before = (trained_run / "model" / "model.safetensors").read_bytes()
    with pytest.raises(FileExistsError, match="--run_name=<new name> or --overwrite"):
        train(tiny_config)
    assert (trained_run / "model" / "model.safetensors").read_bytes() == before


def test_context_run_trains_and_predicts(tiny_config) -> None:
    run_dir = train(replace(tiny_config, use_context=True, run_name="ctx", num_epochs=1))
    run = load_run(run_dir, device="cpu")
    assert run.config.use_context
    assert predict_logits(run, ["Dies wird als Bedrohung betrachtet."], ["Pjöngjang liefert Granaten."]).shape == (1, 3)


def test_freezing_embeddings_leaves_them_untouched(tiny_config) -> None:
    model, _ = load_backbone(replace(tiny_config, freeze_embeddings=True))
    assert not model.get_input_embeddings().weight.requires_grad
    assert any(p.requires_grad for p in model.parameters())
    assert freeze_word_embeddings(model) == model.get_input_embeddings().weight.numel()


def test_class_weights_favour_rare_labels() -> None:
    rows = [{"label": "neutral"}] * 6 + [{"label": "critical"}] * 3 + [{"label": "supportive"}]
    weights = class_weights_for(rows)
    assert weights.tolist() == pytest.approx([10 / 9, 10 / 18, 10 / 3])
    assert isinstance(weights, torch.Tensor)


def test_not_a_run_folder(tmp_path: Path) -> None:
    (tmp_path / "something.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="expected a trained run"):
        check_run_dir(tmp_path)
    with pytest.raises(FileNotFoundError, match="expected a run folder"):
        check_run_dir(tmp_path / "missing")


def test_cls_pooling_trains_with_the_stock_head(tiny_config) -> None:
    run_dir = train(replace(tiny_config, pooling="cls", run_name="cls", num_epochs=1))
    run = load_run(run_dir, device="cpu")
    assert type(run.model).__name__ == "BertForSequenceClassification"
    assert predict_logits(run, ["Seoul verurteilte das Abkommen."]).shape == (1, 3)


def test_mean_pooling_ignores_padding(trained_run: Path) -> None:
    run = load_run(trained_run, device="cpu")
    assert type(run.model).__name__ == "BertMeanPoolingClassifier"
    short = "Kim dankte Putin."
    alone = predict_logits(run, [short])
    padded = predict_logits(run, [short, toy_rows()[0]["text"] * 2])[:1]
    assert alone == pytest.approx(padded, abs=1e-5)


def test_mean_pooling_refuses_non_bert_backbones(tmp_path: Path) -> None:
    from transformers import DistilBertConfig

    from german_stance.model import classifier_class

    DistilBertConfig(vocab_size=50, dim=32, n_layers=1, n_heads=2, hidden_dim=37).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="set --pooling=cls"):
        classifier_class(tmp_path, "mean")
