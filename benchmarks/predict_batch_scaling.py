"""Throughput of ``german-stance predict-batch`` (Ray Data) with 1 and 2 model actors on generated articles.

Usage: ``python benchmarks/predict_batch_scaling.py --model runs/default [--articles 2000] [--actors 1 2]
[--gpus-per-actor 1]``

Builds ``--articles`` articles of 3 to 9 corpus sentences (seeded), writes them as JSONL, and labels them with
``run_batch`` once per actor count into a fresh output folder (local Ray, one CPU and one torch thread per
actor, shards of 100 articles). Reports the wall time (Ray start, actor start-up and labelling) and the
labelling rate per actor (articles over the seconds the actor spent on its shards), and the ratio to one actor.
Ray starts its workers at niceness 15; this script sets ``RAY_worker_niceness=0`` so that the actors compete for
the CPU like plain ``predict`` would. Writes ``benchmarks/results/predict_batch_scaling.md`` and ``.json``.
Not a test.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from german_stance.data.sentences import split_sentences
from german_stance.inference.batch import BatchOptions, run_batch

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "predict_batch_scaling"


def build_corpus(count: int, seed: int) -> list[dict[str, str]]:
    """``count`` articles of 3 to 9 one-sentence corpus lines each, drawn with ``seed``."""
    sentences = []
    for path in sorted((REPO / "data").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            text = json.loads(line).get("text", "") if line.strip() else ""
            if text and split_sentences(text) == [text]:
                sentences.append(text)
    chooser = random.Random(seed)
    return [{"id": f"gen-{index:05d}", "text": "\n".join(chooser.sample(sentences, chooser.randint(3, 9)))}
            for index in range(count)]


def measure(model: str, source: Path, actors: int, shard_size: int, gpus_per_actor: float) -> dict:
    """One predict-batch job into a fresh folder; wall time and per-actor labelling rates."""
    output = Path(tempfile.mkdtemp(prefix=f"batch-{actors}-"))
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    summary = run_batch(BatchOptions(model=model, inputs=[str(source)], output_dir=str(output), actors=actors,
                                     cpus_per_actor=1.0, gpus_per_actor=gpus_per_actor, shard_size=shard_size))
    wall = time.perf_counter() - started
    busy: dict[str, float] = defaultdict(float)
    done: dict[str, int] = defaultdict(int)
    for shard in summary["per_shard"]:
        busy[shard["actor"]] += shard["seconds"]
        done[shard["actor"]] += shard["articles"]
    shutil.rmtree(output)
    per_actor = [done[actor] / busy[actor] for actor in busy]
    return {"actors": actors, "articles": summary["articles"], "sentences": summary["sentences"],
            "wall_s": round(wall, 1), "articles_per_s_wall": round(summary["articles"] / wall, 2),
            "labelling_s": round(max(busy.values()), 1),
            "articles_per_s_labelling": round(summary["articles"] / max(busy.values()), 2),
            "articles_per_s_per_actor": [round(rate, 2) for rate in per_actor],
            "sentences_per_s_per_actor": [round(rate * summary["sentences"] / summary["articles"], 1)
                                          for rate in per_actor],
            "load_average_before": round(load_before, 2), "load_average_after": round(os.getloadavg()[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/default")
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--actors", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--shard-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gpus-per-actor", type=float, default=0.0, help="0: CPU actors")
    args = parser.parse_args()
    os.environ.setdefault("RAY_worker_niceness", "0")  # read by the local Ray that run_batch starts
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("german_stance").setLevel(logging.INFO)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "articles.jsonl"
        source.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n"
                                  for row in build_corpus(args.articles, args.seed)), encoding="utf-8")
        rows = [measure(args.model, source, actors, args.shard_size, args.gpus_per_actor) for actors in args.actors]
    base = rows[0]
    for row in rows:
        row["ratio_wall"] = round(row["articles_per_s_wall"] / base["articles_per_s_wall"], 2)
        row["ratio_labelling"] = round(row["articles_per_s_labelling"] / base["articles_per_s_labelling"], 2)
    machine = f"{platform.platform()}, {os.cpu_count()} CPUs"
    command = (f"python benchmarks/predict_batch_scaling.py --model {args.model} --articles {args.articles} "
               f"--actors {' '.join(map(str, args.actors))} --shard-size {args.shard_size}"
               + (f" --gpus-per-actor {args.gpus_per_actor:g}" if args.gpus_per_actor else ""))
    lines = ["# predict-batch scaling (Ray Data, local)", "",
             f"`{command}`: {args.articles} generated articles ({rows[0]['sentences']} sentences), one run per "
             f"actor count, one CPU and one torch thread{' and ' + format(args.gpus_per_actor, 'g') + ' GPU' if args.gpus_per_actor else ''} per actor, shards of {args.shard_size}. Machine: {machine}. "
             "Wall time includes starting Ray and the actors; the labelling rate counts only the seconds the "
             "busiest actor spent on its shards. The load average shows how busy the machine was.", "",
             "| actors | wall s | articles/s (wall) | ratio | labelling s | articles/s (labelling) | ratio "
             "| articles/s per actor | sentences/s per actor | load before/after |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['actors']} | {row['wall_s']} | {row['articles_per_s_wall']} | {row['ratio_wall']} | "
                     f"{row['labelling_s']} | {row['articles_per_s_labelling']} | {row['ratio_labelling']} | "
                     f"{', '.join(map(str, row['articles_per_s_per_actor']))} | "
                     f"{', '.join(map(str, row['sentences_per_s_per_actor']))} | "
                     f"{row['load_average_before']} / {row['load_average_after']} |")
    RESULTS.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    RESULTS.with_suffix(".json").write_text(json.dumps({"command": command, "machine": machine, "rows": rows},
                                                       indent=2) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
