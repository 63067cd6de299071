"""ONNX backend: export, same labels as torch, no torch import on the ONNX path, backend choice, German vocabulary."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from conftest import REPO, toy_rows, write_jsonl

from german_stance import StanceClassifier
from german_stance.data import encode_texts
from german_stance.data.tokenizer_file import TokenizerFile

TEXTS = [row["text"] for row in toy_rows()]


@pytest.fixture(scope="module")
def exported_run(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny stance + sentiment run, trained and exported (fp32 and one int8 recipe) once for this module."""
    from german_stance.config import Config
    from german_stance.inference.export import export_run
    from german_stance.training.trainer import train

    folder = tmp_path_factory.mktemp("onnx")
    data = write_jsonl(folder / "train.jsonl", toy_rows())
    run = train(Config(model_name=str(tiny_model_dir), max_length=32, batch_size=4, num_epochs=1, learning_rate=1e-3,
                       freeze_embeddings=False, train_file=str(data), dev_file=str(data), tasks=["stance", "sentiment"],
                       output_dir=str(folder / "runs"), run_name="joint", logging_steps=1))
    # budget 100: a random tiny model's labels are near ties, so int8 may flip some; the test is about the plumbing.
    export_run(run, recipes=["dynamic-per-channel"], budget=100.0)
    return run


def test_export_writes_a_validated_manifest(exported_run: Path) -> None:
    manifest = json.loads((exported_run / "onnx" / "export.json").read_text())
    assert manifest["default"] == "int8" and manifest["variants"]["int8"]["recipe"] == "dynamic-per-channel"
    assert manifest["fp32"]["max_logit_difference_dev"] <= 1e-4
    assert manifest["fp32"]["max_logit_difference_shapes"] <= 1e-4
    assert set(manifest["recipes"][0]["files"]["train"]) == {"stance", "sentiment"}  # both heads are checked
    assert (exported_run / "onnx" / "model.int8.onnx").is_file() and not (exported_run / "onnx" / "candidates").exists()


def test_onnx_and_torch_give_the_same_labels(exported_run: Path) -> None:
    torch_classifier = StanceClassifier.from_run(exported_run, backend="torch")
    onnx_classifier = StanceClassifier.from_run(exported_run, backend="onnx", variant="fp32")
    assert onnx_classifier.backend.name == "onnx" and torch_classifier.backend.name == "torch"
    for task in ("stance", "sentiment"):
        assert onnx_classifier.predict(TEXTS, task=task) == torch_classifier.predict(TEXTS, task=task)
        assert onnx_classifier.predict_proba(TEXTS, task=task) == pytest.approx(
            torch_classifier.predict_proba(TEXTS, task=task), abs=1e-5)
    int8 = StanceClassifier.from_run(exported_run, backend="onnx")
    assert int8.predict_proba(TEXTS) == pytest.approx(torch_classifier.predict_proba(TEXTS), abs=0.05)


def test_auto_picks_onnx_only_when_the_run_has_it(exported_run: Path, tmp_path: Path) -> None:
    assert StanceClassifier.from_run(exported_run).backend.name == "onnx"
    assert StanceClassifier.from_run(exported_run, device="cpu").backend.name == "onnx"
    plain = StanceClassifier.from_run(exported_run, backend="torch").save(tmp_path / "plain")
    import shutil

    shutil.rmtree(plain / "onnx")
    assert StanceClassifier.from_run(plain).backend.name == "torch"
    with pytest.raises(FileNotFoundError, match="german-stance export"):
        StanceClassifier.from_run(plain, backend="onnx")
    with pytest.raises(ValueError, match="expected a backend"):
        StanceClassifier.from_run(exported_run, backend="tensorrt")


def test_onnx_path_imports_no_torch(exported_run: Path, tmp_path: Path) -> None:
    article = tmp_path / "article.txt"
    article.write_text("Putin besucht Pjöngjang\nSeoul verurteilte das Abkommen. Kim dankte Putin.\n", encoding="utf-8")
    script = (
        "import sys, json\n"
        "from german_stance.cli import main\n"
        f"code = main(['--quiet', 'predict', '--model', {str(exported_run)!r}, {str(article)!r}, '--format', 'jsonl'])\n"
        "heavy = sorted(name for name in ('torch', 'transformers', 'datasets', 'sklearn') if name in sys.modules)\n"
        "print(json.dumps({'code': code, 'heavy': heavy}), file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "heavy": []}, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["sentence"] for line in lines if "sentence" in line] == [1, 2, 3]


def test_tokenizer_file_matches_transformers(tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(tiny_model_dir)
    ours = TokenizerFile(tiny_model_dir / "tokenizer.json", pad_token_id=reference.pad_token_id,
                         model_input_names=reference.model_input_names)
    long = " ".join(TEXTS)
    for contexts in (None, ["Vorher kam ein Satz."] * len(TEXTS), [long] * len(TEXTS)):
        for max_length in (8, 32, 128):
            expected = encode_texts(reference, TEXTS, contexts, max_length)
            found = encode_texts(ours, TEXTS, contexts, max_length)
            assert {key: list(map(list, value)) for key, value in expected.items()} == found


def unigram_tokenizer_json() -> dict:
    """A small XLM-R-style Unigram tokenizer: specials, a few words, single characters."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    words = ["▁Seoul", "▁verurteilte", "▁das", "▁Abkommen", "▁Kim", "▁dankte", "▁Putin", "▁Moskau", "▁Peking",
             "▁Tokio", "▁verur", "teilte", "▁Ab", "kommen", "▁", ".", ",", "▁日本", "本"]
    letters = sorted({char for text in TEXTS for char in text if not char.isspace()} | set("xyzqj"))
    pieces = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces += [(word, -5.0 - index * 0.01) for index, word in enumerate(words)]
    pieces += [(char, -10.0) for char in letters] + [("▁" + char, -10.5) for char in letters] + [("日", -10.0)]
    tokenizer = Tokenizer(models.Unigram(pieces, unk_id=3, byte_fallback=False))
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    tokenizer.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>"])
    return json.loads(tokenizer.to_str())


def test_german_vocabulary_keeps_tokens_and_falls_back_to_characters() -> None:
    from tokenizers import Tokenizer

    from german_stance.modeling.vocabulary import german_piece_ids, trim_tokenizer_json

    original = unigram_tokenizer_json()
    corpus = ["Seoul verurteilte das Abkommen.", "Kim dankte Putin."]
    keep = german_piece_ids(original, corpus, words=["Moskau"])
    trimmed = trim_tokenizer_json(original, keep)
    assert len(trimmed["model"]["vocab"]) == len(keep) < len(original["model"]["vocab"])
    pieces = {piece for piece, _ in trimmed["model"]["vocab"]}
    assert "▁Moskau" in pieces and "▁Peking" not in pieces and "▁日本" not in pieces
    before, after = Tokenizer.from_str(json.dumps(original)), Tokenizer.from_str(json.dumps(trimmed))
    for text in [*corpus, "Moskau"]:  # corpus and word-list text: the very same pieces
        assert after.encode(text).tokens == before.encode(text).tokens
    unseen = after.encode("Peking xyz.")  # unseen words split into kept characters, not <unk>
    assert "<unk>" not in unseen.tokens and "".join(unseen.tokens[1:-1]).replace("▁", " ").strip() == "Peking xyz."
    assert unseen.ids[0] == trimmed["model"]["vocab"].index(["<s>", 0.0]) == 0
    assert after.token_to_id("</s>") == 2 and unseen.ids[-1] == 2
    with pytest.raises(ValueError, match="Unigram"):
        trim_tokenizer_json({"model": {"type": "WordPiece"}}, np.array([0]))


def test_german_words_come_lower_case_and_capitalised() -> None:
    pytest.importorskip("wordfreq")
    from german_stance.modeling.vocabulary import german_words

    words = german_words(2000)
    assert "regierung" in words and "Regierung" in words and len(words) > 2000


def test_smoothquant_rescaling_keeps_the_fp32_model_equal(exported_run: Path, tmp_path: Path) -> None:
    from german_stance.modeling.backends import OnnxBackend
    from german_stance.modeling.onnx_export import example_inputs
    from german_stance.modeling.quantize import smooth_activations

    source = exported_run / "onnx" / "model.fp32.onnx"
    names = OnnxBackend(source).inputs
    calibration = [example_inputs(names, 4, 9, 5, seed=seed) for seed in range(3)]
    smoothed = smooth_activations(source, tmp_path / "smoothed.onnx", calibration)
    batch = example_inputs(names, 3, 11, 5, seed=7)
    assert OnnxBackend(smoothed).logits(batch) == pytest.approx(OnnxBackend(source).logits(batch), abs=1e-4)
    import onnx

    smooth_nodes = [node for node in onnx.load(str(smoothed)).graph.node if node.name.endswith("_smooth")]
    assert smooth_nodes and all(node.op_type == "Mul" for node in smooth_nodes)  # the rescaling is really there


def test_activation_errors_rank_the_matmul_with_an_outlier_channel_first(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from german_stance.modeling.quantize import activation_errors

    # Two MatMuls compute the same product; one reads an input whose last channel is 300x larger (with a weight
    # row 300x smaller), like BERT's outlier channels: one int8 scale for the whole tensor then rounds the rest.
    generator = np.random.default_rng(0)
    matrix = generator.normal(size=(8, 8)).astype(np.float32)
    weight = numpy_helper.from_array(matrix, "weight")
    matrix[7] /= 300
    shrunk = numpy_helper.from_array(matrix, "shrunk")
    outlier = numpy_helper.from_array(np.array([1, 1, 1, 1, 1, 1, 1, 300], dtype=np.float32), "outlier")
    calm, wild = "/encoder/layer.0/attention/output/dense/MatMul", "/encoder/layer.0/output/dense/MatMul"
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "outlier"], ["x_wild"], name="scale"),
         helper.make_node("MatMul", ["x", "weight"], ["calm_out"], name=calm),
         helper.make_node("MatMul", ["x_wild", "shrunk"], ["wild_out"], name=wild),
         helper.make_node("Add", ["calm_out", "wild_out"], ["y"], name="sum")],
        "probe", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 8])], [weight, shrunk, outlier])
    path = tmp_path / "probe.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    batches = [{"x": generator.normal(size=(16, 8)).astype(np.float32)} for _ in range(3)]
    errors = activation_errors(path, batches)
    assert set(errors) == {calm, wild}
    assert errors[wild] > 5 * errors[calm] and errors[calm] < 0.02


def test_blockwise_recipe_rewrites_the_most_sensitive_matmuls(exported_run: Path, tmp_path: Path) -> None:
    import onnx

    from german_stance.modeling.backends import OnnxBackend
    from german_stance.modeling.onnx_export import example_inputs
    from german_stance.modeling.quantize import Recipe, activation_errors, quantize

    source = exported_run / "onnx" / "model.fp32.onnx"
    names = OnnxBackend(source).inputs
    calibration = [example_inputs(names, 4, 9, 5, seed=seed) for seed in range(3)]
    errors = activation_errors(source, calibration)
    matmuls = sorted((name for name in errors if "MatMul" in name), key=errors.get, reverse=True)
    target = tmp_path / "blockwise.onnx"
    chosen = quantize(source, target, Recipe("probe", per_channel=True, keep_embeddings=True, blockwise=2),
                      calibration)
    assert chosen == matmuls[:2]
    ops = [node.op_type for node in onnx.load(str(target)).graph.node]
    assert ops.count("MatMulNBits") == 2 and "DynamicQuantizeLinear" in ops and "Cast" in ops
    batch = example_inputs(names, 3, 11, 5, seed=7)
    assert OnnxBackend(target).logits(batch) == pytest.approx(OnnxBackend(source).logits(batch), abs=0.05)


def test_reports_name_the_backend_that_scored_the_run(exported_run: Path, tmp_path: Path) -> None:
    from german_stance.evaluation.compare import compare_runs
    from german_stance.evaluation.report import evaluate_runs

    data = write_jsonl(tmp_path / "dev.jsonl", toy_rows())
    evaluate_runs([exported_run], [data], tmp_path / "auto", n_resamples=20, baselines=False)
    evaluate_runs([exported_run], [data], tmp_path / "torch", n_resamples=20, baselines=False, backend="torch")
    assert json.loads((tmp_path / "auto" / "metrics.json").read_text())["backend"] == ["onnx (model.int8.onnx)"]
    assert json.loads((tmp_path / "torch" / "metrics.json").read_text())["backend"] == ["torch"]
    assert "| backend | torch |" in (tmp_path / "torch" / "report.md").read_text()
    compare_runs([f"exported={exported_run}"], [data], tmp_path / "compare", n_resamples=20, backend="torch")
    assert "Backend per setup: exported: torch." in (tmp_path / "compare" / "comparison.md").read_text()


def test_bundle_holds_only_what_predict_needs_and_predicts_the_same(exported_run: Path, tmp_path: Path) -> None:
    from german_stance.cli import main

    out = tmp_path / "bundle"
    assert main(["bundle", "--model", str(exported_run), "--out", str(out)]) == 0
    files = {path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file()}
    assert "onnx/model.int8.onnx" in files and not any(name.startswith("model/model") for name in files)
    assert "onnx/model.fp32.onnx" not in files and json.loads((out / "onnx" / "export.json").read_text())[
        "variants"].keys() == {"int8"}
    bundled = StanceClassifier.from_run(out)
    assert bundled.backend.name == "onnx"
    assert bundled.predict_records(TEXTS) == StanceClassifier.from_run(exported_run, backend="onnx").predict_records(TEXTS)
    with pytest.raises(FileNotFoundError, match="ONNX model only"):
        StanceClassifier.from_run(out, backend="torch")
    # A second bundle into the same folder is refused and leaves it as it was.
    before = {name: (out / name).read_bytes() for name in files}
    assert main(["bundle", "--model", str(exported_run), "--out", str(out)]) == 2
    assert {name: (out / name).read_bytes() for name in files} == before
    assert not list(tmp_path.glob(".bundle.*"))


def test_onnx_threads_follow_a_narrowed_cpu_affinity(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from german_stance.modeling import backends

    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert backends.allowed_cpus() == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert backends.allowed_cpus() == 0  # the whole machine: ONNX Runtime's own choice (physical cores)
