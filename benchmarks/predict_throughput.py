"""Throughput, memory, size and cold start of prediction: naive transformers fp32 vs our torch and ONNX paths.

Usage: ``python benchmarks/predict_throughput.py --model runs/default`` (export the run first for the ONNX rows:
``german-stance export --model runs/default``)

In one run, on the same 1,000 German sentences, each in its own process (so peak memory is its own):

- naive: transformers fp32 forward in input order, 32 sentences per batch, no sorting (the baseline);
- torch, onnx-fp32, onnx-int8: ``german-stance predict``'s own path (sentence splitting, articles grouped so
  forward passes span them, length-bucketed batches, records, JSON lines to memory) on that backend.

Each: one warm-up, then the median of 3 timed passes; sentences/s and the ratio to naive; peak resident
memory (``ru_maxrss`` after the timed passes, model included); the size of the files that path reads from the run folder; and
macro-F1 on dev and test for both tasks (not timed). Cold start: ``german-stance predict`` on the 15-sentence
seed article, process start to exit, median of 3. Writes ``benchmarks/results/predict_throughput.md``. Not a test.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "predict_throughput.md"
PATHS = ("naive", "torch", "onnx-fp32", "onnx-int8")
NAIVE_BATCH = 32
# Fallback input when data/*.jsonl is absent: templates x actors give varied lengths and stances.
TEMPLATES = [
    "{a} verurteilte die militärische Zusammenarbeit zwischen Moskau und Pjöngjang als Gefahr für die Region.",
    "Nach Angaben von {a} wurden die Gespräche am Mittwoch in Pjöngjang fortgesetzt.",
    "{a} lobte die strategische Partnerschaft beider Länder als Beitrag zu einer gerechten Weltordnung.",
    "Wie {a} mitteilte, sollen weitere Treffen auf Ministerebene folgen, deren Termine aber noch offen sind.",
    "{a} warnte, die Lieferung von Artilleriegranaten und Raketen verlängere den Krieg in der Ukraine.",
    "{a} sprach von einer neuen Etappe der Freundschaft, die allen Drohungen des Westens standhalte.",
]
ACTORS = ["Die Bundesregierung", "Der Kreml", "Die NATO", "Südkoreas Außenministerium", "Die Nachrichtenagentur KCNA",
          "Ein Sprecher des Weißen Hauses", "Japans Regierungschef", "Das russische Außenministerium"]


def build_sentences(count: int = 1000) -> list[str]:
    """``count`` real corpus sentences that the splitter keeps whole, topped up from templates."""
    from german_stance.data.sentences import split_sentences

    sentences: list[str] = []
    for path in sorted((REPO / "data").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            text = json.loads(line).get("text", "") if line.strip() else ""
            if len(sentences) < count and text and split_sentences(text) == [text]:
                sentences.append(text)
    index = 0
    while len(sentences) < count:
        sentences.append(TEMPLATES[index % len(TEMPLATES)].format(a=ACTORS[index // len(TEMPLATES) % len(ACTORS)]))
        index += 1
    return sentences


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
        return next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def naive_pass(model, tokenizer, sentences: list[str], max_length: int) -> tuple[float, object]:
    """transformers fp32 forward, input order, fixed batches of 32 padded to their longest; (seconds, logits)."""
    import torch

    started, outputs = time.perf_counter(), []
    with torch.inference_mode():
        for start in range(0, len(sentences), NAIVE_BATCH):
            inputs = tokenizer(sentences[start : start + NAIVE_BATCH], padding=True, truncation=True,
                               max_length=max_length, return_tensors="pt")
            outputs.append(model(**inputs).all_logits)
    return time.perf_counter() - started, torch.cat(outputs).numpy()


def pipeline_pass(classifier, sentences: list[str], per_article: int = 25) -> float:
    """``predict``'s path: articles -> split -> grouped, bucketed batches -> records -> JSON lines; seconds."""
    from german_stance.inference.inputs import Article
    from german_stance.inference.pipeline import write_labelled
    from german_stance.inference.writers import JsonlWriter

    articles = [Article(f"bench-{start // per_article:03d}", "\n".join(sentences[start : start + per_article]))
                for start in range(0, len(sentences), per_article)]
    writer = JsonlWriter(io.StringIO(), classifier.tasks, io.StringIO())
    started = time.perf_counter()
    write_labelled(classifier, articles, writer)  # predict's own loop, without the CLI's file I/O
    return time.perf_counter() - started


def scores(classifier) -> dict[str, dict[str, float]]:
    """Macro-F1 (points) per task on data/dev.jsonl and data/test.jsonl."""
    from german_stance.inference.export import labelled, macro_f1

    result = {}
    for name in ("dev", "test"):
        path = REPO / "data" / f"{name}.jsonl"
        if path.is_file():
            texts, contexts, gold = labelled(path, classifier)
            logits = classifier.logits(texts, contexts)
            result[name] = {task: round(macro_f1(labels, logits[task]), 2) for task, labels in gold.items()}
    return result


def worker(path_name: str, model: str, count: int, runs: int) -> dict:
    """Measure one path in this process; returns its JSON-able row."""
    sentences = build_sentences(count)
    started = time.perf_counter()
    if path_name == "naive":
        from german_stance.modeling.loading import load_run

        run = load_run(model, device="cpu")
        load = time.perf_counter() - started
        naive_pass(run.model, run.tokenizer, sentences[:64], run.config.max_length)  # warm-up
        timings = [naive_pass(run.model, run.tokenizer, sentences, run.config.max_length)[0] for _ in range(runs)]
        rss_before_scoring, measured = peak_rss_mib(), {}
    else:
        from german_stance import StanceClassifier

        backend, _, variant = path_name.partition("-")
        classifier = StanceClassifier.from_run(model, device="cpu", backend=backend, variant=variant or None)
        load = time.perf_counter() - started
        pipeline_pass(classifier, sentences[:50])  # warm-up
        timings = [pipeline_pass(classifier, sentences) for _ in range(runs)]
        rss_before_scoring = peak_rss_mib()  # scoring dev and test imports scikit-learn: not part of predict
        measured = scores(classifier)
    seconds = statistics.median(timings)
    return {"path": path_name, "sentences": len(sentences), "seconds": round(seconds, 3),
            "sentences_per_second": round(len(sentences) / seconds, 1), "load_seconds": round(load, 2),
            "peak_rss_mib_before_scoring": round(rss_before_scoring), "torch_imported": "torch" in sys.modules,
            "scores": measured}


# Linux keeps a process's peak RSS across exec, and a forked child starts as a copy of its parent: a command
# started straight from this (large) process would report this process's memory. So a small launcher starts it
# and reports its usage.
LAUNCHER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_pid, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as handle:
    json.dump({"wall": time.perf_counter() - started, "status": os.waitstatus_to_exitcode(status),
               "rss_kib": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime}, handle)
"""


def run_child(command: list[str]) -> tuple[float, float, str, str, float]:
    """Run a process; (wall seconds, its own peak RSS MiB, stdout, stderr, its CPU seconds user + system)."""
    with tempfile.TemporaryDirectory() as folder:
        report, out, err = (Path(folder) / name for name in ("usage.json", "out", "err"))
        with out.open("wb") as stdout, err.open("wb") as stderr:
            subprocess.run([sys.executable, "-c", LAUNCHER, str(report), *command], stdout=stdout, stderr=stderr,
                           cwd=REPO, check=True)
        usage = json.loads(report.read_text())
        stdout_text, stderr_text = out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8")
    if usage["status"] != 0:
        raise RuntimeError(f"expected {' '.join(command)} to succeed, found exit status {usage['status']}: "
                           f"{stderr_text[-2000:]}")
    return usage["wall"], usage["rss_kib"] / 1024, stdout_text, stderr_text, usage["cpu"]


def files_size_mb(model: Path, path_name: str) -> float:
    """Megabytes of the files a path reads from the run folder."""
    from german_stance.modeling.lexical import LEXICAL_FILES
    from german_stance.modeling.onnx_run import ONNX_DIR, read_manifest

    common = [model / "config.yaml", model / "calibration.json", model / "model" / "config.json"]
    if path_name != "naive":  # the naive reference runs the encoder alone
        common += [model / name for name in LEXICAL_FILES]
    if path_name in ("naive", "torch"):
        files = common + [item for item in (model / "model").iterdir() if item.is_file()]
    else:
        entry = read_manifest(model)["variants"][path_name.split("-", 1)[1]]
        files = common + [model / ONNX_DIR / entry["model"], model / ONNX_DIR / entry["tokenizer"],
                          model / ONNX_DIR / "export.json"]
    return round(sum(item.stat().st_size for item in set(files) if item.is_file()) / 1e6, 1)


def cold_start(model: Path, backend: str, repeats: int = 3) -> dict:
    """``german-stance predict`` on the seed article, process start to exit: median wall, labelling, peak RSS."""
    rows = [json.loads(line) for line in (REPO / "data/eval/seed_article.jsonl").read_text(encoding="utf-8").splitlines()]
    with tempfile.TemporaryDirectory() as folder:
        article = Path(folder) / "article.txt"
        article.write_text(" ".join(row["text"] for row in rows) + "\n", encoding="utf-8")
        command = [sys.executable, "-m", "german_stance", "predict", "--model", str(model), "--backend", backend,
                   str(article), "--format", "jsonl"]
        results = []
        for _ in range(repeats):
            wall, rss, stdout, stderr, cpu = run_child(command)
            labelled = [line for line in stderr.splitlines() if "labelled" in line]
            seconds = float(labelled[-1].split(" in ")[-1].split(" s")[0]) if labelled else float("nan")
            results.append((wall, seconds, rss, sum(1 for line in stdout.splitlines() if '"sentence"' in line), cpu))
    wall, seconds, rss, sentences, cpu = sorted(results)[len(results) // 2]
    return {"backend": backend, "wall_seconds": round(wall, 2), "labelling_seconds": seconds,
            "cpu_seconds": round(cpu, 2), "peak_rss_mib": round(rss), "sentences": sentences,
            "all_wall_seconds": [round(r[0], 2) for r in results]}


def machine() -> str:
    """One line about the machine and libraries."""
    import onnxruntime
    import torch

    return (f"{platform.platform()}, {cpu_name()}, {os.cpu_count()} CPUs, load average at start "
            f"{os.getloadavg()[0]:.2f}; Python {platform.python_version()}, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), onnxruntime {onnxruntime.__version__}")


def main(argv: list[str] | None = None) -> int:
    """Measure every path in its own process, then cold starts; print and write the Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/default", help="trained (and exported) run folder")
    parser.add_argument("--sentences", type=int, default=1000, help="input size (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=3, help="timed passes per path (default: %(default)s)")
    parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    parser.add_argument("--out", type=Path, default=RESULTS, help="Markdown results file (default: %(default)s)")
    parser.add_argument("--worker", choices=PATHS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.model, args.sentences, args.runs)))
        return 0
    model = Path(args.model).resolve()
    about = machine()
    rows = []
    for path_name in args.paths:
        _wall, _rss, stdout, _stderr, _cpu = run_child([sys.executable, __file__, "--worker", path_name, "--model",
                                                        str(model), "--sentences", str(args.sentences), "--runs",
                                                        str(args.runs)])
        rows.append({**json.loads(stdout.strip().splitlines()[-1]), "megabytes": files_size_mb(model, path_name)})
        print(json.dumps(rows[-1]), file=sys.stderr)
    naive = next((row for row in rows if row["path"] == "naive"), rows[0])
    colds = [cold_start(model, backend) for backend in ("torch", "onnx")]
    for cold in colds:
        print(json.dumps(cold), file=sys.stderr)
    table = [("| path | sentences/s | ratio to naive | peak RSS MiB | files read MB | load s | torch imported | "
              "dev stance | dev sentiment | test stance | test sentiment |"), "|---|" + "---|" * 10]
    for row in rows:
        cells = [f"{row['scores'].get(name, {}).get(task, '')}" for name in ("dev", "test")
                 for task in ("stance", "sentiment")]
        table.append(f"| {row['path']} | {row['sentences_per_second']} | "
                     f"{row['sentences_per_second'] / naive['sentences_per_second']:.2f} | {row['peak_rss_mib_before_scoring']} | "
                     f"{row['megabytes']} | {row['load_seconds']} | {'yes' if row['torch_imported'] else 'no'} | "
                     + " | ".join(cells) + " |")
    cold_table = [("| backend | wall s, process start to exit (median of 3) | labelling s | CPU s (user + system) | "
                   "peak RSS MiB | sentences | all runs, wall s |"), "|---|---|---|---|---|---|---|"]
    cold_table += [f"| {c['backend']} | {c['wall_seconds']} | {c['labelling_seconds']} | {c['cpu_seconds']} | "
                   f"{c['peak_rss_mib']} | {c['sentences']} | {c['all_wall_seconds']} |" for c in colds]
    text = (f"# predict throughput\n\n`python benchmarks/predict_throughput.py --model {args.model}`: "
            f"{naive['sentences']} sentences; each path in its own process, one warm-up, median of {args.runs} "
            f"passes; naive = transformers fp32 forward, input order, batch {NAIVE_BATCH}; the other paths are "
            f"predict's own (split, length-bucketed batches, records, JSON lines to memory). Macro-F1 in points on "
            f"data/dev.jsonl and data/test.jsonl (not timed). Machine: {about}; load average at the end "
            f"{os.getloadavg()[0]:.2f}.\n\n" + "\n".join(table) +
            "\n\n## Cold start: `german-stance predict --model RUN --backend B article.txt` on the 15-sentence seed "
            "article (data/eval/seed_article.jsonl)\n\n" + "\n".join(cold_table) + "\n")
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
