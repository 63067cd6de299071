"""Read and validate labelled sentence files (JSON lines with ``id``, ``text``, ``label``, ``source``, ...).

Usage: ``rows = read_sentences("data/dev.jsonl")``; the label fields checked are those of the tasks given.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..tasks import STANCE, TASKS, Task

REQUIRED_FIELDS = ("id", "source", "text")


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a UTF-8 JSON-lines file into dicts, with errors that name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"expected a JSONL file at {path}, found nothing there; check the path")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise ValueError(f"expected UTF-8 text in {path}, found undecodable bytes at offset {error.start}; "
                         "re-save the file as UTF-8") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"expected one JSON object per line in {path}, line {number} is not JSON ({error.msg})") from None
        if not isinstance(row, dict):
            raise ValueError(f"expected a JSON object on line {number} of {path}, found {type(row).__name__}")
        rows.append(row)
    if not rows:
        raise ValueError(f"expected at least one sentence in {path}, found an empty file")
    return rows


def validate_rows(rows: Sequence[dict[str, Any]], where: str, require_label: bool = True,
                  tasks: Sequence[Task] = (STANCE,)) -> None:
    """Check fields, labels and texts of every row; raise on the first problem with a fix.

    With ``require_label`` every row needs the label field of each task in ``tasks``; a label field of any
    known task that is present is checked either way.
    """
    required = REQUIRED_FIELDS + tuple(task.field for task in tasks) if require_label else ("text",)
    for number, row in enumerate(rows, start=1):
        missing = [name for name in required if name not in row]
        if missing:
            raise ValueError(f"expected fields {sorted(required)}, found {sorted(row)} on row {number} of {where}; "
                             f"add {missing}")
        if not isinstance(row["text"], str) or not row["text"].strip():
            raise ValueError(f"expected a non-empty text on row {number} of {where}, found {row['text']!r}")
        for task in TASKS.values():
            if task.field in row and row[task.field] not in task.labels:
                raise ValueError(f"expected a {task.field} in {list(task.labels)} on row {number} of "
                                 f"{where}, found {row[task.field]!r}; relabel it by ANNOTATION.md")
        context = row.get("context")
        if context is not None and not isinstance(context, str):
            raise ValueError(f"expected context to be a string on row {number} of {where}, found {context!r}")


def read_sentences(path: str | Path, require_label: bool = True,
                   tasks: Sequence[Task] = (STANCE,)) -> list[dict[str, Any]]:
    """Read and validate a labelled sentence file; ids must be unique."""
    rows = read_jsonl(path)
    validate_rows(rows, str(path), require_label=require_label, tasks=tasks)
    counts = Counter(row["id"] for row in rows if "id" in row)
    duplicates = {value for value, count in counts.items() if count > 1}
    if duplicates:
        raise ValueError(f"expected unique ids in {path}, found duplicates {sorted(map(str, duplicates))[:5]}")
    return rows
