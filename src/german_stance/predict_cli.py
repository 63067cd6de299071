"""``german-stance predict``: label every sentence of articles and write JSON lines, CSV, a table or HTML.

Usage: ``german-stance predict --model runs/default articles/ extra.html -o stances.html``

The model is loaded once; articles are then read one at a time (see ``inputs.py``) and labelled in chunks
of ``CHUNK_SENTENCES`` sentences, so a book-length input never holds all its outputs in memory. A bad entry
in a batch is reported on standard error and skipped. Exit code: 0 all read, 1 some entries failed,
2 nothing could be read (or the model/arguments are wrong). The CSV summary goes to
``<output stem>.summary.csv`` when --output is given and is left out on standard output.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any, TextIO

from .inputs import Article, InputError, iter_entries
from .model import TrainedRun, load_run
from .predict import predict_sentences, summarise_article
from .render import make_writer, resolve_format, summary_path
from .sentences import split_sentences

logger = logging.getLogger(__name__)

CHUNK_SENTENCES = 2000
# Text is split in blocks that end at a line break: line breaks are hard sentence boundaries for the
# splitter, so block-wise splitting gives exactly the sentences of split_sentences(text).
BLOCK_CHARS = 100_000
SIDES = ("critical", "supportive")


def iter_sentences(text: str, block_chars: int = BLOCK_CHARS) -> Iterator[str]:
    """The sentences of ``split_sentences(text)``, produced block by block."""
    start = 0
    while start < len(text):
        cut = text.find("\n", start + block_chars)
        end = len(text) if cut == -1 else cut + 1
        yield from split_sentences(text[start:end])
        start = end


def iter_chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Consecutive lists of at most ``size`` items."""
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def label_article(run: TrainedRun, article: Article, batch_size: int = 64,
                  chunk_size: int | None = None) -> Iterator[list[dict[str, Any]]]:
    """Yield the article's sentence records chunk by chunk (``CHUNK_SENTENCES``), numbered from 1 across chunks."""
    previous, number = "", 0
    for sentences in iter_chunks(iter_sentences(article.text), chunk_size or CHUNK_SENTENCES):
        # A context run reads each sentence after the one before it, also across chunk borders.
        contexts = [previous, *sentences[:-1]] if run.config.use_context else None
        records = []
        for record in predict_sentences(run, sentences, contexts, batch_size):
            number += 1
            records.append({"type": "sentence", "article": article.id, "sentence": number, **record})
        previous = sentences[-1]
        yield records


class SummaryTally:
    """What ``summarise_article`` needs from an article, kept while its chunks stream past.

    Each sentence keeps its number, label and probabilities; its text is kept only while it can still be
    one of the top-3 critical or supportive sentences (a sentence that has dropped out can never come
    back, since later sentences only push it further down), so memory stays small for long articles.
    """

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.kept: list[dict[str, Any]] = []  # records that still carry their text, in sentence order

    def add(self, records: list[dict[str, Any]]) -> None:
        """Take one chunk of sentence records."""
        slim = [{"sentence": r["sentence"], "label": r["label"], "probabilities": r["probabilities"],
                 "text": r["text"]} for r in records]
        self.records.extend(slim)
        candidates = self.kept + slim
        best: set[int] = set()
        for label in SIDES:
            # Stable sort in sentence order: ties break exactly as in summarise_article.
            ranked = sorted((r for r in candidates if r["label"] == label), key=lambda r: -r["probabilities"][label])
            best.update(id(r) for r in ranked[:3])
        self.kept = [r for r in candidates if id(r) in best]
        for record in candidates:
            if id(record) not in best:
                record["text"] = ""

    def summary(self) -> dict[str, Any]:
        """The article summary, identical to ``summarise_article`` on all full records."""
        return summarise_article(self.records)


def partial_path(output: str) -> Path:
    """The temporary sibling that predict writes first; it replaces ``output`` only if an article was read."""
    path = Path(output)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"expected an existing folder for --output {output}, found no {path.parent}; "
                                f"create it (mkdir -p {path.parent}) or write elsewhere")
    return path.with_name(path.name + ".partial")


def label_all(run: TrainedRun, args: argparse.Namespace, stream: TextIO, fmt: str) -> tuple[int, int, int]:
    """Label every readable entry into ``stream``; return (articles, sentences, failed entries)."""
    colour = not args.output and stream.isatty()
    writer = make_writer(fmt, stream, args.output, colour=colour, model=str(args.model))
    articles = sentences = failed = 0
    for entry in iter_entries(args.inputs):
        try:
            article = entry.read()
        except InputError as error:
            failed += 1
            print(f"german-stance predict: error: {error}", file=sys.stderr, flush=True)
            continue
        writer.start(article)
        tally = SummaryTally()
        for records in label_article(run, article, args.batch_size):
            writer.write(records)
            tally.add(records)
            sentences += len(records)
        writer.finish(article, tally.summary())
        articles += 1
    writer.close()
    return articles, sentences, failed


def predict_command(args: argparse.Namespace) -> int:
    """Run ``german-stance predict``; return 0 (all read), 1 (some entries failed) or 2 (nothing read)."""
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    fmt = resolve_format(args.format, args.output, sys.stdout.isatty())
    # The model comes first: a wrong --model fails fast, before any input (or standard input) is read.
    run = load_run(args.model, device=args.device)
    if (not args.inputs or "-" in args.inputs) and sys.stdin.isatty():
        logger.info("reading an article from standard input; end it with Ctrl-D (or pass files)")
    started = time.perf_counter()
    # Writing to a ".partial" file first leaves an existing --output intact when no input can be read.
    partial = partial_path(args.output) if args.output else None
    articles = 0
    try:
        with partial.open("w", encoding="utf-8", newline="") if partial else nullcontext(sys.stdout) as stream:
            articles, sentences, failed = label_all(run, args, stream, fmt)
    except BrokenPipeError:
        # `... | head`: the reader left; silence the flush at exit and stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        if partial and articles:
            partial.replace(args.output)
        elif partial:
            partial.unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    logger.info("labelled %d sentences in %d article(s) in %.1f s%s%s", sentences, articles, seconds,
                f"; wrote {args.output} ({fmt})" if args.output else "",
                f" and {summary_path(args.output)}" if args.output and fmt == "csv" else "")
    if fmt == "csv" and not args.output and articles:
        logger.info("CSV on standard output has no summary rows; use --output FILE.csv to get FILE.summary.csv")
    if failed:
        logger.warning("%d input entr%s could not be read (see above)", failed, "y" if failed == 1 else "ies")
    if not articles:
        return 2
    return 1 if failed else 0
