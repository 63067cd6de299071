"""Throughput and peak memory of ``german-stance predict`` on 1,000 German sentences.

Usage: ``python benchmarks/predict_throughput.py --model runs/default [--device cpu] [--batch-size 64]``

Times the whole predict path after the model is loaded (sentence splitting, batching, the model, JSON lines
output to an in-memory buffer): one warm-up, then the median of 3 runs. Peak memory is the process's
maximum resident set size (``ru_maxrss``), which includes the loaded model. Prints one Markdown table row and
writes ``benchmarks/results/predict_throughput.md``. Not a test.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

from german_stance import StanceClassifier
from german_stance.data.sentences import split_sentences
from german_stance.inference.inputs import Article
from german_stance.inference.pipeline import SummaryTally, label_article
from german_stance.inference.writers import JsonlWriter
from german_stance.modeling.loading import resolve_device

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "predict_throughput.md"
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


def build_articles(count: int = 1000, per_article: int = 25) -> list[Article]:
    """``count`` sentences (each one sentence for the splitter), grouped into articles of ``per_article``."""
    sentences: list[str] = []
    for path in sorted((REPO / "data").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            text = json.loads(line).get("text", "") if line.strip() else ""
            if len(sentences) < count and text and split_sentences(text) == [text]:
                sentences.append(text)
    index = 0
    while len(sentences) < count:  # top up from the templates
        sentences.append(TEMPLATES[index % len(TEMPLATES)].format(a=ACTORS[index // len(TEMPLATES) % len(ACTORS)]))
        index += 1
    return [Article(f"bench-{start // per_article:03d}", "\n".join(sentences[start : start + per_article]))
            for start in range(0, count, per_article)]


def run_once(classifier: StanceClassifier, articles: list[Article]) -> tuple[float, int]:
    """Label all articles through predict's own pipeline into a JSONL buffer; return (seconds, sentences)."""
    writer, total = JsonlWriter(io.StringIO(), classifier.tasks, io.StringIO()), 0
    started = time.perf_counter()
    for article in articles:
        tally = SummaryTally(classifier.tasks)
        for chunk in label_article(classifier, article):
            writer.write(chunk)
            tally.add(chunk)
            total += len(chunk)
        writer.finish(article, tally.summary())
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - started, total


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


def main(argv: list[str] | None = None) -> int:
    """Measure, print the Markdown row and write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/default", help="trained run folder (default: %(default)s)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=64, help="sentences per forward pass (default: %(default)s)")
    parser.add_argument("--sentences", type=int, default=1000, help="input size (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="Markdown results file (default: %(default)s)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    classifier = StanceClassifier.from_run(args.model, device=args.device, max_batch=args.batch_size)
    load_seconds = time.perf_counter() - started
    articles = build_articles(args.sentences)
    run_once(classifier, articles[:2])  # warm-up: first-call allocations, splitter start-up
    timings = [run_once(classifier, articles) for _ in range(3)]
    seconds = statistics.median(t for t, _ in timings)
    sentences = timings[0][1]
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    header = ("| model | device | batch | sentences | sentences/s | median s | load s | peak RSS MiB | CPUs | torch threads |\n"
              "|---|---|---|---|---|---|---|---|---|---|")
    row = (f"| {args.model} | {device.type} ({name}) | {args.batch_size} | {sentences} | {sentences / seconds:.1f} | "
           f"{seconds:.2f} | {load_seconds:.1f} | {peak_rss_mib():.0f} | {os.cpu_count()} | {torch.get_num_threads()} |")
    print(row)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        f"# predict throughput\n\n`python benchmarks/predict_throughput.py --model {args.model} --device {args.device} "
        f"--batch-size {args.batch_size}`: {len(articles)} articles, {sentences} sentences, JSONL to memory; "
        f"median of 3 runs after one warm-up; model loading not timed (shown as load s). "
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
        f"with {torch.get_num_threads()} threads.\n\n{header}\n{row}\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
