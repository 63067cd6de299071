"""A run's lexical half: trained with the encoder, blended into every prediction, refused clearly when damaged."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from german_stance import StanceClassifier
from german_stance.config import Config
from german_stance.modeling.lexical import LEXICAL_ARRAYS, LEXICAL_FILES, LEXICAL_META, fit_lexical, load_lexical
from german_stance.tasks import SENTIMENT, STANCE
from german_stance.training.trainer import train

from conftest import toy_rows

TEXTS = [row["text"] for row in toy_rows()]


@pytest.fixture
def blended_run(tiny_config) -> Path:
    """A tiny stance + sentiment run with lexical_weight 0.5."""
    return train(replace(tiny_config, tasks=["stance", "sentiment"], lexical_weight=0.5, run_name="blend",
                         num_epochs=1))


def softmax(values: np.ndarray) -> np.ndarray:
    shifted = np.exp(values - values.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def test_run_keeps_its_lexical_half_and_reports_the_blend(blended_run: Path) -> None:
    assert all((blended_run / name).is_file() for name in LEXICAL_FILES)
    metrics = json.loads((blended_run / "metrics.json").read_text())
    assert metrics["lexical"]["weight"] == 0.5
    assert set(metrics["lexical"]["dev_macro_f1"]) == {"stance", "sentiment"}


def test_reported_dev_scores_of_the_blend_are_what_predict_gives(blended_run: Path, tiny_config) -> None:
    from sklearn.metrics import f1_score

    from german_stance.data import read_sentences

    rows = read_sentences(tiny_config.dev_file, tasks=(STANCE, SENTIMENT))
    classifier = StanceClassifier.from_run(blended_run, device="cpu")
    metrics = json.loads((blended_run / "metrics.json").read_text())["lexical"]["dev_macro_f1"]
    for task, field in (("stance", "label"), ("sentiment", "sentiment")):
        predicted = classifier.predict([row["text"] for row in rows], task=task)
        expected = f1_score([row[field] for row in rows], predicted, average="macro")
        assert metrics[task] == pytest.approx(expected, abs=1e-9)


def test_predictions_are_the_average_of_encoder_and_lexical_probabilities(blended_run: Path) -> None:
    classifier = StanceClassifier.from_run(blended_run, device="cpu", calibrated=False)
    lexical = classifier.run.lexical
    blended = classifier.logits(TEXTS)
    classifier.run.lexical = None
    encoder = classifier.logits(TEXTS)
    for task in ("stance", "sentiment"):
        expected = 0.5 * softmax(encoder[task]) + 0.5 * lexical.probabilities(TEXTS)[task]
        assert np.exp(blended[task]) == pytest.approx(expected, abs=1e-5)
        assert not np.allclose(np.exp(blended[task]), softmax(encoder[task]), atol=1e-3)


def test_blended_probabilities_sum_to_one_in_every_output(blended_run: Path) -> None:
    classifier = StanceClassifier.from_run(blended_run, device="cpu")
    assert classifier.predict_proba(TEXTS).sum(axis=1) == pytest.approx(np.ones(len(TEXTS)), abs=1e-5)
    record = classifier.predict_records(TEXTS[:1])[0]
    assert sum(value for key, value in record.items() if key.startswith("p_sentiment_")) == pytest.approx(1, abs=1e-4)


def test_a_damaged_lexical_file_is_refused_with_a_clear_message(blended_run: Path) -> None:
    for name in LEXICAL_FILES:
        path = blended_run / name
        intact = path.read_bytes()
        path.write_bytes(intact[:200])
        with pytest.raises(ValueError, match="damaged file.*copy the run folder again or retrain it"):
            StanceClassifier.from_run(blended_run, device="cpu")
        path.unlink()
        with pytest.raises(ValueError, match="missing or damaged file"):
            StanceClassifier.from_run(blended_run, device="cpu")
        path.write_bytes(intact)
    moved = {name: (blended_run / name).read_bytes() for name in LEXICAL_FILES}
    for name in LEXICAL_FILES:
        (blended_run / name).unlink()
    with pytest.raises(ValueError, match="missing or damaged file"):  # the config says the run has one
        StanceClassifier.from_run(blended_run, device="cpu")
    for name, content in moved.items():
        (blended_run / name).write_bytes(content)
    assert StanceClassifier.from_run(blended_run, device="cpu").run.lexical is not None


def test_lexical_weight_must_leave_room_for_the_encoder() -> None:
    with pytest.raises(ValueError, match=r"lexical_weight must be in \[0, 1\)"):
        Config(lexical_weight=1.0)


def test_runs_without_a_lexical_half_predict_with_the_encoder_alone(trained_run: Path) -> None:
    classifier = StanceClassifier.from_run(trained_run, device="cpu")
    assert classifier.run.lexical is None and not any((trained_run / name).exists() for name in LEXICAL_FILES)


def test_saved_lexical_half_scores_exactly_like_scikit_learn(tmp_path: Path) -> None:
    from german_stance.modeling.lexical import fit_tfidf, pipeline_probabilities

    rows = toy_rows() * 3
    fitted = fit_lexical(rows, (STANCE, SENTIMENT), weight=0.3)
    fitted.save(tmp_path)
    loaded = load_lexical(tmp_path, (STANCE, SENTIMENT))
    # Odd spacing, one-letter words, digits, quotes, umlauts, unseen words, an empty string.
    texts = TEXTS + ["Ein völlig neuer Satz  über Moskau\tund Pjöngjang.", "„Inakzeptabel“, sagte er: a b c 1 2",
                     "", "Kriegspakt!!! Kim's ÄRGER über 10.000 Granaten"]
    for task in (STANCE, SENTIMENT):
        reference = pipeline_probabilities(fit_tfidf(rows, task), texts, task)
        assert loaded.probabilities(texts)[task.name] == pytest.approx(reference, abs=1e-5)
        assert fitted.probabilities(texts)[task.name] == pytest.approx(reference, abs=1e-5)
    assert loaded.weight == 0.3
    # No pickle anywhere: the arrays load with pickles forbidden.
    np.load(tmp_path / LEXICAL_ARRAYS, allow_pickle=False).close()
    assert (tmp_path / LEXICAL_META).read_bytes()[:2] == b"\x1f\x8b"  # gzip


def test_onnx_backend_and_bundle_blend_the_same_way(blended_run: Path, tmp_path: Path) -> None:
    from german_stance.cli import main
    from german_stance.inference.export import export_run

    export_run(blended_run, recipes=["dynamic-per-channel"], budget=100.0)
    torch_records = StanceClassifier.from_run(blended_run, backend="torch").predict_proba(TEXTS)
    onnx = StanceClassifier.from_run(blended_run, backend="onnx", variant="fp32")
    assert onnx.run.lexical is not None
    assert onnx.predict_proba(TEXTS) == pytest.approx(torch_records, abs=1e-5)
    assert main(["bundle", "--model", str(blended_run), "--out", str(tmp_path / "bundle")]) == 0
    assert all((tmp_path / "bundle" / name).is_file() for name in LEXICAL_FILES)
    bundled = StanceClassifier.from_run(tmp_path / "bundle")
    assert bundled.predict_records(TEXTS) == StanceClassifier.from_run(blended_run, backend="onnx").predict_records(TEXTS)
    # The lexical half scores with NumPy alone: predicting from the bundle imports no heavy library.
    import subprocess
    import sys

    script = ("import sys, json\nfrom german_stance import StanceClassifier\n"
              f"StanceClassifier.from_run({str(tmp_path / 'bundle')!r}).predict_records(['Kim dankte Putin.'])\n"
              "print(json.dumps(sorted(m for m in ('torch', 'transformers', 'sklearn', 'scipy') if m in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
