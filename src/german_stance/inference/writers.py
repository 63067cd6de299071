"""Writers for ``german-stance predict``: JSON lines, CSV, a terminal table and a self-contained HTML view.

Usage: ``german-stance predict --model runs/default article.txt --format html -o stances.html``

Writers get ``start(article)``, ``write(records)`` per chunk of sentences, ``finish(article, summary)``, and
``close()``, so long articles are written as they come (HTML waits for each whole article).

``jsonl`` and ``csv``: one flat row per sentence (``article, sentence, text``, then per task its label,
``<task>_confidence`` and ``p_<task>_<label>``), so ``pandas.read_json(path, lines=True)`` and
``pandas.read_csv(path)`` load them in one call. Article summaries go to a separate stream
(``<output>.summary.jsonl`` / ``.summary.csv``). ``table``: rows for a terminal, coloured labels (not with
``NO_COLOR``). ``html``: one offline page, sentences shaded by stance, sentiment as a marker.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ..tasks import Task
from .inputs import Article
from .view import HtmlWriter

SUMMARY_COLUMNS = (("n", "counts"), ("share", "shares"), ("mean_p", "mean_probabilities"))


def resolve_format(requested: str | None, output: str | None, stdout_is_tty: bool) -> str:
    """The explicit --format, else by --output suffix (.csv/.html, otherwise jsonl), else table on a terminal."""
    if requested:
        return requested
    if output:
        return {".csv": "csv", ".html": "html", ".htm": "html"}.get(Path(output).suffix.lower(), "jsonl")
    return "table" if stdout_is_tty else "jsonl"


def summary_path(output: str | Path, fmt: str) -> Path | None:
    """Where the article summaries go: ``stances.csv`` -> ``stances.summary.csv`` (table/HTML: inline)."""
    suffix = {"csv": ".summary.csv", "jsonl": ".summary.jsonl"}.get(fmt)
    return Path(output).with_suffix(suffix) if suffix else None


def sentence_columns(tasks: Sequence[Task]) -> list[str]:
    """Column order of a sentence row."""
    columns = ["article", "sentence"]
    for task in tasks:
        columns += [task.name, f"{task.name}_confidence", *(f"p_{task.name}_{label}" for label in task.labels)]
    return columns + ["text"]


def flat_summary(article: Article, summary: dict[str, Any], tasks: Sequence[Task]) -> dict[str, Any]:
    """One flat summary row: counts, shares and mean probabilities per task and label, and each dominant label."""
    row: dict[str, Any] = {"article": article.id, "sentences": summary["sentences"]}
    for task in tasks:
        block = summary[task.name]
        row[f"dominant_{task.name}"] = block["dominant"]
        for prefix, key in SUMMARY_COLUMNS:
            row.update({f"{prefix}_{task.name}_{label}": block[key][label] for label in task.labels})
    return row


class Writer:
    """Base writer: subclasses override what their format needs."""

    def __init__(self, stream: TextIO, tasks: Sequence[Task], summary_stream: TextIO | None = None) -> None:
        self.stream, self.tasks, self.summary_stream = stream, tuple(tasks), summary_stream

    def start(self, article: Article) -> None:
        """Called before the first chunk of an article."""

    def write(self, records: list[dict[str, Any]]) -> None:
        """Called with each chunk of sentence records."""

    def finish(self, article: Article, summary: dict[str, Any]) -> None:
        """Called after an article's last chunk, with its summary."""

    def close(self) -> None:
        """Called once after the last article."""
        self.stream.flush()
        if self.summary_stream:
            self.summary_stream.flush()


class JsonlWriter(Writer):
    """One flat JSON object per sentence; summaries (nested, with the top sentences) to the summary stream."""

    def write(self, records: list[dict[str, Any]]) -> None:
        columns = sentence_columns(self.tasks)
        self.stream.writelines(json.dumps({key: record[key] for key in columns}, ensure_ascii=False) + "\n"
                               for record in records)

    def finish(self, article: Article, summary: dict[str, Any]) -> None:
        if self.summary_stream:
            self.summary_stream.write(json.dumps({"article": article.id, **summary}, ensure_ascii=False) + "\n")
        self.stream.flush()


class CsvWriter(Writer):
    """Sentence rows; flat summary rows in the summary stream when there is one."""

    def __init__(self, stream: TextIO, tasks: Sequence[Task], summary_stream: TextIO | None = None) -> None:
        super().__init__(stream, tasks, summary_stream)
        self.columns = sentence_columns(self.tasks)
        self.rows = csv.writer(stream)
        self.rows.writerow(self.columns)
        self.summaries = csv.writer(summary_stream) if summary_stream else None
        self.summary_header_written = False

    def write(self, records: list[dict[str, Any]]) -> None:
        self.rows.writerows([record[key] for key in self.columns] for record in records)

    def finish(self, article: Article, summary: dict[str, Any]) -> None:
        if self.summaries is None:
            return
        row = flat_summary(article, summary, self.tasks)
        if not self.summary_header_written:
            self.summaries.writerow(list(row))
            self.summary_header_written = True
        self.summaries.writerow(list(row.values()))


class TableWriter(Writer):
    """Aligned rows for reading in a terminal; long sentences are cut to ``width`` (the terminal's by default)."""

    def __init__(self, stream: TextIO, tasks: Sequence[Task], colour: bool = False, width: int | None = None) -> None:
        super().__init__(stream, tasks)
        self.colour = colour and "NO_COLOR" not in os.environ
        self.width = width or max(60, shutil.get_terminal_size((100, 24)).columns)

    def paint(self, task: Task, label: str, text: str) -> str:
        """``text`` in the label's colour when colours are on."""
        return f"{task.terminal.get(label, '')}{text}\033[0m" if self.colour and task.terminal else text

    def start(self, article: Article) -> None:
        heads = "  ".join(f"{task.name:<10}  {'p':>4}" for task in self.tasks)
        self.stream.write(f"\n== {article.id} ==\n{'#':>5}  {heads}  sentence\n")

    def write(self, records: list[dict[str, Any]]) -> None:
        room = max(20, self.width - 8 - 18 * len(self.tasks))
        for record in records:
            text = " ".join(record["text"].split())
            text = text if len(text) <= room else text[: room - 1] + "…"
            cells = "  ".join(f"{self.paint(task, record[task.name], f'{record[task.name]:<10}')}  "
                              f"{record[f'{task.name}_confidence']:.2f}" for task in self.tasks)
            self.stream.write(f"{record['sentence']:>5}  {cells}  {text}\n")

    def finish(self, article: Article, summary: dict[str, Any]) -> None:
        for task in self.tasks:
            block = summary[task.name]
            parts = [self.paint(task, label, f"{label} {block['counts'][label]} ({block['shares'][label]:.0%})")
                     for label in task.labels]
            dominant = self.paint(task, block["dominant"], block["dominant"])
            self.stream.write(f"{task.name}: {' | '.join(parts)} | dominant: {dominant}\n")
        self.stream.write(f"{summary['sentences']} sentences\n")
        self.stream.flush()


def make_writer(fmt: str, stream: TextIO, tasks: Sequence[Task], summary_stream: TextIO | None = None,
                colour: bool = False, model: str = "", width: int | None = None) -> Writer:
    """The writer for ``fmt``."""
    writers = {"jsonl": lambda: JsonlWriter(stream, tasks, summary_stream),
               "csv": lambda: CsvWriter(stream, tasks, summary_stream),
               "table": lambda: TableWriter(stream, tasks, colour, width),
               "html": lambda: HtmlWriter(stream, tasks, model)}
    if fmt in writers:
        return writers[fmt]()
    raise ValueError(f"expected a format in {list(writers)}, found {fmt!r}; pass --format jsonl|csv|table|html")


__all__ = ["CsvWriter", "HtmlWriter", "JsonlWriter", "TableWriter", "Writer", "flat_summary", "make_writer",
           "resolve_format", "sentence_columns", "summary_path"]
