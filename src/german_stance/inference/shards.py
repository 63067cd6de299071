"""Corpus-scale inputs cut into numbered shards: plan them once, read any one of them anywhere.

Usage: ``plan = plan_shards(["archive/", "more.parquet"], shard_size=1000)``; ``read_shard(plan[3])``

A shard is a fixed slice of one source: a line range of a JSONL file (``{"id", "text"}`` per line), a row range
of a Parquet file (columns ``text`` and optionally ``id``), or a run of ``.txt/.md/.html`` files of a folder
(sorted by name). The same inputs and shard size always give the same plan, so a rerun knows which shards are
done. Reading never raises for a bad row: it comes back as an error record instead.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .inputs import TEXT_SUFFIXES, Article, InputError, check_sentences, parse_jsonl_line, read_file

TABLE_SUFFIXES = (".jsonl", ".parquet")


def list_sources(inputs: Sequence[str]) -> list[tuple[str, Any]]:
    """``(kind, what)`` per source: ``("jsonl"|"parquet", path)`` or ``("files", [paths])``, in the order given."""
    sources: list[tuple[str, Any]] = []
    loose: list[str] = []
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            names = sorted(item.name for item in os.scandir(path) if not item.name.startswith(".") and item.is_file())
            sources += [(Path(item).suffix.lower()[1:], str(path / item)) for item in names
                        if Path(item).suffix.lower() in TABLE_SUFFIXES]
            texts = [str(path / item) for item in names if Path(item).suffix.lower() in TEXT_SUFFIXES]
            if texts:
                sources.append(("files", texts))
            if not texts and not any(Path(item).suffix.lower() in TABLE_SUFFIXES for item in names):
                raise FileNotFoundError(f"expected .jsonl, .parquet or {', '.join(TEXT_SUFFIXES)} files in the folder "
                                        f"{path}, found none; put the articles there (subfolders are not searched)")
        elif path.suffix.lower() in TABLE_SUFFIXES and path.is_file():
            sources.append((path.suffix.lower()[1:], str(path)))
        elif path.suffix.lower() in TEXT_SUFFIXES and path.is_file():
            loose.append(str(path))
        else:
            raise FileNotFoundError(f"expected a .jsonl or .parquet file, a text file or a folder of them, found "
                                    f"{'no such path' if not path.exists() else 'an unsupported file'}: {name}")
    if loose:
        sources.append(("files", loose))
    return sources


def jsonl_cuts(path: str, shard_size: int) -> list[tuple[int, int, int]]:
    """``(first byte, end byte, first line number)`` of every ``shard_size`` lines, in one pass over the file."""
    cuts, start, offset, line = [], 0, 0, 0
    with open(path, "rb") as handle:
        for raw in handle:
            if line and line % shard_size == 0:
                cuts.append((start, offset, line - shard_size + 1))
                start = offset
            offset += len(raw)
            line += 1
    if line:
        cuts.append((start, offset, (line - 1) // shard_size * shard_size + 1))
    return cuts


def plan_shards(inputs: Sequence[str], shard_size: int) -> list[dict[str, Any]]:
    """Every shard of the inputs, numbered ``shard-00000`` on; each is a small JSON-able dict."""
    if shard_size < 1:
        raise ValueError(f"--shard-size must be >= 1, got {shard_size}")
    plan: list[dict[str, Any]] = []
    for kind, what in list_sources(inputs):
        if kind == "jsonl":
            plan += [{"kind": kind, "path": what, "start": start, "stop": stop, "first_line": first}
                     for start, stop, first in jsonl_cuts(what, shard_size)]
        elif kind == "parquet":
            import pyarrow.parquet as pq

            handle = pq.ParquetFile(what)
            if "text" not in handle.schema_arrow.names:
                raise ValueError(f"expected a 'text' column (and optionally 'id') in {what}, found "
                                 f"{handle.schema_arrow.names}; rename the article column to text")
            rows = handle.metadata.num_rows
            plan += [{"kind": kind, "path": what, "start": start, "stop": min(start + shard_size, rows)}
                     for start in range(0, rows, shard_size)]
        else:
            plan += [{"kind": kind, "paths": what[start : start + shard_size]} for start in range(0, len(what), shard_size)]
    return [{"shard": f"shard-{number:05d}", **shard} for number, shard in enumerate(plan)]


def plan_digest(plan: Sequence[dict[str, Any]]) -> str:
    """A fingerprint of the plan: a rerun with other inputs or another shard size gets another one."""
    return hashlib.sha256(json.dumps(list(plan), sort_keys=True).encode()).hexdigest()


def read_shard(shard: dict[str, Any]) -> tuple[list[Article], list[dict[str, str]]]:
    """The shard's articles and an error record (``shard``, ``source``, ``error``) for each bad row."""
    articles: list[Article] = []
    errors: list[dict[str, str]] = []

    def fail(source: str, error: Exception) -> None:
        errors.append({"shard": shard["shard"], "source": source, "error": " ".join(str(error).split())})

    if shard["kind"] == "jsonl":
        path = Path(shard["path"])
        with path.open("rb") as handle:
            handle.seek(shard["start"])
            data = handle.read(shard["stop"] - shard["start"])
        for number, raw in enumerate(data.splitlines(keepends=True), start=shard["first_line"]):
            if raw.strip():
                try:
                    articles.append(parse_jsonl_line(path, number, raw))
                except InputError as error:
                    fail(f"{path}:{number}", error)
    elif shard["kind"] == "parquet":
        for number, article_id, text in parquet_rows(shard["path"], shard["start"], shard["stop"]):
            source = f"{shard['path']} row {number}"
            try:
                if not isinstance(text, str) or not text.strip():
                    raise InputError(f"{source}: expected a non-empty text string, found {text!r:.40}; "
                                     "fill the text column or drop the row")
                articles.append(Article(str(article_id) if article_id not in (None, "") else
                                        f"{Path(shard['path']).stem}-{number}", check_sentences(text, source)))
            except InputError as error:
                fail(source, error)
    else:
        for name in shard["paths"]:
            try:
                articles.append(read_file(Path(name)))
            except InputError as error:
                fail(name, error)
    return articles, errors


def parquet_rows(path: str, start: int, stop: int) -> list[tuple[int, Any, Any]]:
    """``(row number from 1, id or None, text)`` for rows ``start`` to ``stop`` of a Parquet file."""
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(path)
    columns = handle.schema_arrow.names  # plan_shards has checked that "text" is there
    rows: list[tuple[int, Any, Any]] = []
    first = 0  # row number of the current row group's first row
    for group in range(handle.num_row_groups):
        size = handle.metadata.row_group(group).num_rows
        if first + size > start and first < stop:
            table = handle.read_row_group(group, columns=[name for name in ("id", "text") if name in columns])
            ids = table.column("id").to_pylist() if "id" in columns else [None] * size
            texts = table.column("text").to_pylist()
            for index in range(max(start - first, 0), min(stop - first, size)):
                rows.append((first + index + 1, ids[index], texts[index]))
        first += size
    return rows
