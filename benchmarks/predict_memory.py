"""Peak memory and time to first output of ``german-stance predict`` on a 20 MB one-line file and a 20 MB normal one.

Usage: ``python benchmarks/predict_memory.py --model runs/default [--megabytes 20] [--max-seconds 600]``
(``--model tiny`` trains the tiny random test model first: the pipeline without the model's own cost).

Each file runs in its own ``german-stance --quiet predict --format jsonl`` process, reading its standard output
as it comes. Time to first output: from the start of the process (model load included) to its first JSON line.
Peak RSS: the process's ``ru_maxrss`` from ``wait4`` (the whole run, model included); RSS is also sampled every
second, so a run stopped at ``--max-seconds`` (Ctrl-C, as a user would) still shows whether memory had levelled
off. Targets (issue 13): under 2 GB, first output within 60 s. Writes ``benchmarks/results/predict_memory.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "predict_memory.md"


def corpus_sentences() -> list[str]:
    """Real German sentences from the corpus (the training split)."""
    rows = (json.loads(line) for line in (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip())
    return [row["text"].strip() for row in rows if row.get("text", "").strip()]


def build_inputs(folder: Path, megabytes: float) -> dict[str, Path]:
    """``normal.txt`` (paragraphs of five sentences) and ``single_line.txt`` (no line break), ``megabytes`` each."""
    sentences, size = corpus_sentences(), int(megabytes * 1_000_000)
    paragraphs, total, index = [], 0, 0
    while total < size:
        paragraph = " ".join(sentences[(index + k) % len(sentences)] for k in range(5))
        paragraphs.append(paragraph)
        total += len(paragraph.encode("utf-8")) + 2
        index += 5
    normal, single = folder / "normal.txt", folder / "single_line.txt"
    normal.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    single.write_text(" ".join(paragraphs), encoding="utf-8")  # one line, no line break anywhere
    return {"single-line": single, "normal": normal}


def build_tiny_run(folder: Path) -> Path:
    """Train the tiny random BERT of the test suite on its toy rows (seconds) and return the run folder."""
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import TOY_ROWS, toy_rows, write_jsonl  # noqa: PLC0415 - the test suite's own tiny model
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    from german_stance.config import Config
    from german_stance.training.trainer import train

    backbone = folder / "tiny-bert"
    backbone.mkdir(parents=True)
    words = sorted({word.strip(".,„“").lower() for *_, text in TOY_ROWS for word in text.split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *list("abcdefghijklmnopqrstuvwxyzäöüß"), *words]
    (backbone / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab=str(backbone / "vocab.txt"), do_lower_case=True)
    BertForSequenceClassification(BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                                             num_attention_heads=4, intermediate_size=37, num_labels=3,
                                             max_position_embeddings=128)).save_pretrained(backbone)
    tokenizer.save_pretrained(backbone)
    data = write_jsonl(folder / "train.jsonl", toy_rows())
    return train(Config(model_name=str(backbone), max_length=32, batch_size=4, num_epochs=1, learning_rate=1e-3,
                        freeze_embeddings=False, train_file=str(data), dev_file=str(data),
                        output_dir=str(folder / "runs"), run_name="tiny", logging_steps=1))


def rss_mib(pid: int) -> float | None:
    """Current resident set size of ``pid`` in MiB (Linux), None once it has exited."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def measure(model: Path, path: Path, device: str, max_seconds: float) -> dict[str, float | int | bool | None]:
    """Run predict on ``path``; return first-output time, peak RSS, RSS samples, sentences and whether it finished."""
    command = [sys.executable, "-m", "german_stance", "--quiet", "predict", "--model", str(model), str(path),
               "--format", "jsonl", "--device", device]
    environment = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment)
    state: dict[str, float | int | None] = {"first": None, "lines": 0}

    def read_output() -> None:
        for _ in process.stdout:  # type: ignore[union-attr]
            if state["first"] is None:
                state["first"] = time.perf_counter() - started
            state["lines"] = int(state["lines"] or 0) + 1

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()
    samples: list[tuple[float, float]] = []
    stopped = False
    while True:
        # wait4 rather than poll: it returns the child's own resource usage (ru_maxrss) when it has ended.
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            break
        elapsed = time.perf_counter() - started
        current = rss_mib(process.pid)
        if current is not None:
            samples.append((elapsed, current))
        if elapsed > max_seconds and not stopped:
            process.send_signal(signal.SIGINT)  # Ctrl-C, as a user would
            stopped = True
        time.sleep(1.0)
    peak = usage.ru_maxrss / 1024  # KiB on Linux
    reader.join(timeout=10)
    seconds = time.perf_counter() - started
    first = state["first"]
    at_first = max((value for t, value in samples if first is not None and t <= first), default=None)
    late = [value for t, value in samples if t >= seconds / 2]
    # RSS at each tenth of the run: a flat series means bounded memory, a rising one a leak.
    series = [round(max((value for t, value in samples if t <= seconds * tenth / 10), default=0)) for tenth in range(1, 11)]
    return {"seconds": round(seconds, 1), "first_output_s": None if first is None else round(float(first), 1),
            "sentences": state["lines"], "peak_rss_mib": round(peak), "rss_at_first_output_mib":
            None if at_first is None else round(at_first), "rss_second_half_max_mib": round(max(late)) if late else None,
            "finished": not stopped, "exit_code": process.returncode, "rss_by_tenth_mib": series,
            "stderr": (process.stderr.read().decode("utf-8", "replace").strip().splitlines() or [""])[-1][:200]}  # type: ignore[union-attr]


def main(argv: list[str] | None = None) -> int:
    """Build the inputs, measure both files, print and write the Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/default", help="run folder, or 'tiny' (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="device for predict (default: %(default)s)")
    parser.add_argument("--megabytes", type=float, default=20, help="size of each input file (default: %(default)s)")
    parser.add_argument("--max-seconds", type=float, default=3600,
                        help="stop a run with Ctrl-C after this long (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="Markdown results file (default: %(default)s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="predict-memory-") as scratch:
        folder = Path(scratch)
        model = build_tiny_run(folder) if args.model == "tiny" else Path(args.model)
        inputs = build_inputs(folder, args.megabytes)
        rows = []
        for name, path in inputs.items():
            result = measure(model, path, args.device, args.max_seconds)
            print(name, json.dumps(result), flush=True)
            rows.append(f"| {args.model} | {name} | {path.stat().st_size / 1e6:.1f} | {result['first_output_s']} | "
                        f"{result['peak_rss_mib']} | {result['rss_at_first_output_mib']} | "
                        f"{result['rss_second_half_max_mib']} | {result['sentences']} | {result['seconds']} | "
                        f"{'yes' if result['finished'] else 'stopped (Ctrl-C)'} | {result['exit_code']} | "
                        f"{' '.join(map(str, result['rss_by_tenth_mib']))} |")
    header = ("| model | file | MB | first output s | peak RSS MiB | RSS at first output MiB | RSS max, 2nd half MiB | "
              "sentences out | seconds | finished | exit | RSS MiB at each tenth of the run |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    text = (f"\n## {args.model}, {args.megabytes:g} MB, {time.strftime('%Y-%m-%d')}\n\n"
            f"`python benchmarks/predict_memory.py --model {args.model} --megabytes {args.megabytes:g} "
            f"--max-seconds {args.max_seconds:g} --device {args.device}`; one run per file. Machine: "
            f"{platform.platform()}, {os.cpu_count()} CPUs, load average {load:.1f} at the end.\n\n{header}\n"
            + "\n".join(rows) + "\n")
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    previous = args.out.read_text(encoding="utf-8") if args.out.is_file() else (
        "# predict memory on 20 MB inputs\n\nWritten by `benchmarks/predict_memory.py`; each section is one "
        "invocation (newest last). Target: peak RSS under 2 GB, first output within 60 s.\n")
    args.out.write_text(previous + text, encoding="utf-8")
    print(f"appended to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
