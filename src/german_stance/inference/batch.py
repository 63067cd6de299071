"""Corpus-scale prediction on Ray Data: shards of articles labelled by a pool of model actors, written as Parquet.

Usage: ``german-stance predict-batch --model runs/default archive/ --output-dir labels/ [--actors 4]``
(``pip install -e ".[ray]"``; a local Ray starts by itself, ``--ray-address`` joins a cluster).

The inputs are cut into shards (``shards.py``); a Ray Dataset has one row per pending shard. Ray tasks read
each shard (HTML extraction included), and a fixed pool of actors, each holding one ``StanceClassifier``,
labels it through the one inference path (``pipeline.label_articles``) and writes it whole. Output folder:

- ``sentences/shard-NNNNN.parquet``: one row per sentence, the columns of ``predict``'s JSONL;
- ``articles/shard-NNNNN.parquet``: one row per article, the columns of ``predict``'s summary CSV;
- ``errors/shard-NNNNN.jsonl`` and, gathered after the job, ``errors.jsonl``: one line per unreadable row;
- ``manifest.json``: the run and the shard plan, so a rerun into the folder continues the same job.

A shard is done when its sentences and articles files exist (each written to a temporary file and renamed), so
a rerun after a crash labels only the missing shards. On a cluster, the run folder, inputs and output folder
must be on storage that every node sees at the same path.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..files import replaced_on_success, write_text_atomic
from ..tasks import Task
from .pipeline import SummaryTally, label_articles
from .shards import plan_digest, plan_shards, read_shard
from .writers import flat_summary, sentence_columns

logger = logging.getLogger(__name__)
SENTENCES, ARTICLES, ERRORS = "sentences", "articles", "errors"


@dataclass
class BatchOptions:
    """What ``german-stance predict-batch`` was asked to do."""

    model: str
    inputs: list[str]
    output_dir: str
    actors: int | None = None  # default: every CPU (GPU) Ray offers, less one CPU for reading
    cpus_per_actor: float = 1.0
    gpus_per_actor: float = 0.0
    shard_size: int = 1000
    batch_size: int = 64
    ray_address: str | None = None


def import_ray() -> Any:
    """The ``ray`` module, or an error that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - the Data library is a separate extra of ray
    except ImportError:
        raise ImportError("expected Ray Data for predict-batch, found it not installed; "
                          "pip install -e \".[ray]\" (or use plain `german-stance predict`)") from None
    return ray


def shard_done(output_dir: Path, name: str) -> bool:
    """True when both Parquet files of the shard are in place (the articles file is written last)."""
    return all((output_dir / folder / f"{name}.parquet").is_file() for folder in (SENTENCES, ARTICLES))


def arrow_tables(records: list[dict[str, Any]], summaries: list[dict[str, Any]], tasks: tuple[Task, ...]) -> Any:
    """Sentence and article tables with fixed column types, so that an empty shard has the same schema."""
    import pyarrow as pa

    def kind(name: str) -> Any:
        if name in ("article", "text") or name in {task.name for task in tasks} or name.startswith("dominant_"):
            return pa.string()
        return pa.int64() if name in ("sentence", "sentences") or name.startswith("n_") else pa.float64()

    def table(rows: list[dict[str, Any]], columns: list[str]) -> Any:
        schema = pa.schema([(name, kind(name)) for name in columns])
        return pa.table({name: [row[name] for row in rows] for name in columns}, schema=schema)

    summary_columns = ["article", "sentences", *(name for task in tasks for name in (
        f"dominant_{task.name}", *(f"{prefix}_{task.name}_{label}" for prefix in ("n", "share", "mean_p")
                                   for label in task.labels)))]
    return table(records, sentence_columns(tasks)), table(summaries, summary_columns)


def label_shard(classifier: Any, shard: str, articles: list[Any], errors: list[dict[str, str]],
                output_dir: Path) -> dict[str, Any]:
    """Label one shard's articles and write its files; an article that fails becomes an error record."""
    import pyarrow.parquet as pq

    started = time.perf_counter()
    try:
        labelled = list(label_articles(classifier, articles))  # forward passes span the shard's articles
    except Exception:  # noqa: BLE001 - find the article that fails, label the rest
        labelled = []
        for article in articles:
            try:
                labelled.extend(label_articles(classifier, [article]))
            except Exception as error:  # noqa: BLE001 - one bad article must not stop the corpus
                errors.append({"shard": shard, "source": article.id, "error": f"{type(error).__name__}: {error}"})
    records: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    for article, rows in labelled:
        tally = SummaryTally(classifier.tasks)
        tally.add(rows)
        records.extend(rows)
        summaries.append(flat_summary(article, tally.summary(), classifier.tasks))
    sentences, summary = arrow_tables(records, summaries, classifier.tasks)
    error_file = output_dir / ERRORS / f"{shard}.jsonl"
    if errors:
        write_text_atomic(error_file, "".join(json.dumps(error, ensure_ascii=False) + "\n" for error in errors))
    else:
        error_file.unlink(missing_ok=True)  # left by an earlier try of this shard
    for folder, table in ((SENTENCES, sentences), (ARTICLES, summary)):  # articles last: it marks the shard done
        with replaced_on_success(output_dir / folder / f"{shard}.parquet") as temporary:
            pq.write_table(table, temporary)
    return {"shard": shard, "articles": len(summaries), "sentences": len(records), "errors": len(errors),
            "seconds": round(time.perf_counter() - started, 3), "actor": f"{socket.gethostname()}:{os.getpid()}"}


def read_stage(row: dict[str, Any]) -> dict[str, Any]:
    """Ray task: read one shard's articles (and its bad rows) from the inputs."""
    shard = json.loads(row["plan"])
    articles, errors = read_shard(shard)
    return {"shard": shard["shard"], "articles": json.dumps([list(article) for article in articles]),
            "errors": json.dumps(errors)}


class ShardLabeller:
    """Ray actor: loads the run once, then labels and writes whole shards."""

    def __init__(self, model: str, output_dir: str, batch_size: int, threads: int, device: str) -> None:
        import torch

        from .classifier import StanceClassifier

        torch.set_num_threads(threads)  # one actor per CPU slot: more threads would fight over the cores
        # An exported run labels with ONNX on CPU actors, as predict does; it gets the same thread budget.
        self.classifier = StanceClassifier.from_run(model, device=device, threads=threads, max_batch=batch_size)
        self.output_dir = Path(output_dir)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        from .inputs import Article

        results: list[dict[str, Any]] = []
        for shard, articles, errors in zip(batch["shard"], batch["articles"], batch["errors"]):
            results.append(label_shard(self.classifier, str(shard), [Article(*pair) for pair in json.loads(articles)],
                                       json.loads(errors), self.output_dir))
        return {key: [result[key] for result in results] for key in results[0]} if results else {}


def check_manifest(output_dir: Path, manifest: dict[str, Any]) -> None:
    """Refuse to continue a job in ``output_dir`` that labelled other inputs or used another run."""
    path = output_dir / "manifest.json"
    if not path.is_file():
        return
    earlier = json.loads(path.read_text(encoding="utf-8"))
    changed = [key for key in ("model", "shard_size", "plan_digest") if earlier.get(key) != manifest[key]]
    if changed:
        raise ValueError(f"expected the same model, inputs and --shard-size as the earlier job in {output_dir}, "
                         f"found a different {', '.join(changed)}; use a new --output-dir (or the same arguments)")


def start_ray(ray: Any, options: BatchOptions, verbose: bool) -> bool:
    """Join ``--ray-address`` or start a local Ray; True when this call started it (and so shuts it down)."""
    if not verbose:
        # Ray Data logs its execution plan and timings at INFO, and warns that the progress bars we turned off
        # are off; our own line per shard says what matters. Its other warnings (e.g. resources) stay.
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
    if ray.is_initialized():
        return False
    settings: dict[str, Any] = {"include_dashboard": False, "log_to_driver": verbose,
                                "logging_level": logging.INFO if verbose else logging.WARNING}
    if options.ray_address:
        ray.init(address=options.ray_address, **settings)
        return True
    # Locally Ray gets one CPU more than the actors reserve: the read tasks need a slot too, and a pool that
    # holds every CPU leaves them none (the job then waits forever).
    wanted = (options.actors or 0) * options.cpus_per_actor
    ray.init(num_cpus=int(max(os.cpu_count() or 1, wanted)) + 1, **settings)
    return True


def actor_count(ray: Any, options: BatchOptions) -> int:
    """``--actors``, else as many as the cluster's GPUs (or CPUs, one kept for reading) allow."""
    if options.actors:
        return options.actors
    resources = ray.cluster_resources()
    if options.gpus_per_actor:
        return max(1, int(resources.get("GPU", 0) // options.gpus_per_actor))
    return max(1, int((resources.get("CPU", 1) - 1) // options.cpus_per_actor))


def run_batch(options: BatchOptions, verbose: bool = False) -> dict[str, Any]:
    """Label every pending shard; return the counts (shards labelled and skipped, articles, sentences, errors)."""
    from ..modeling.loading import check_run_dir

    ray = import_ray()
    model = str(Path(options.model).resolve())
    check_run_dir(Path(model))
    output_dir = Path(options.output_dir).resolve()
    # Absolute paths: actors on other nodes (or in another working folder) read the same files.
    inputs = [str(Path(name).resolve()) for name in options.inputs]
    plan = plan_shards(inputs, options.shard_size)
    manifest = {"model": model, "inputs": inputs,
                "shard_size": options.shard_size, "shards": len(plan), "plan_digest": plan_digest(plan)}
    check_manifest(output_dir, manifest)
    for folder in (SENTENCES, ARTICLES, ERRORS):
        (output_dir / folder).mkdir(parents=True, exist_ok=True)
    write_text_atomic(output_dir / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    pending = [shard for shard in plan if not shard_done(output_dir, shard["shard"])]
    summary: dict[str, Any] = {"shards": len(plan), "skipped": len(plan) - len(pending), "labelled": 0,
                               "articles": 0, "sentences": 0, "errors": 0, "actors": 0, "per_shard": []}
    logger.info("%d shard(s) of up to %d articles: %d done earlier, %d to label", len(plan), options.shard_size,
                summary["skipped"], len(pending))
    started = time.perf_counter()
    if pending:
        started_ray = start_ray(ray, options, verbose)
        try:
            summary["actors"] = actors = min(actor_count(ray, options), len(pending))
            ray.data.DataContext.get_current().enable_progress_bars = verbose
            device = "cuda" if options.gpus_per_actor else "cpu"
            dataset = ray.data.from_items([{"plan": json.dumps(shard)} for shard in pending],
                                          override_num_blocks=len(pending))
            dataset = dataset.map(read_stage).map_batches(
                ShardLabeller, batch_size=1, compute=ray.data.ActorPoolStrategy(size=actors),
                num_cpus=options.cpus_per_actor, num_gpus=options.gpus_per_actor or None,
                fn_constructor_kwargs={"model": model, "output_dir": str(output_dir), "batch_size": options.batch_size,
                                       "threads": max(1, int(options.cpus_per_actor)), "device": device})
            logger.info("labelling with %d actor(s) of %g CPU / %g GPU on %s", actors, options.cpus_per_actor,
                        options.gpus_per_actor, options.ray_address or "a local Ray")
            for result in dataset.iter_rows():
                result = {key: value.item() if hasattr(value, "item") else value for key, value in result.items()}
                summary["per_shard"].append(result)
                for key in ("articles", "sentences", "errors"):
                    summary[key] += result[key]
                summary["labelled"] += 1
                logger.info("%s: %d articles, %d sentences, %d errors in %.1f s (%d/%d)", result["shard"],
                            result["articles"], result["sentences"], result["errors"], result["seconds"],
                            summary["labelled"], len(pending))
        finally:
            if started_ray:
                ray.shutdown()
    summary["seconds"] = round(time.perf_counter() - started, 2)
    summary["errors_in_folder"] = gather_errors(output_dir)  # skipped shards' errors included
    return summary


def gather_errors(output_dir: Path) -> int:
    """Rewrite ``errors.jsonl`` from the per-shard error files; return the number of error lines."""
    lines = [line for path in sorted((output_dir / ERRORS).glob("shard-*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    write_text_atomic(output_dir / "errors.jsonl", "".join(line + "\n" for line in lines))
    return len(lines)


__all__ = ["BatchOptions", "label_shard", "run_batch"]
