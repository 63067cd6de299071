"""The evaluation report and comparison: sections present, files written, bad input refused."""

import json
from pathlib import Path

import pytest

from german_stance.cli import main
from german_stance.data import read_sentences

from conftest import toy_rows, write_jsonl

SECTIONS = ["macro-F1 [95% CI]", "majority class", "TF-IDF + logistic regression", "#### stance: per class",
            "#### stance: confusion matrix", "#### stance: calibration", "#### stance: misclassified sentences",
            "## What produced this report", "Expected calibration error", "macro avg", "weighted avg",
            "Scores vary between training seeds"]


def test_report_has_every_section(trained_run: Path, toy_data: dict, tmp_path: Path) -> None:
    out = tmp_path / "report"
    code = main(["--quiet", "evaluate", "--model", str(trained_run), "--data", str(toy_data["dev"]),
                 "--data", str(toy_data["train"]), "--out", str(out), "--bootstrap", "50"])
    assert code == 0
    markdown = (out / "report.md").read_text(encoding="utf-8")
    for section in SECTIONS:
        assert section in markdown, section
    assert markdown.count("\n## dev:") == 1 and markdown.count("\n## train:") == 1
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 6  # three figures per data file, embedded
    assert "http://" not in page and "https://" not in page  # opens offline
    metrics = json.loads((out / "metrics.json").read_text())
    dev = metrics["files"]["dev"]["model"]
    assert {"macro_f1", "accuracy", "per_class", "confusion_matrix", "intervals", "calibration"} <= set(dev)
    assert set(metrics["files"]["dev"]["baselines"]) == {"majority class", "TF-IDF + logistic regression"}
    assert (out / "dev_stance_confusion.png").stat().st_size > 1000
    predictions = (out / "predictions.csv").read_text(encoding="utf-8").splitlines()
    assert predictions[0].startswith("file,id,source,gold_stance,predicted_stance")
    assert len(predictions) == 1 + 6 + 12  # every sentence of both files


def test_two_task_report_has_sentiment_sections(tiny_config, toy_data: dict, tmp_path: Path) -> None:
    from dataclasses import replace

    from german_stance.training.trainer import train

    run = train(replace(tiny_config, tasks=["stance", "sentiment"], run_name="joint", num_epochs=1))
    out = tmp_path / "joint-report"
    assert main(["--quiet", "evaluate", "--model", str(run), "--data", str(toy_data["dev"]), "--out", str(out),
                 "--bootstrap", "20"]) == 0
    markdown = (out / "report.md").read_text(encoding="utf-8")
    for section in ("#### sentiment: per class", "#### sentiment: confusion matrix", "stance→sentiment mapping",
                    "stance × sentiment, gold vs predicted"):
        assert section in markdown, section
    metrics = json.loads((out / "metrics.json").read_text())["files"]["dev"]
    assert metrics["model"]["labels"] == ["critical", "neutral", "supportive"]  # stance keys stay where they were
    assert metrics["tasks"]["sentiment"]["model"]["labels"] == ["negative", "neutral", "positive"]
    assert "stance→sentiment mapping (gold stance)" in metrics["tasks"]["sentiment"]["baselines"]


def test_seeds_report_mean_and_sd(tiny_config, toy_data: dict, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("\n".join(f"{k}: {v}" for k, v in tiny_config.to_dict().items()))
    assert main(["--quiet", "train", "--config", str(config), "--seeds", "2", "--num_epochs=1"]) == 0
    runs = [str(Path(tiny_config.output_dir) / f"tiny-seed{seed}") for seed in (42, 43)]
    out = tmp_path / "seeds"
    assert main(["--quiet", "evaluate", "--model", *runs, "--data", str(toy_data["dev"]), "--out", str(out),
                 "--bootstrap", "20", "--no-baselines"]) == 0
    assert "mean ± sd over seeds" in (out / "report.md").read_text()
    seeds = json.loads((out / "metrics.json").read_text())["files"]["dev"]["seeds"]
    assert seeds["macro_f1"]["std"] >= 0.0
    compare_out = tmp_path / "compare"
    assert main(["--quiet", "compare", "--model", f"two={runs[0]},{runs[1]}", f"one={runs[0]}",
                 f"ens=ensemble:{runs[0]},{runs[1]}",
                 "--data", str(toy_data["dev"]), "--out", str(compare_out), "--bootstrap", "20"]) == 0
    table = (compare_out / "comparison.md").read_text()
    assert "| two | 2 |" in table and "| one | 1 |" in table and "| ens | 1 |" in table
    assert "TF-IDF + logistic regression" in table and "one − two" in table and "two − TF-IDF" in table

    # --baseline-train: the baselines learn from that file, not the first setup's training split.
    rows = toy_rows()
    extra = [dict(row, id=f"{row['id']}-copy{copy}") for copy in range(5) for row in rows if row["label"] == "supportive"]
    skewed = write_jsonl(tmp_path / "skewed.jsonl", rows + extra)
    dev_labels = [row["label"] for row in read_sentences(toy_data["dev"])]
    assert main(["--quiet", "compare", "--model", f"one={runs[0]}", "--baseline-train", str(skewed),
                 "--data", str(toy_data["dev"]), "--out", str(tmp_path / "skewed-cmp"), "--bootstrap", "20"]) == 0
    assert f"trained on {skewed}" in (tmp_path / "skewed-cmp" / "comparison.md").read_text()
    summary = json.loads((tmp_path / "skewed-cmp" / "comparison.json").read_text())
    majority = summary["results"]["stance"]["majority class"]["dev"][0]
    assert majority["accuracy"] == pytest.approx(dev_labels.count("supportive") / len(dev_labels))


def test_label_outside_the_model_set_is_refused(trained_run: Path, tmp_path: Path, capsys) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{**toy_rows()[0], "label": "pro-russian"}])
    out = tmp_path / "out"
    assert main(["evaluate", "--model", str(trained_run), "--data", str(bad), "--out", str(out)]) == 2
    assert "expected a label in ['critical', 'neutral', 'supportive']" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("case", ["empty", "no_model"])
def test_bad_inputs_get_clear_errors(case: str, trained_run: Path, toy_data: dict, tmp_path: Path, capsys) -> None:
    data, model = str(toy_data["dev"]), str(trained_run)
    if case == "empty":
        (tmp_path / "empty.jsonl").write_text("")
        data = str(tmp_path / "empty.jsonl")
    else:
        (tmp_path / "not_a_run").mkdir()
        model = str(tmp_path / "not_a_run")
    assert main(["evaluate", "--model", model, "--data", data, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert ("found an empty file" in err) if case == "empty" else ("expected a trained run" in err)


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium")
def test_report_renders_in_headless_chromium(trained_run: Path, toy_data: dict, tmp_path: Path) -> None:
    import sys

    from PIL import Image

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from check_html_view import take_screenshot

    out = tmp_path / "report"
    assert main(["--quiet", "evaluate", "--model", str(trained_run), "--data", str(toy_data["dev"]),
                 "--out", str(out), "--bootstrap", "20"]) == 0
    png = tmp_path / "shot.png"
    take_screenshot(out / "report.html", png, size="1000,1800")
    image = Image.open(png).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 24)
    assert len(colours) > 50  # text, tables and the embedded figures, not a blank page
    # The confusion matrix's blue shading is only there if the embedded PNG rendered.
    blues = sum(count for count, (r, g, b) in colours if b > 120 and b - r > 60 and b - g > 20)
    assert blues > 500


def test_markdown_report_escapes_html_from_the_data() -> None:
    from german_stance.evaluation.document import Heading, Paragraph, Table, to_markdown

    markdown = to_markdown([Heading("<b>x</b>"), Paragraph("a <img src=x onerror=alert(1)> & b"),
                            Table(["text"], [["<script>alert(1)</script> | pipe"]])], "T <i>")
    assert "<" not in markdown and "&lt;script&gt;alert(1)&lt;/script&gt; \\| pipe" in markdown
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; b" in markdown


def test_html_tables_right_align_every_number_signed_or_not() -> None:
    from german_stance.evaluation.document import Table, to_html

    cells = ["0.875 [0.851, 0.899]", "-0.020 [-0.048, +0.007]", "+0.056 [+0.032, +0.084]", "0.812 ± 0.005", "12%"]
    page = to_html([Table(["difference", *["x"] * len(cells)], [["new − old", *cells]])], "T")
    for cell in cells:
        assert f'<td class="num">{cell}</td>' in page
    assert "<td>new − old</td>" in page  # a name with a minus sign in it stays text


def test_coverage_curve_stores_none_where_nothing_is_covered() -> None:
    import numpy as np

    from german_stance.evaluation.plots import coverage_curve, plot_coverage

    # Every top probability is 0.5: thresholds above it cover no sentence.
    points = coverage_curve(np.array([[0.5, 0.3, 0.2], [0.2, 0.5, 0.3]]), np.array([0, 2]))
    assert points[0] == {"threshold": 0.35, "coverage": 1.0, "accuracy": 0.5}
    assert points[-1]["coverage"] == 0.0 and points[-1]["accuracy"] is None
    json.dumps(points, allow_nan=False)  # metrics.json stays valid JSON (NaN is not)
    assert plot_coverage(points, "toy").startswith(b"\x89PNG")
