"""``german-stance predict``: label every sentence of articles and write JSON lines, CSV, a table or HTML.

Usage: ``german-stance predict --model runs/default examples/ -o stances.csv``

The model is loaded once; articles are then read one at a time (``inputs.py``); short ones are labelled in
groups whose forward passes span articles, long ones in chunks (``pipeline.label_stream``), so a book-length
input never holds all its outputs in memory. A bad entry in a batch is
reported on standard error and skipped. Exit code: 0 all read, 1 some entries failed, 2 nothing could be
read (or the model/arguments are wrong). With ``--output`` every file is written to a temporary file and
renamed into place only when at least one article was labelled.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from ..files import atomic_outputs, check_interrupt
from .classifier import StanceClassifier
from .inputs import Article, InputError, iter_entries
from .pipeline import write_labelled
from .progress import progress_bar
from .writers import make_writer, resolve_format, summary_path

logger = logging.getLogger(__name__)


class NothingRead(Exception):
    """No article could be read: the outputs are not replaced."""


def check_output_against_inputs(output: Path, inputs: list[str]) -> None:
    """Refuse an output that would overwrite an input or land inside an input folder (read back next run)."""
    target = output.resolve()
    for name in inputs:
        if name == "-":
            continue
        source = Path(name).resolve()
        if target == source:
            raise ValueError(f"expected --output (and its summary file) to differ from the inputs, found {output} "
                             "as both; write to another file")
        if source.is_dir() and source in target.parents:
            raise ValueError(f"expected --output outside the input folder {name}, found {output} inside it "
                             "(it would be read as an article next time); write elsewhere")


def label_all(classifier: StanceClassifier, args: argparse.Namespace, stream: TextIO, summary_stream: TextIO | None,
              fmt: str) -> tuple[int, int, int]:
    """Label every readable entry into ``stream``; return (articles, sentences, failed entries)."""
    colour = not args.output and stream.isatty()
    writer = make_writer(fmt, stream, classifier.tasks, summary_stream, colour=colour, model=str(args.model),
                         width=getattr(args, "width", None))
    failed = [0]  # counted while the entries are read, inside the generator below
    seen: dict[str, int] = {}

    def readable() -> Iterator[Article]:
        """The entries that read, with duplicate ids suffixed; unreadable ones are reported and counted."""
        for entry in iter_entries(args.inputs):
            try:
                article = entry.read()
            except InputError as error:
                failed[0] += 1
                print(f"german-stance predict: error: {error}", file=sys.stderr, flush=True)
                continue
            if article.id in seen:
                # Two articles with one id would give two summaries for one id: keep both, suffixed.
                seen[article.id] += 1
                new_id = f"{article.id}#{seen[article.id]}"
                logger.warning("duplicate article id %r; the later one is written as %r", article.id, new_id)
                article = article._replace(id=new_id)
            seen.setdefault(article.id, 1)
            yield article

    def progress(records: list[dict[str, Any]]) -> None:
        """Advance the bar; stop cleanly between chunks on SIGTERM."""
        bar.update(len(records))
        check_interrupt()

    with progress_bar("sentences", unit="sentence") as bar:
        articles, sentences = write_labelled(classifier, readable(), writer, on_records=progress)
    writer.close()
    return articles, sentences, failed[0]


def predict_command(args: argparse.Namespace) -> int:
    """Run ``german-stance predict``; return 0 (all read), 1 (some entries failed) or 2 (nothing read)."""
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    fmt = resolve_format(args.format, args.output, sys.stdout.isatty())
    if args.output:
        extra_path = summary_path(args.output, fmt)
        for target in (Path(args.output), *([extra_path] if extra_path else [])):
            check_output_against_inputs(target, args.inputs or [])
    # The model comes first: a wrong --model fails fast, before any input (or standard input) is read.
    classifier = StanceClassifier.from_run(args.model, device=args.device, backend=getattr(args, "backend", "auto"),
                                           max_batch=args.batch_size,
                                           min_confidence=getattr(args, "min_confidence", 0.0))
    if classifier.run.legacy:
        logger.warning("note: %s has no sentiment head (trained before sentiment existed); output has stance only",
                       args.model)
    if (not args.inputs or "-" in args.inputs) and sys.stdin.isatty():
        logger.info("reading an article from standard input; end it with Ctrl-D (or pass files)")
    started = time.perf_counter()
    extra = summary_path(args.output, fmt) if args.output else None
    try:
        if args.output:
            paths = [Path(args.output)] + ([extra] if extra else [])
            with atomic_outputs(paths) as streams:
                articles, sentences, failed = label_all(classifier, args, streams[0],
                                                        streams[1] if extra else None, fmt)
                if not articles:
                    raise NothingRead(failed)
        else:
            articles, sentences, failed = label_all(classifier, args, sys.stdout, None, fmt)
    except NothingRead as nothing:
        articles, sentences, failed = 0, 0, nothing.args[0]
    except BrokenPipeError:
        # `... | head`: the reader left; silence the flush at exit and stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    seconds = time.perf_counter() - started
    if articles:
        logger.info("labelled %d sentences in %d article(s) in %.1f s%s%s", sentences, articles, seconds,
                    f"; wrote {args.output} ({fmt})" if args.output else "",
                    f" and {extra}" if extra else "")
    if fmt in ("csv", "jsonl") and not args.output and articles:
        logger.info("article summaries are written with --output FILE (to FILE.summary.%s)", fmt)
    # One bad entry has said so in its own line; several get one count line, so a fault reads as one line.
    if failed > 1:
        logger.warning("%d input entries could not be read (see above)%s", failed,
                       "; nothing was written" if args.output and not articles else "")
    if not articles:
        return 2
    return 1 if failed else 0
