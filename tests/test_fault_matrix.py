"""The fault matrix (issue 13): bad inputs, damaged runs, full disks, locked outputs and Ctrl-C against every command.

Each case builds its files in a fresh folder, runs ``german-stance --quiet ...`` in-process on one shared tiny run,
and asserts: the exit code; what a user reads on standard error is one line (``print`` output plus warnings and
errors logged), holds the expected text and no traceback; every file that existed before is byte-identical
afterwards (unless the case expects it to change), no temporary or lock file is left, and the shared run is untouched.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import toy_rows, train_tiny

from german_stance import files
from german_stance.cli import main
from german_stance.inference import pipeline

Setup = Callable[[Path, Path], list[str]]
Patch = Callable[[pytest.MonkeyPatch, Path], Callable[[], None] | None]  # may return a clean-up
ARTICLE = "Seoul verurteilte das Abkommen.\nKim dankte Putin für die Freundschaft. Beide Seiten wollen den Handel ausbauen.\n"


@dataclass
class Case:
    """One fault: how to set it up, what the command must answer, which files it may change."""

    id: str
    setup: Setup
    code: int
    message: str = ""
    lines: int = 1  # lines on standard error (0: a clean success)
    changed: tuple[str, ...] = ()  # files (relative to the case folder) the command may create or replace
    patch: Patch | None = None
    check: Callable[[Path], None] | None = None


@pytest.fixture(scope="module")
def shared_run(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny trained run for every case (cases that damage a run copy it first)."""
    return train_tiny(tmp_path_factory.mktemp("matrix-run"), tiny_model_dir)


# ---- helpers that build a case's files ---------------------------------------------------------------------------


def predict(run: Path, *args: str) -> list[str]:
    """The argv of ``predict`` on ``run``."""
    return ["predict", "--model", str(run), "--device", "cpu", *map(str, args)]


def put(path: Path, content: str | bytes) -> Path:
    """Write text (UTF-8) or bytes, making folders; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def one_file(name: str, content: str | bytes, *extra: str) -> Setup:
    """Predict on one file ``name`` holding ``content``; ``{w}`` in ``extra`` is the case folder."""
    return lambda work, run: predict(run, put(work / name, content), *(arg.format(w=work) for arg in extra))


def lines_file(*rows: str | dict) -> bytes:
    """A JSONL file: dicts as JSON, strings verbatim."""
    return "".join((json.dumps(row, ensure_ascii=False) if isinstance(row, dict) else row) + "\n"
                   for row in rows).encode("utf-8")


def folder_with(*entries: tuple[str, str]) -> Setup:
    """Predict on a folder with a good article plus entries: ("link", target), ("fifo", ""), ("dir", "")."""
    def setup(work: Path, run: Path) -> list[str]:
        folder = work / "articles"
        put(folder / "a.txt", ARTICLE)
        for name, target in entries:
            kind, _, name = name.partition(":")
            if kind == "link":
                (folder / name).symlink_to(target)
            elif kind == "fifo":
                os.mkfifo(folder / name)
            elif kind == "dir":
                (folder / name).mkdir()
        return predict(run, folder)
    return setup


def damaged_run(damage: Callable[[Path], None], *extra: str) -> Setup:
    """Copy the shared run into the case folder, damage the copy, predict with it."""
    def setup(work: Path, run: Path) -> list[str]:
        copy = work / "run"
        shutil.copytree(run, copy)
        damage(copy)
        return predict(copy, put(work / "a.txt", ARTICLE), *extra)
    return setup


def edit_weights(change: Callable[[dict], dict]) -> Callable[[Path], None]:
    """Rewrite model.safetensors (valid header) with ``change`` applied to its tensors."""
    def damage(run: Path) -> None:
        from safetensors.torch import load_file, save_file

        path = run / "model" / "model.safetensors"
        save_file(change(load_file(str(path))), str(path), metadata={"format": "pt"})
    return damage


def heads_filled(value: float) -> Callable[[dict], dict]:
    """Every head weight set to ``value`` (NaN, infinity)."""
    return lambda state: {key: tensor.fill_(value) if key.startswith("heads") else tensor for key, tensor in state.items()}


def existing_output(name: str, *inputs: tuple[str, str | bytes], extra: tuple[str, ...] = ()) -> Setup:
    """Earlier results in ``name`` (and its summary file) and predict writing there from ``inputs``."""
    def setup(work: Path, run: Path) -> list[str]:
        output = put(work / "out" / name, "earlier results\n")
        stem, suffix = output.stem, output.suffix
        put(output.with_name(f"{stem}.summary{suffix}"), "earlier summary\n")
        paths = [put(work / path, content) for path, content in inputs]
        return predict(run, *paths, "-o", output, *extra)
    return setup


def hold_lock(name: str) -> Patch:
    """Another german-stance process writing ``<case folder>/<name>``: hold its lock while the command runs."""
    def patch(monkeypatch: pytest.MonkeyPatch, work: Path) -> Callable[[], None]:
        holder = files.locked(work / name)
        holder.__enter__()
        return lambda: holder.__exit__(None, None, None)
    return patch


def disk_full(monkeypatch: pytest.MonkeyPatch, work: Path) -> None:
    """Every flush to disk of an output fails with ENOSPC."""
    def full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(files.os, "fsync", full)


def interrupt_labelling(monkeypatch: pytest.MonkeyPatch, work: Path) -> None:
    """Ctrl-C after the first chunk of sentences has been written."""
    original = pipeline.label_stream

    def label_then_interrupt(*args, **kwargs):
        yield from list(original(*args, **kwargs))[:1]
        raise KeyboardInterrupt
    monkeypatch.setattr(pipeline, "label_stream", label_then_interrupt)


def stdin_bytes(data: bytes) -> Patch:
    """Standard input holding ``data``."""
    return lambda monkeypatch, work: monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def read_only_folders(monkeypatch: pytest.MonkeyPatch, work: Path) -> None:
    """Every folder reads as not writable (the suite may run as root, who can write anywhere)."""
    monkeypatch.setattr(files.os, "access", lambda path, mode: not mode & os.W_OK)


def jsonl_output(expected_articles: list[str] | None = None, sentences: int = 1) -> Callable[[Path], None]:
    """``out.jsonl`` is valid JSON lines (no NaN) with at least ``sentences`` sentences, probabilities summing to 1."""
    def check(work: Path) -> None:
        records = [json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in the output"))
                   for line in (work / "out.jsonl").read_text(encoding="utf-8").splitlines()]
        assert len(records) >= sentences
        if expected_articles is not None:
            assert list(dict.fromkeys(record["article"] for record in records)) == expected_articles
        for record in records:
            assert sum(value for key, value in record.items() if key.startswith("p_stance_")) == pytest.approx(1, abs=2e-3)
    return check


def evaluate(run: Path, work: Path, data: Path, *extra: str) -> list[str]:
    """The argv of a quick ``evaluate`` into ``work/report``."""
    return ["evaluate", "--model", str(run), "--data", str(data), "--out", str(work / "report"), "--bootstrap", "20",
            "--no-baselines", *extra]


def evaluate_on(rows: list[dict] | bytes, *extra: str, earlier: bool = False) -> Setup:
    """Evaluate the shared run on a data file of ``rows`` (or raw bytes), optionally over an earlier report."""
    def setup(work: Path, run: Path) -> list[str]:
        data = put(work / "data.jsonl", rows if isinstance(rows, bytes) else lines_file(*rows))
        if earlier:
            for name in REPORT_FILES:
                put(work / "report" / name, f"earlier {name}\n")
        return evaluate(run, work, data, *extra)
    return setup


REPORT_FILES = ("report.md", "report.html", "metrics.json", "predictions.csv", "data_stance_confusion.png",
                "data_stance_reliability.png", "data_stance_coverage.png")
REPORT_OUTPUTS = tuple(f"report/{name}" for name in REPORT_FILES)


def one_class_rows() -> list[dict]:
    """Toy rows that are all critical."""
    return [dict(row, label="critical") for row in toy_rows()]


def compare_on(*extra: str, out: str = "cmp", earlier: bool = False) -> Setup:
    """Compare the shared run with itself on the toy data into ``work/<out>``."""
    def setup(work: Path, run: Path) -> list[str]:
        data = put(work / "data.jsonl", lines_file(*toy_rows()))
        if earlier:
            for name in ("comparison.md", "comparison.html", "comparison.json"):
                put(work / out / name, f"earlier {name}\n")
        return ["compare", "--model", f"a={run}", *extra, "--data", str(data), "--out", str(work / out),
                "--bootstrap", "20"]
    return setup


def train_with(rows: list[dict] | None = None, config: str | None = None, *extra: str, existing: bool = False) -> Setup:
    """``train`` on the tiny backbone with ``rows`` (default the toy rows) or a raw ``config`` text."""
    def setup(work: Path, run: Path) -> list[str]:
        from german_stance.config import load_config

        backbone = load_config(run / "config.yaml").model_name
        data = put(work / "train.jsonl", lines_file(*(toy_rows() if rows is None else rows)))
        text = config if config is not None else (
            f"model_name: {backbone}\ntrain_file: {data}\ndev_file: {data}\noutput_dir: {work / 'runs'}\n"
            "run_name: tiny\nmax_length: 32\nbatch_size: 4\nnum_epochs: 1\nfreeze_embeddings: false\n")
        if "train_file:" in text and "output_dir" not in text:  # never the repository's runs/, whatever is in it
            text += f"\noutput_dir: {work / 'runs'}\n"
        if existing:
            shutil.copytree(run, work / "runs" / "tiny")
        return ["train", "--config", str(put(work / "config.yaml", text)), *extra]
    return setup


def interrupt_training(monkeypatch: pytest.MonkeyPatch, work: Path) -> None:
    """Ctrl-C while the Trainer runs."""
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr("german_stance.training.trainer.MultiTaskTrainer.train", interrupted)


def interrupt_report(monkeypatch: pytest.MonkeyPatch, work: Path) -> None:
    """Ctrl-C while the report's files are written."""
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr("german_stance.evaluation.document.write_files_atomic", interrupted)


def report_escapes_html(work: Path) -> None:
    """HTML from the data stays text in both report formats."""
    for name in ("report.md", "report.html"):
        text = (work / "report" / name).read_text(encoding="utf-8")
        assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text


def reports_absent_classes(work: Path) -> None:
    """Macro-F1 over the present classes, and the absent ones named."""
    metrics = json.loads((work / "report" / "metrics.json").read_text(encoding="utf-8"))
    model = metrics["files"]["data"]["model"]
    assert model["absent_labels"] == ["neutral", "supportive"] and "macro_f1_present" in model
    assert "no gold neutral, supportive sentences" in (work / "report" / "report.md").read_text(encoding="utf-8")


def duplicate_ids_kept(work: Path) -> None:
    """Both articles of one id are written, the second suffixed."""
    jsonl_output(["k1", "k1#2"])(work)


OUT = ("out.jsonl", "out.summary.jsonl")
TOY = toy_rows()
CASES = [
    # ---- predict: one bad input on its own (exit 2, nothing written) ----
    Case("missing-file", lambda w, r: predict(r, w / "nope.txt"), 2, "found nothing at that path"),
    Case("missing-file-near-name", lambda w, r: predict(r, put(w / "artikel.txt", ARTICLE).with_name("artikle.txt")),
         2, "did you mean"),
    Case("empty-file", one_file("a.txt", b""), 2, "found an empty file"),
    Case("blank-file", one_file("a.txt", b" \n\t\n"), 2, "found an empty file"),
    Case("binary-png", one_file("a.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), 2, "binary data"),
    Case("latin1", one_file("a.txt", "Grüße aus Pjöngjang.".encode("latin-1")), 2, "iconv -f latin1"),
    Case("utf16-without-bom", one_file("a.txt", ARTICLE.encode("utf-16-le")), 2, "iconv -f utf-16le"),
    Case("utf16-bad-after-bom", one_file("a.txt", b"\xff\xfe\x41"), 2, "iconv -f utf-16"),
    Case("utf16-jsonl", one_file("a.jsonl", lines_file({"id": "a", "text": ARTICLE}).decode().encode("utf-16")), 2,
         "iconv -f utf-16"),
    Case("numbers-only", one_file("a.txt", "12.345 -- 67 %"), 2, "expected at least one sentence"),
    Case("pdf-suffix", one_file("scan.pdf", b"%PDF-1.4"), 2, "found a .pdf file"),
    Case("no-suffix", one_file("README", ARTICLE), 2, "suffix-less"),
    Case("html-script-only", one_file("a.html", "<html><body><script>x()</script></body></html>"), 2,
         "expected at least one sentence"),
    Case("markdown-code-only", one_file("a.md", "```\nprint(1)\n```\n"), 2, "expected at least one sentence"),
    Case("empty-folder", lambda w, r: predict(r, (w / "d").mkdir() or w / "d"), 2, "found none"),
    Case("folder-of-other-files", lambda w, r: predict(r, put(w / "d" / "x.csv", "a,b").parent), 2, "found none"),
    Case("dangling-link", lambda w, r: (w / "a.txt").symlink_to(w / "gone.txt") or predict(r, w / "a.txt"), 2,
         "expected a readable file"),
    Case("link-loop", lambda w, r: (w / "a.txt").symlink_to(w / "a.txt") or predict(r, w / "a.txt"), 2,
         "expected a readable file"),
    Case("folder-link-loop", lambda w, r: (w / "d").symlink_to(w / "d") or predict(r, w / "d"), 2,
         "expected a readable file"),
    Case("named-pipe", lambda w, r: os.mkfifo(w / "a.txt") or predict(r, w / "a.txt"), 2, "named pipe"),
    Case("folder-named-txt", lambda w, r: (w / "a.txt").mkdir() or predict(r, w / "a.txt"), 2, "found none"),
    Case("stdin-empty", lambda w, r: predict(r, "-"), 2, "standard input: expected article text",
         patch=stdin_bytes(b"")),
    Case("stdin-latin1", lambda w, r: predict(r, "-"), 2, "standard input: expected UTF-8",
         patch=stdin_bytes("Grüße.".encode("latin-1"))),
    Case("stdin-binary", lambda w, r: predict(r), 2, "binary data", patch=stdin_bytes(b"\x00\x01\x02abc")),
    # ---- predict: JSONL batches ----
    Case("jsonl-invalid-json", one_file("b.jsonl", b"{kaputt\n"), 2, "invalid JSON"),
    Case("jsonl-no-text", one_file("b.jsonl", lines_file({"id": "k1", "titel": "x"})), 2, "['id', 'titel']"),
    Case("jsonl-text-not-string", one_file("b.jsonl", lines_file({"id": "k1", "text": 42})), 2, "text 42"),
    Case("jsonl-array-line", one_file("b.jsonl", lines_file("[1, 2]")), 2, "a JSON list"),
    Case("jsonl-latin1-line", one_file("b.jsonl", '{"id": "k", "text": "Grüße."}\n'.encode("latin-1")), 2,
         "expected UTF-8"),
    Case("jsonl-empty", one_file("b.jsonl", b""), 2, "found an empty file"),
    Case("jsonl-one-bad-line", one_file("b.jsonl", lines_file({"id": "k1", "text": ARTICLE}, "{kaputt")), 1,
         "line 2: expected"),
    Case("jsonl-duplicate-ids", lambda w, r: predict(r, put(w / "b.jsonl", lines_file(
        {"id": "k1", "text": ARTICLE}, {"id": "k1", "text": "Kim dankte Putin."})), "-o", w / "out.jsonl"), 0,
         "duplicate article id 'k1'", changed=OUT, check=duplicate_ids_kept),
    # ---- predict: folders with bad entries (the batch carries on: exit 1) ----
    Case("folder-with-dangling-link", folder_with(("link:b.txt", "/nonexistent/gone.txt")), 1, "b.txt: expected a readable"),
    Case("folder-with-link-loop", folder_with(("link:b.txt", "b.txt")), 1, "b.txt: expected a readable file"),
    Case("folder-with-named-pipe", folder_with(("fifo:b.txt", "")), 1, "b.txt: expected a regular text file"),
    Case("folder-subfolder-loop", folder_with(("link:sub.txt", ".")), 0, lines=0),
    Case("folder-subfolder-named-txt", folder_with(("dir:sub.txt", "")), 0, lines=0),
    # ---- predict: awkward but valid text (exit 0, valid output) ----
    Case("utf16-with-bom", one_file("a.txt", ARTICLE.encode("utf-16"), "-o", "{w}/out.jsonl"), 0, lines=0,
         changed=OUT, check=jsonl_output(sentences=3)),
    Case("utf32-with-bom", one_file("a.txt", ARTICLE.encode("utf-32"), "-o", "{w}/out.jsonl"), 0, lines=0,
         changed=OUT, check=jsonl_output(sentences=3)),
    Case("utf8-bom", one_file("a.txt", ARTICLE.encode("utf-8-sig")), 0, lines=0),
    Case("control-characters", one_file("a.txt", "Kim\x07 dankte\x1b[31m Putin.\x0cSeoul\x7f verurteilte das."), 0,
         lines=0),
    Case("nul-byte-late-in-file", one_file("a.txt", ARTICLE * 200 + "\x00"), 2, "binary data"),
    Case("cr-line-endings", one_file("a.txt", ARTICLE.replace("\n", "\r"), "-o", "{w}/out.jsonl"), 0, lines=0,
         changed=OUT, check=jsonl_output(sentences=3)),
    Case("emoji-and-rtl", one_file("a.txt", "Kim dankte Putin 🤝. \u202eSeoul\u202c verurteilte das Abkommen."), 0,
         lines=0),
    Case("long-line-cut-in-blocks", one_file("a.txt", ("Kim dankte Putin für die Freundschaft. " * 400).strip(),
                                             "-o", "{w}/out.jsonl"), 0, lines=0, changed=OUT,
         patch=lambda m, w: m.setattr(pipeline, "BLOCK_CHARS", 500), check=jsonl_output(sentences=400)),
    Case("long-word-no-spaces", one_file("a.txt", "Kim" + "x" * 20_000 + " dankte Putin."), 0, lines=0),
    # ---- predict: outputs ----
    Case("output-is-input", lambda w, r: predict(r, put(w / "a.txt", ARTICLE), "-o", w / "a.txt", "--format", "jsonl"),
         2, "differ from the inputs"),
    Case("summary-is-input", lambda w, r: predict(r, put(w / "out.summary.jsonl", lines_file({"text": ARTICLE})),
                                                  "-o", w / "out.jsonl"), 2, "differ from the inputs"),
    Case("output-inside-input-folder", lambda w, r: predict(r, put(w / "d" / "a.txt", ARTICLE).parent, "-o",
                                                            w / "d" / "out.jsonl"), 2, "outside the input folder"),
    Case("output-is-a-folder", lambda w, r: predict(r, put(w / "a.txt", ARTICLE), "-o", (w / "o").mkdir() or w / "o"),
         2, "found the folder"),
    Case("output-folder-missing", lambda w, r: predict(r, put(w / "a.txt", ARTICLE), "-o", w / "no" / "x.jsonl"), 2,
         "mkdir -p"),
    Case("output-folder-read-only", lambda w, r: predict(r, put(w / "a.txt", ARTICLE), "-o", w / "x.jsonl"), 2,
         "read-only", patch=read_only_folders),
    Case("output-locked-by-another-writer", existing_output("s.jsonl", ("a.txt", ARTICLE)), 2,
         "another german-stance process", patch=hold_lock("out/s.jsonl")),
    Case("summary-locked-by-another-writer", existing_output("s.csv", ("a.txt", ARTICLE)), 2,
         "another german-stance process", patch=hold_lock("out/s.summary.csv")),
    Case("disk-full-jsonl", existing_output("s.jsonl", ("a.txt", ARTICLE)), 2, "found it full", patch=disk_full),
    Case("disk-full-csv", existing_output("s.csv", ("a.txt", ARTICLE)), 2, "found it full", patch=disk_full),
    Case("disk-full-html", existing_output("s.html", ("a.txt", ARTICLE)), 2, "found it full", patch=disk_full),
    Case("ctrl-c-with-output", existing_output("s.csv", ("a.txt", ARTICLE * 3)), 130, "interrupted",
         patch=interrupt_labelling),
    Case("ctrl-c-to-stdout", one_file("a.txt", ARTICLE), 130, "interrupted", patch=interrupt_labelling),
    Case("all-inputs-bad-keeps-summary", existing_output("s.csv", ("a.txt", b"")), 2, "found an empty file"),
    Case("two-bad-inputs-one-count-line", existing_output("s.jsonl", ("a.txt", b""), ("b.txt", b"\x00")), 2,
         "nothing was written", lines=3),
    Case("batch-size-zero", one_file("a.txt", ARTICLE, "--batch-size", "0"), 2, "--batch-size must be >= 1"),
    # ---- predict: damaged or incomplete run folders ----
    Case("model-missing", lambda w, r: predict(w / "no-run", put(w / "a.txt", ARTICLE)), 2, "expected a run folder"),
    Case("model-not-a-run", lambda w, r: predict(put(w / "x" / "notes.txt", "x").parent, put(w / "a.txt", ARTICLE)),
         2, "expected a trained run"),
    Case("tokenizer-json-missing", damaged_run(lambda run: (run / "model" / "tokenizer.json").unlink()), 2,
         "expected the tokenizer files"),
    Case("tokenizer-config-missing", damaged_run(lambda run: (run / "model" / "tokenizer_config.json").unlink()), 2,
         "tokenizer_config.json"),
    Case("tokenizer-of-another-model", damaged_run(lambda run: __import__("transformers").BertTokenizerFast(
        vocab={"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}).save_pretrained(run / "model")), 2,
         "belong to another model"),
    Case("weights-truncated", damaged_run(lambda run: os.truncate(run / "model" / "model.safetensors", 4000)), 2,
         "found a damaged file"),
    Case("weights-garbage", damaged_run(lambda run: put(run / "model" / "model.safetensors", b"\x00" * 64)), 2,
         "found a damaged file"),
    Case("weights-missing", damaged_run(lambda run: (run / "model" / "model.safetensors").unlink()), 2,
         "no weights file"),
    Case("weights-pickle-only", damaged_run(lambda run: (run / "model" / "model.safetensors").rename(
        run / "model" / "pytorch_model.bin")), 2, "never loaded"),
    Case("weights-nan", damaged_run(edit_weights(heads_filled(float("nan")))), 2, "NaN or infinity"),
    Case("weights-infinite", damaged_run(edit_weights(heads_filled(float("inf")))), 2, "NaN or infinity"),
    Case("weights-head-missing", damaged_run(edit_weights(lambda state: {
        key: value for key, value in state.items() if not key.startswith("heads.stance")})), 2, "missing"),
    Case("model-config-not-json", damaged_run(lambda run: put(run / "model" / "config.json", "{kaputt")), 2,
         "expected valid JSON"),
    Case("run-config-not-yaml", damaged_run(lambda run: put(run / "config.yaml", "a: [b\n")), 2, "not valid YAML"),
    Case("run-config-unknown-key", damaged_run(lambda run: put(run / "config.yaml", "lernrate: 1\n")), 2,
         "unknown config key"),
    Case("calibration-not-json", damaged_run(lambda run: put(run / "calibration.json", "{")), 2, "calibration.json"),
    Case("calibration-nan-temperature", damaged_run(lambda run: put(run / "calibration.json", json.dumps(
        {"stance": {"temperature": float("nan"), "applied": True}}))), 2, "sum to 1"),
    # ---- evaluate ----
    Case("evaluate-out-is-a-file", lambda w, r: put(w / "report", "x") and evaluate(r, w, put(
        w / "d.jsonl", lines_file(*TOY))), 2, "found the file"),
    Case("evaluate-data-missing", lambda w, r: evaluate(r, w, w / "nope.jsonl"), 2, "expected a JSONL file"),
    Case("evaluate-data-not-json", evaluate_on(b"{kaputt\n"), 2, "is not JSON"),
    Case("evaluate-data-empty", evaluate_on(b"\n"), 2, "found an empty file"),
    Case("evaluate-data-bad-label", evaluate_on([dict(TOY[0], label="pro")]), 2, "relabel"),
    Case("evaluate-data-duplicate-ids", evaluate_on([TOY[0], TOY[0]]), 2, "unique ids"),
    Case("evaluate-data-utf16", evaluate_on(lines_file(*TOY).decode().encode("utf-16")), 2, "UTF-8"),
    Case("evaluate-damaged-model", lambda w, r: shutil.copytree(r, w / "run") and os.truncate(
        w / "run" / "model" / "model.safetensors", 4000) or evaluate(w / "run", w, put(w / "d.jsonl", lines_file(*TOY))),
         2, "found a damaged file"),
    Case("evaluate-one-class", evaluate_on(one_class_rows()), 0, lines=0, changed=REPORT_OUTPUTS,
         check=reports_absent_classes),
    Case("evaluate-html-in-data", evaluate_on([dict(row, text=f"<script>alert(1)</script> {row['text']}") for row in TOY]),
         0, lines=0, changed=REPORT_OUTPUTS, check=report_escapes_html),
    Case("evaluate-disk-full", evaluate_on(TOY, earlier=True), 2, "found it full", patch=disk_full),
    Case("evaluate-ctrl-c", evaluate_on(TOY, earlier=True), 130, "interrupted", patch=interrupt_report),
    Case("evaluate-report-locked", evaluate_on(TOY, earlier=True), 2, "another german-stance process",
         patch=hold_lock("report/report.md")),
    # ---- compare ----
    Case("compare-out-is-a-file", lambda w, r: put(w / "cmp", "x") and compare_on()(w, r), 2, "found the file"),
    Case("compare-duplicate-names", compare_on("a=/x"), 2, "unique setup names"),
    Case("compare-run-missing", compare_on("b=/nonexistent/run"), 2, "expected a run folder"),
    Case("compare-baseline-train-missing", compare_on("--baseline-train", "/nonexistent/train.jsonl"), 2,
         "expected a labelled JSONL file for --baseline-train"),
    Case("compare-disk-full", compare_on(earlier=True), 2, "found it full", patch=disk_full),
    # ---- train ----
    Case("train-one-class", train_with(one_class_rows()), 2, "at least two stance classes"),
    Case("train-data-missing", train_with(config="train_file: /nonexistent/t.jsonl\n"), 2, "expected a JSONL file"),
    Case("train-config-unknown-key", train_with(config="lerning_rate: 0.1\n"), 2, "did you mean 'learning_rate'"),
    Case("train-config-not-yaml", train_with(config="a: [b\n"), 2, "not valid YAML"),
    Case("train-config-not-a-mapping", train_with(config="- a\n- b\n"), 2, "expected a mapping"),
    Case("train-bad-override", train_with(None, None, "--num_epochs"), 2, "--key=value"),
    Case("train-bad-value", train_with(None, None, "--warmup_ratio=1.5"), 2, "warmup_ratio must be in [0, 1]"),
    Case("train-seeds-zero", train_with(None, None, "--seeds", "0"), 2, "--seeds must be >= 1"),
    Case("train-existing-run", train_with(existing=True), 2, "--overwrite"),
    Case("train-ctrl-c", train_with(), 130, "interrupted", patch=interrupt_training),
    Case("train-ctrl-c-overwrite", train_with(None, None, "--overwrite", existing=True), 130, "interrupted",
         patch=interrupt_training),
]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every regular file under ``folder`` (links and pipes not followed): relative path -> bytes."""
    found = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                found[str(path.relative_to(folder))] = path.read_bytes()
    return found


def user_sees(stderr: str, records: list[logging.LogRecord]) -> list[str]:
    """What a user reads on standard error: printed lines plus logged warnings and errors (pytest captures logs)."""
    return [line for line in stderr.splitlines() if line.strip()] + [
        record.getMessage() for record in records if record.levelno >= logging.WARNING]


def test_the_matrix_is_large_enough() -> None:
    assert len(CASES) >= 60 and len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_fault(case: Case, shared_run: Path, tmp_path: Path, capsys, caplog, monkeypatch) -> None:
    work = tmp_path / "case"
    work.mkdir()
    argv = case.setup(work, shared_run)
    before, run_before = snapshot(work), snapshot(shared_run)
    release = case.patch(monkeypatch, work) if case.patch else None
    caplog.clear()
    try:
        code = main(["--quiet", *argv])
    finally:
        if release:
            release()
    stderr = capsys.readouterr().err
    seen = user_sees(stderr, caplog.records)
    assert code == case.code, seen
    assert "Traceback" not in stderr and len(seen) == case.lines, seen
    assert all("\n" not in line for line in seen)
    if case.message:
        assert case.message in " ".join(seen)
    after = snapshot(work)
    for name, data in before.items():
        if name not in case.changed:
            assert after.get(name) == data, f"{name} changed or vanished"
    assert set(after) - set(before) <= set(case.changed), "unexpected new files"
    leftovers = [name for root, _, names in os.walk(work) for name in names
                 if name.startswith(".") and name.endswith((".tmp", ".lock"))]
    assert not leftovers, leftovers
    assert snapshot(shared_run) == run_before
    if case.check:
        case.check(work)


def test_real_processes_second_writer_and_ctrl_c(shared_run: Path, tmp_path: Path) -> None:
    """Two real processes on one output: the second fails at once; Ctrl-C stops the first; the old file survives."""
    import signal
    import subprocess
    import time

    from conftest import REPO

    article = put(tmp_path / "long.txt", ARTICLE * 30_000)  # long enough to be still running at the Ctrl-C
    output = put(tmp_path / "out.jsonl", "earlier results\n")
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    command = [sys.executable, "-m", "german_stance", "--quiet", *predict(shared_run, article, "-o", output)]
    first = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=environment)
    try:
        lock = tmp_path / ".out.jsonl.lock"
        deadline = time.monotonic() + 180
        while not lock.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert lock.exists(), "the first process never started writing"
        second = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)
        assert second.returncode == 2 and "another german-stance process" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1 and "Traceback" not in second.stderr
        first.send_signal(signal.SIGINT)
        _, stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 130 and "interrupted" in stderr and "Traceback" not in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert output.read_text(encoding="utf-8") == "earlier results\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["long.txt", "out.jsonl"]
