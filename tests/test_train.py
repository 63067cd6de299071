"""Training the tiny BERT end to end: run folder, best checkpoint, reload, calibration, refusal to overwrite."""

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from german_stance import StanceClassifier
from german_stance.config import LABELS, load_config
from german_stance.modeling.loading import check_run_dir, freeze_word_embeddings, head_config, load_backbone, load_run
from german_stance.tasks import SENTIMENT, STANCE
from german_stance.training.trainer import class_weights_for, train

from conftest import toy_rows, write_jsonl


def test_run_folder_holds_everything(trained_run: Path, tiny_config) -> None:
    for name in ("model/config.json", "model/model.safetensors", "model/tokenizer.json",
                 "model/modeling_german_stance.py", "config.yaml", "label_map.json", "metrics.json", "calibration.json"):
        assert (trained_run / name).is_file(), name
    assert not (trained_run / "checkpoints").exists()
    assert load_config(trained_run / "config.yaml") == tiny_config
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert 0.0 <= metrics["dev_macro_f1"] <= 1.0 and metrics["train_seconds"] > 0
    # The kept model is the best epoch by dev macro-F1.
    assert metrics["dev_macro_f1"] == pytest.approx(max(e["val_stance_macro_f1"] for e in metrics["history"]))
    label_map = json.loads((trained_run / "label_map.json").read_text())
    assert label_map["stance"]["label2id"] == {label: i for i, label in enumerate(LABELS)}
    calibration = json.loads((trained_run / "calibration.json").read_text())
    assert set(calibration["stance"]) >= {"temperature", "applied", "ece_raw", "ece_scaled"}


def test_predictions_identical_after_reload(trained_run: Path) -> None:
    texts = [row["text"] for row in toy_rows()]
    first = StanceClassifier.from_run(trained_run, device="cpu").logits(texts)["stance"]
    second = StanceClassifier.from_run(trained_run, device="cpu").logits(texts)["stance"]
    assert first.shape == (len(texts), 3)
    assert (first == second).all()


def test_batching_does_not_change_results(trained_run: Path) -> None:
    texts = [row["text"] for row in toy_rows()]
    small = StanceClassifier.from_run(trained_run, device="cpu", max_batch=3, batch_tokens=64).logits(texts)["stance"]
    large = StanceClassifier.from_run(trained_run, device="cpu").logits(texts)["stance"]
    assert small == pytest.approx(large, abs=1e-5)


def test_refuses_to_overwrite_a_trained_run(trained_run: Path, tiny_config) -> None:
    before = (trained_run / "model" / "model.safetensors").read_bytes()
    with pytest.raises(FileExistsError, match="--run_name=<new name> or --overwrite"):
        train(tiny_config)
    assert (trained_run / "model" / "model.safetensors").read_bytes() == before


def test_context_run_trains_and_predicts(tiny_config) -> None:
    classifier = StanceClassifier.from_run(train(replace(tiny_config, use_context=True, run_name="ctx", num_epochs=1)))
    assert classifier.use_context
    assert classifier.logits(["Dies wird als Bedrohung betrachtet."], ["Pjöngjang liefert Granaten."])["stance"].shape == (1, 3)


def test_freezing_embeddings_leaves_them_untouched(tiny_config) -> None:
    model, _ = load_backbone(replace(tiny_config, freeze_embeddings=True))
    assert not model.get_input_embeddings().weight.requires_grad
    assert any(p.requires_grad for p in model.parameters())
    assert freeze_word_embeddings(model) == model.get_input_embeddings().weight.numel()


def test_frozen_lower_layers_keep_their_weights(tiny_config) -> None:
    from safetensors.torch import load_file

    before, _ = load_backbone(tiny_config)
    run = train(replace(tiny_config, freeze_layers=1, run_name="frozen", num_epochs=1))
    after = load_file(run / "model" / "model.safetensors")
    for name, tensor in before.state_dict().items():
        if name.startswith(("bert.embeddings.", "bert.encoder.layer.0.")):
            assert torch.equal(after[name], tensor), name  # frozen: bit-for-bit the backbone's
    top = "bert.encoder.layer.1.output.dense.weight"
    assert not torch.equal(after[top], before.state_dict()[top])  # the layer above still learns


def test_freezing_more_layers_than_the_backbone_has_is_refused(tiny_config) -> None:
    layers = load_backbone(tiny_config)[0].config.num_hidden_layers
    with pytest.raises(ValueError, match=f"freeze_layers <= {layers}"):
        load_backbone(replace(tiny_config, freeze_layers=layers + 1))


def test_bf16_only_where_the_hardware_pays_off(tiny_config, monkeypatch) -> None:
    from german_stance.training import trainer

    cpu = torch.device("cpu")
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert trainer.uses_bf16(tiny_config, cpu)
    assert not trainer.uses_bf16(replace(tiny_config, mixed_precision=False), cpu)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert not trainer.uses_bf16(tiny_config, cpu)


def test_class_weights_favour_rare_labels() -> None:
    rows = [{"label": "neutral"}] * 6 + [{"label": "critical"}] * 3 + [{"label": "supportive"}]
    weights = class_weights_for(rows, STANCE)
    assert weights.tolist() == pytest.approx([10 / 9, 10 / 18, 10 / 3])
    assert isinstance(weights, torch.Tensor)


def test_training_on_one_class_is_refused(tiny_config, tmp_path: Path) -> None:
    rows = [dict(row, label="critical") for row in toy_rows()]
    data = write_jsonl(tmp_path / "one.jsonl", rows)
    with pytest.raises(ValueError, match="at least two stance classes"):
        train(replace(tiny_config, train_file=str(data), run_name="one"))
    assert not (tmp_path / "runs" / "one" / "model").exists()


def test_not_a_run_folder(tmp_path: Path) -> None:
    (tmp_path / "something.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="expected a trained run"):
        check_run_dir(tmp_path)
    with pytest.raises(FileNotFoundError, match="expected a run folder"):
        check_run_dir(tmp_path / "missing")


def test_cls_pooling_trains(tiny_config) -> None:
    classifier = StanceClassifier.from_run(train(replace(tiny_config, pooling="cls", run_name="cls", num_epochs=1)))
    assert classifier.run.model.config.pooling == "cls"
    assert classifier.predict_proba(["Seoul verurteilte das Abkommen."]).shape == (1, 3)


def test_mean_pooling_ignores_padding(trained_run: Path) -> None:
    classifier = StanceClassifier.from_run(trained_run, device="cpu")
    short = "Kim dankte Putin."
    alone = classifier.logits([short])["stance"]
    padded = classifier.logits([short, toy_rows()[0]["text"] * 2])["stance"][:1]
    assert alone == pytest.approx(padded, abs=1e-5)


def test_non_bert_backbones_are_refused(tmp_path: Path) -> None:
    from transformers import DistilBertConfig

    DistilBertConfig(vocab_size=50, dim=32, n_layers=1, n_heads=2, hidden_dim=37).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="BERT-architecture backbone"):
        head_config(tmp_path, (STANCE,), "mean")


def test_two_task_run_has_both_heads(tiny_config) -> None:
    run_dir = train(replace(tiny_config, tasks=["stance", "sentiment"], run_name="joint", num_epochs=1))
    run = load_run(run_dir, device="cpu")
    assert [task.name for task in run.tasks] == ["stance", "sentiment"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["tasks"]) == {"stance", "sentiment"}
    classifier = StanceClassifier(run)
    assert set(classifier.predict(["Kim dankte Putin."], task="sentiment")) <= set(SENTIMENT.labels)


def test_distillation_from_a_teacher_ensemble(tiny_config, trained_run: Path) -> None:
    student = train(replace(tiny_config, run_name="student", num_epochs=1, teacher_runs=[str(trained_run)] * 2,
                            distill_weight=0.7))
    assert load_config(student / "config.yaml").teacher_runs == [str(trained_run)] * 2
    assert StanceClassifier.from_run(student).predict_proba(["Kim dankte Putin."]).shape == (1, 3)
    with pytest.raises(ValueError, match="distill_weight must be in"):
        replace(tiny_config, distill_weight=1.5)


def test_task_poolers_give_each_task_its_own_projection(tiny_config) -> None:
    model, _ = load_backbone(replace(tiny_config, tasks=["stance", "sentiment"], task_poolers=True))
    assert set(model.task_dense) == {"stance", "sentiment"}
    assert torch.equal(model.task_dense["stance"].weight, model.bert.pooler.dense.weight)  # starts from the pooler
    run_dir = train(replace(tiny_config, tasks=["stance", "sentiment"], task_poolers=True, run_name="poolers",
                            num_epochs=1))
    classifier = StanceClassifier.from_run(run_dir)
    assert hasattr(classifier.run.model, "task_dense")
    assert classifier.predict_proba(["Kim dankte Putin."], task="sentiment").shape == (1, 3)
