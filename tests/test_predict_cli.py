"""``german-stance predict`` end to end on the tiny BERT: every input kind, every format, bad inputs."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from german_stance import StanceClassifier
from german_stance.cli import main
from german_stance.config import LABELS
from german_stance.data.sentences import split_sentences
from german_stance.inference import pipeline
from german_stance.inference.inputs import (
    Article,
    InputError,
    iter_entries,
    read_file,
    strip_markdown,
)
from german_stance.inference.pipeline import SummaryTally, label_article
from german_stance.tasks import STANCE


def summarise_article(records: list[dict]) -> dict:
    """The stance-only summary."""
    return pipeline.summarise_article(records, (STANCE,))


def predict_article(classifier: StanceClassifier, text: str) -> list[dict]:
    """Sentence records of one article."""
    return classifier.predict_article(text)["sentences"]

from conftest import REPO, toy_rows, train_tiny, write_jsonl

ARTICLE = ("Putin besucht Pjöngjang\n"
           "Seoul verurteilte das Abkommen als Bedrohung für die Sicherheit der Region. "
           "Der Vertrag wurde am 19. Juni in Pjöngjang unterzeichnet.\n\n"
           "Kim dankte Putin für die brüderliche Freundschaft.\n")
SENTENCES = ["Putin besucht Pjöngjang",
             "Seoul verurteilte das Abkommen als Bedrohung für die Sicherheit der Region.",
             "Der Vertrag wurde am 19. Juni in Pjöngjang unterzeichnet.",
             "Kim dankte Putin für die brüderliche Freundschaft."]
HTML_PAGE = """<!DOCTYPE html><html><head><title>Portal</title><script>var tracking = 1;</script></head><body>
<nav><a href="/">Startseite</a> <a href="/politik">Politik</a> Anmelden und Newsletter bestellen</nav>
<main><article><h1>Putin besucht Pjöngjang</h1>
<p>Seoul verurteilte das Abkommen als Bedrohung
für die Sicherheit der Region. Der Vertrag wurde am 19. Juni in Pjöngjang <b>unterzeichnet</b>.</p>
<p>Kim dankte Putin für die brüderliche Freundschaft.</p></article></main>
<footer><p>Impressum und Datenschutz der Portal GmbH</p></footer></body></html>"""


@pytest.fixture(scope="module")
def run_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny run of conftest's ``trained_run``, trained once for this module instead of once per test."""
    return train_tiny(tmp_path_factory.mktemp("predict-run"), tiny_model_dir)


def predict(capsys: pytest.CaptureFixture, run: Path, *argv: str) -> tuple[int, str, str]:
    """Run ``german-stance --quiet predict --model run ...``; return (exit code, stdout, stderr)."""
    code = main(["--quiet", "predict", "--model", str(run), "--device", "cpu", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def parse_jsonl(text: str) -> list[dict]:
    """Sentence records of JSONL output."""
    return [json.loads(line) for line in text.splitlines()]


def articles_of(text: str) -> list[str]:
    """Article ids of JSONL output, in order of first appearance."""
    return list(dict.fromkeys(record["article"] for record in parse_jsonl(text)))


def write(path: Path, text: str) -> Path:
    """Write UTF-8 text and return the path."""
    path.write_text(text, encoding="utf-8")
    return path


def test_txt_to_jsonl_with_summary(trained_run: Path, tmp_path: Path, capsys) -> None:
    code, out, err = predict(capsys, trained_run, str(write(tmp_path / "a.txt", ARTICLE)))
    assert code == 0, err
    records = parse_jsonl(out)
    assert [r["text"] for r in records] == SENTENCES
    assert [r["sentence"] for r in records] == [1, 2, 3, 4]
    for record in records:
        assert record["article"] == "a.txt" and record["stance"] in LABELS
        assert record["stance_confidence"] == max(record[f"p_stance_{label}"] for label in LABELS)
    # With --output, the summaries go to <name>.summary.jsonl and equal summarise_article on the records.
    output = tmp_path / "out.jsonl"
    assert predict(capsys, trained_run, str(tmp_path / "a.txt"), "-o", str(output))[0] == 0
    assert parse_jsonl(output.read_text(encoding="utf-8")) == records
    (summary,) = parse_jsonl((tmp_path / "out.summary.jsonl").read_text(encoding="utf-8"))
    assert summary.pop("article") == "a.txt"
    assert summary == json.loads(json.dumps(summarise_article(records)))
    assert summary["sentences"] == 4 and sum(summary["stance"]["counts"].values()) == 4


def test_markdown_is_stripped(run_dir: Path, tmp_path: Path, capsys) -> None:
    markdown = ("---\ntitle: x\n---\n# Putin besucht **Pjöngjang**\n\n"
                "- Seoul *verurteilte* das [Abkommen](https://example.org/a) scharf.\n"
                "> Kim dankte Putin.\n\n```\ncode()\n```\n")
    code, out, _ = predict(capsys, run_dir, str(write(tmp_path / "a.md", markdown)))
    assert code == 0
    assert [r["text"] for r in parse_jsonl(out)] == [
        "Putin besucht Pjöngjang", "Seoul verurteilte das Abkommen scharf.", "Kim dankte Putin."]
    assert strip_markdown("ein snake_case_wort bleibt") == "ein snake_case_wort bleibt"


def test_html_drops_navigation_and_footer(run_dir: Path, tmp_path: Path, capsys) -> None:
    code, out, _ = predict(capsys, run_dir, str(write(tmp_path / "a.html", HTML_PAGE)))
    assert code == 0
    texts = [r["text"] for r in parse_jsonl(out)]
    assert texts == SENTENCES  # a source line break inside <p> is not a sentence boundary
    assert not any(word in out for word in ("Startseite", "Newsletter", "Impressum", "tracking"))


def test_html_fallback_when_trafilatura_finds_nothing(tmp_path: Path, monkeypatch) -> None:
    import trafilatura

    monkeypatch.setattr(trafilatura, "extract", lambda *args, **kwargs: None)
    article = read_file(write(tmp_path / "a.htm", HTML_PAGE))
    assert split_sentences(article.text) == SENTENCES
    assert "Impressum" not in article.text and "Startseite" not in article.text


def test_folder_is_sorted_and_not_recursive(run_dir: Path, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "articles"
    (folder / "sub").mkdir(parents=True)
    write(folder / "b.txt", "Kim dankte Putin.")
    write(folder / "a.md", "# Seoul protestierte.")
    write(folder / "c.html", HTML_PAGE)
    write(folder / "notes.csv", "x,y")
    write(folder / "sub" / "d.txt", "Nicht gelesen.")
    code, out, err = predict(capsys, run_dir, str(folder))
    assert code == 0, err
    ids = articles_of(out)
    assert ids == ["a.md", "b.txt", "c.html"]  # relative to the folder, never absolute


def test_several_files_keep_their_order(run_dir: Path, tmp_path: Path, capsys) -> None:
    second, first = write(tmp_path / "z.txt", "Kim dankte Putin."), write(tmp_path / "y.txt", ARTICLE)
    code, out, _ = predict(capsys, run_dir, str(second), str(first))
    assert code == 0
    assert articles_of(out) == ["z.txt", "y.txt"]


@pytest.mark.parametrize("argv", [[], ["-"]])
def test_standard_input(run_dir: Path, capsys, monkeypatch, argv: list[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(ARTICLE))
    code, out, _ = predict(capsys, run_dir, *argv)
    assert code == 0
    records = parse_jsonl(out)
    assert [r["text"] for r in records] == SENTENCES and {r["article"] for r in records} == {"stdin"}


@pytest.mark.parametrize(("data", "expected"), [(b"", "found nothing"), (b"Gr\xfc\xdfe.", "expected UTF-8 text")])
def test_bad_standard_input(run_dir: Path, capsys, monkeypatch, data: bytes, expected: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    code, out, err = predict(capsys, run_dir, "-")
    assert code == 2 and out == "" and "error: standard input: expected" in err and expected in err


def test_jsonl_articles_and_a_bad_line(run_dir: Path, tmp_path: Path, capsys) -> None:
    lines = [json.dumps({"id": "k1", "text": ARTICLE}), "", json.dumps({"id": "k2", "titel": "ohne Text"}),
             "{kaputt", json.dumps({"text": "Kim dankte Putin."})]
    code, out, err = predict(capsys, run_dir, str(write(tmp_path / "batch.jsonl", "\n".join(lines))))
    assert code == 1  # some entries failed, the rest was labelled
    assert articles_of(out) == ["k1", "batch-5"]
    assert 'batch.jsonl line 3: expected a non-empty "text" field' in err and "['id', 'titel']" in err
    assert "batch.jsonl line 4: expected one object per line" in err and "invalid JSON" in err


def test_csv_to_stdout_and_to_file_with_summary(run_dir: Path, tmp_path: Path, capsys) -> None:
    article = write(tmp_path / "a.txt", ARTICLE)
    code, out, _ = predict(capsys, run_dir, str(article), "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["text"] for r in rows] == SENTENCES and {r["stance"] for r in rows} <= set(LABELS)
    assert sum(float(rows[0][f"p_stance_{label}"]) for label in LABELS) == pytest.approx(1, abs=1e-3)
    output = tmp_path / "out" / "stances.csv"
    output.parent.mkdir()
    code, out, _ = predict(capsys, run_dir, str(article), "-o", str(output))  # format from the suffix
    assert code == 0 and out == ""
    assert [r["text"] for r in csv.DictReader(output.open(encoding="utf-8"))] == SENTENCES
    (summary,) = csv.DictReader((tmp_path / "out" / "stances.summary.csv").open(encoding="utf-8"))
    assert summary["article"] == "a.txt" and summary["sentences"] == "4"
    assert summary["dominant_stance"] in LABELS and sum(int(summary[f"n_stance_{label}"]) for label in LABELS) == 4


def test_table_on_a_terminal(run_dir: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    long = "Die Regierung in Seoul verurteilte das Abkommen " + "sehr " * 60 + "scharf."
    article = write(tmp_path / "a.txt", ARTICLE + long)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # default format on a terminal: coloured table
    code, out, _ = predict(capsys, run_dir, str(article))
    assert code == 0
    assert "== a.txt =="  in out and "Kim dankte Putin" in out and "\033[" in out
    assert "…" in out and long not in out  # long sentences are cut
    stance_line, count_line = out.strip().splitlines()[-2:]
    assert stance_line.startswith("stance: ") and "dominant:" in stance_line and count_line == "5 sentences"
    code, out, _ = predict(capsys, run_dir, str(article), "--format", "table", "-o", str(tmp_path / "t.txt"))
    assert "\033[" not in (tmp_path / "t.txt").read_text(encoding="utf-8")  # no colour codes in files


def test_html_is_escaped_self_contained_and_summarised(run_dir: Path, tmp_path: Path, capsys) -> None:
    tricky = 'Die Partnerschaft sei ein <b>Modell</b> & "gerecht", schrieb die KCNA.'
    article = write(tmp_path / "a.txt", ARTICLE + tricky + "\n")
    output = tmp_path / "view.html"
    code, _, _ = predict(capsys, run_dir, str(article), str(article), "-o", str(output))
    page = output.read_text(encoding="utf-8")
    assert code == 0 and page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "&lt;b&gt;Modell&lt;/b&gt; &amp; &quot;gerecht&quot;" in page and "<b>Modell</b>" not in page
    assert all(sentence in page for sentence in SENTENCES[1:])
    assert page.count("<article") == 2 and page.count("Dominant stance") == 2 and "stance</b> (shade)" in page
    assert "Most critical" in page and "Most supportive" in page and page.count('class="s l-stance-') == 10
    assert re.search(r'title="#1 stance \w+: critical 0\.\d\d · neutral 0\.\d\d · supportive 0\.\d\d"', page)
    assert page.count('class="chip"') == 10 and "@media print" in page and "prefers-color-scheme:dark" in page
    assert "Overview (2 articles" in page
    # Works offline: no external asset or link of any kind (the one script is inline).
    assert not re.search(r"https?:|//[a-z]", page) and "<link" not in page and "<script src" not in page
    assert page.count("<p>") >= 2  # paragraphs follow the blank line of the input


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("missing.txt", None, "found nothing at that path"),
    ("empty.txt", b"", "found an empty file"),
    ("blank.txt", b" \n\n ", "found an empty file"),
    ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "found binary data"),
    ("latin1.txt", "Die Grüße aus Pjöngjang.".encode("latin-1"), "expected UTF-8 text, found byte 0xfc"),
    ("numbers.txt", b"12.345 -- 67 %", "expected at least one sentence"),
    ("scan.pdf", b"%PDF-1.4", "found a .pdf file"),
    ("empty.html", b"<html><body><script>x()</script></body></html>", "expected at least one sentence"),
])
def test_a_bad_input_alone_exits_2(run_dir: Path, tmp_path: Path, capsys, name: str, content: bytes | None,
                                   expected: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    code, out, err = predict(capsys, run_dir, str(path))
    assert code == 2 and out == ""
    assert f"german-stance predict: error: {path}: expected " in err and expected in err
    assert "; " in err  # every message ends with how to fix it


def test_batch_reports_bad_entries_and_carries_on(run_dir: Path, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    write(folder / "a.txt", ARTICLE)
    (folder / "b.txt").write_bytes(b"\xff\xfe kaputt")
    (folder / "c.txt").symlink_to(tmp_path / "gone.txt")  # an entry that cannot be read
    write(folder / "d.txt", "Kim dankte Putin.")
    code, out, err = predict(capsys, run_dir, str(folder), str(tmp_path / "missing.txt"))
    assert code == 1
    assert articles_of(out) == ["a.txt", "d.txt"]
    assert f"{folder / 'b.txt'}: expected UTF-8 text" in err and f"{folder / 'c.txt'}: expected a readable file" in err
    assert "missing.txt: expected" in err and err.count("german-stance predict: error:") == 3
    (tmp_path / "empty").mkdir()
    code, _, err = predict(capsys, run_dir, str(tmp_path / "empty"), str(folder / "b.txt"))
    assert code == 2 and "found none" in err


def test_bad_model_fails_before_reading_input(tmp_path: Path, capsys, monkeypatch) -> None:
    class Untouchable(io.StringIO):
        def read(self, *args: object) -> str:
            raise AssertionError("standard input was read before the model was checked")

    monkeypatch.setattr(sys, "stdin", Untouchable())
    code, out, err = predict(capsys, tmp_path / "no-run")
    assert code == 2 and out == "" and "expected a run folder" in err and "german-stance train" in err
    (tmp_path / "half").mkdir()
    code, _, err = predict(capsys, tmp_path / "half")
    assert code == 2 and "expected a trained run" in err


def test_bad_arguments(run_dir: Path, tmp_path: Path, capsys) -> None:
    article = str(write(tmp_path / "a.txt", ARTICLE))
    code, _, err = predict(capsys, run_dir, article, "--batch-size", "0")
    assert code == 2 and "--batch-size must be >= 1, got 0" in err
    code, _, err = predict(capsys, run_dir, article, "-o", str(tmp_path / "nowhere" / "x.jsonl"))
    assert code == 2 and "mkdir -p" in err


def same_predictions(left: list[dict], right: list[dict]) -> bool:
    """Same sentences and numbers, probabilities equal up to batching noise."""
    return ([(r["sentence"], r["text"]) for r in left] == [(r["sentence"], r["text"]) for r in right]
            and all([a[f"p_stance_{label}"] for label in LABELS] == pytest.approx([b[f"p_stance_{label}"] for label in LABELS], abs=1e-3)
                    for a, b in zip(left, right)))


def test_long_article_through_the_command_in_chunks(run_dir: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    article = str(write(tmp_path / "book.txt", ARTICLE * 4))
    _, whole, _ = predict(capsys, run_dir, article)
    monkeypatch.setattr(pipeline, "CHUNK_SENTENCES", 3)
    monkeypatch.setattr(pipeline, "BLOCK_CHARS", 50)
    output = tmp_path / "chunked.jsonl"
    predict(capsys, run_dir, article, "-o", str(output))
    records, expected = parse_jsonl(output.read_text(encoding="utf-8")), parse_jsonl(whole)
    (summary,) = parse_jsonl((tmp_path / "chunked.summary.jsonl").read_text(encoding="utf-8"))
    assert len(records) == 16 and same_predictions(records, expected)
    assert summary["sentences"] == 16 and summary["stance"]["counts"] == summarise_article(records)["stance"]["counts"]


def test_entries_are_read_lazily(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    write(folder / "a.txt", "Erster Text.")
    write(folder / "b.txt", "Alter Text.")
    entries = iter_entries([str(folder)])
    assert next(entries).read() == Article("a.txt", "Erster Text.", "a")
    write(folder / "b.txt", "Neuer Text.")  # changed after the folder was listed, before it was read
    assert next(entries).read().text == "Neuer Text."


def test_chunks_match_one_pass(run_dir: Path) -> None:
    run = StanceClassifier.from_run(run_dir, device="cpu")
    chunks = list(label_article(run, Article("x", ARTICLE * 3), chunk_size=5))
    chunked = [record for chunk in chunks for record in chunk]
    assert [len(chunk) for chunk in chunks] == [5, 5, 2] and [r["sentence"] for r in chunked] == list(range(1, 13))
    assert same_predictions(chunked, predict_article(run, ARTICLE * 3))
    tally = SummaryTally((STANCE,))
    for chunk in chunks:
        tally.add(chunk)
    assert tally.summary() == summarise_article(chunked)


def test_summary_tally_equals_summarise_article_with_ties() -> None:
    labels = ["critical", "supportive", "neutral"]
    strengths = [0.5, 0.9, 0.5, 0.7, 0.9, 0.5, 0.6, 0.9, 0.4, 0.5, 0.8, 0.9, 0.5, 0.45]
    records = []
    for number, strength in enumerate(strengths, start=1):
        label = labels[number % 3]
        rest = round((1 - strength) / 2, 4)
        probabilities = {f"p_stance_{name}": strength if name == label else rest for name in LABELS}
        records.append({"sentence": number, "text": f"Satz {number}.", "stance": label,
                        "stance_confidence": strength, **probabilities})
    for size in (1, 2, 3, 5, 14):
        tally = SummaryTally((STANCE,))
        for start in range(0, len(records), size):
            tally.add(records[start : start + size])
        assert tally.summary() == summarise_article(records), size
    assert records[1]["text"] == "Satz 2."  # the caller's records are left alone


def test_context_crosses_chunk_borders(tiny_config) -> None:
    from german_stance.training.trainer import train

    run = StanceClassifier.from_run(train(replace(tiny_config, use_context=True, run_name="ctx", num_epochs=1)), device="cpu")
    whole = predict_article(run, ARTICLE * 2)
    chunked = [r for chunk in label_article(run, Article("x", ARTICLE * 2), chunk_size=3) for r in chunk]
    assert same_predictions(chunked, whole)


def test_block_splitting_equals_split_sentences() -> None:
    text = ARTICLE * 5 + "Ein letzter Satz ohne Zeilenumbruch am Ende"
    assert list(pipeline.iter_sentences(text, block_chars=30)) == split_sentences(text)


def test_input_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="expected .* found nothing at that path"):
        read_file(Path("does/not/exist.txt"))
    assert issubclass(InputError, ValueError)


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs /usr/bin/chromium")
def test_html_view_screenshot(run_dir: Path, tmp_path: Path, capsys) -> None:
    output = tmp_path / "view.html"
    code, _, _ = predict(capsys, run_dir, str(write(tmp_path / "a.txt", ARTICLE)), "-o", str(output))
    assert code == 0
    check = subprocess.run([sys.executable, str(REPO / "scripts" / "check_html_view.py"), str(output),
                            "--screenshot", str(tmp_path / "view.png")], capture_output=True, text=True, timeout=180)
    assert check.returncode == 0, check.stderr
    assert (tmp_path / "view.png").stat().st_size > 10_000
    blank = write(tmp_path / "blank.html", "<html><body></body></html>")
    assert subprocess.run([sys.executable, str(REPO / "scripts" / "check_html_view.py"), str(blank)],
                          capture_output=True, timeout=180).returncode == 1


def test_existing_output_is_left_intact_when_nothing_can_be_read(run_dir: Path, tmp_path: Path, capsys) -> None:
    output = tmp_path / "stances.html"
    output.write_text("earlier results", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    code, _, err = predict(capsys, run_dir, str(tmp_path / "empty.txt"), "-o", str(output))
    assert code == 2 and "expected" in err
    assert output.read_text(encoding="utf-8") == "earlier results"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.txt", "stances.html"]  # no temporary left
    write(tmp_path / "good.txt", ARTICLE)
    assert predict(capsys, run_dir, str(tmp_path / "good.txt"), "-o", str(output))[0] == 0
    assert "<html" in output.read_text(encoding="utf-8").lower()


def test_ids_are_relative_and_titles_come_from_html_or_name(run_dir: Path, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    write(folder / "putin-in-pjoengjang.txt", ARTICLE)
    write(folder / "seite.html", HTML_PAGE.replace("<title>Portal</title>", "<title>Putin &amp; Kim</title>"))
    code, out, err = predict(capsys, run_dir, str(folder), "--format", "html")
    assert code == 0, err
    assert str(tmp_path) not in out  # no absolute path anywhere in the page
    assert "<h2>putin in pjoengjang</h2>" in out and "<h2>Putin &amp; Kim</h2>" in out
    assert '<p class="id">seite.html</p>' in out
    # The overview (written after the articles) is shown first: CSS order, so it holds without script and in print.
    assert out.index('class="overview-box"') > out.index("<article") and ".overview-box{order:-1}" in out
    code, out, _ = predict(capsys, run_dir, str(folder / "seite.html"), "--format", "csv")
    assert code == 0 and str(tmp_path) not in out and "\nseite.html,1," in out


def test_labelled_jsonl_points_to_evaluate(run_dir: Path, tmp_path: Path, capsys) -> None:
    labelled = write_jsonl(tmp_path / "dev.jsonl", toy_rows())
    code, out, err = predict(capsys, run_dir, str(labelled))
    assert code == 2 and out == ""
    assert "found labelled sentences" in err and f"german-stance evaluate --model RUN --data {labelled}" in err


def test_first_chunks_are_small_so_output_starts_early() -> None:
    assert [len(chunk) for chunk in pipeline.iter_chunks(map(str, range(1000)), 300, 64)] == [64, 128, 256, 300, 252]
    assert [len(chunk) for chunk in pipeline.iter_chunks(map(str, range(12)), 5)] == [5, 5, 2]


def test_two_task_run_in_every_predict_format(joint_run: Path, tmp_path: Path, capsys) -> None:
    """A tiny stance + sentiment run end to end: both labels in JSONL, CSV, table and HTML."""
    run = joint_run
    article = str(write(tmp_path / "a.txt", ARTICLE))
    code, out, _ = predict(capsys, run, article, "--format", "jsonl")
    records = parse_jsonl(out)
    assert code == 0 and all(r["sentiment"] in ("negative", "neutral", "positive") for r in records)
    assert all(abs(sum(r[f"p_sentiment_{label}"] for label in ("negative", "neutral", "positive")) - 1) < 1e-3
               for r in records)
    code, out, _ = predict(capsys, run, article, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and {"sentiment", "sentiment_confidence", "p_sentiment_negative"} <= set(rows[0])
    code, out, _ = predict(capsys, run, article, "--format", "table", "--width", "120")
    assert code == 0 and "sentiment" in out and "dominant:" in out.splitlines()[-2]
    output = tmp_path / "view.html"
    code, _, _ = predict(capsys, run, article, "-o", str(output))
    page = output.read_text(encoding="utf-8")
    assert code == 0 and "l-sentiment-" in page and "Dominant sentiment" in page and 'class="m"' in page
