"""Read the inputs of ``german-stance predict`` as articles ``(id, text)``, one at a time.

Usage: ``for entry in iter_entries(["articles/", "more.jsonl"]): article = entry.read()``

Accepted: ``.txt``/``.md``/``.html``/``.htm`` files, folders of them (not recursive, sorted by name),
a ``.jsonl`` with one ``{"id": ..., "text": ...}`` article per line, and ``-`` (or nothing) for standard input.
Entries are read lazily, so a folder or a large JSONL never sits in memory whole, and a bad entry raises
``InputError`` only when it is read, so a batch can report it and carry on. An article's id is its file name
relative to the input root (``abkommen.txt`` for ``examples/articles/abkommen.txt`` or for that folder), never
an absolute path, so outputs do not depend on where the files lie; its title is the HTML ``<title>`` or the
file name without suffix.
"""

from __future__ import annotations

import codecs
import difflib
import json
import os
import re
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple, TextIO

from .extract import InputError, extract_html_text, html_title, strip_markdown

__all__ = ["Article", "Entry", "InputError", "extract_html_text", "html_title", "iter_entries", "read_file",
           "read_stream", "strip_markdown"]

TEXT_SUFFIXES = (".txt", ".md", ".html", ".htm")
SUFFIX_HINT = "a .txt, .md, .html or .htm file, a folder of them, a .jsonl of {id, text}, or - for standard input"


class Article(NamedTuple):
    """One article to label: ``id`` names it in every output, ``title`` heads it in the HTML view."""

    id: str
    text: str
    title: str = ""


class Entry(NamedTuple):
    """One input entry; ``read()`` returns its article or raises ``InputError``."""

    name: str
    read: Callable[[], Article]


def _fail(error: InputError) -> Callable[[], Article]:
    """An entry reader that raises ``error``, so bad paths are reported in order with the good ones."""
    def read() -> Article:
        raise error
    return read


def iter_entries(inputs: Sequence[str], stdin: TextIO | None = None) -> Iterator[Entry]:
    """Expand files, folders, JSONL files and ``-`` into entries, in the order given; never raises."""
    for name in inputs or ["-"]:
        path = Path(name)
        if name == "-":
            yield Entry("stdin", lambda: read_stream(stdin or sys.stdin))
        elif path.is_dir():
            yield from _folder_entries(path)
        elif path.suffix.lower() == ".jsonl" and path.is_file():
            yield from _jsonl_entries(path)
        else:
            yield Entry(name, lambda path=path: read_file(path))


def title_from_name(path: Path) -> str:
    """``putin-in-pjoengjang.txt`` -> ``putin in pjoengjang``: a readable title for files without one."""
    return re.sub(r"[-_]+", " ", path.stem).strip() or path.name


def _folder_entries(folder: Path) -> Iterator[Entry]:
    """One entry per text file directly in ``folder``, sorted by name; subfolders are not entered."""
    names = []
    try:
        # Only names are listed up front; each file is read when its entry is read.
        with os.scandir(folder) as listing:
            for item in listing:
                if item.name.startswith(".") or Path(item.name).suffix.lower() not in TEXT_SUFFIXES:
                    continue
                try:
                    if item.is_dir():
                        continue
                except OSError:  # a link loop or an entry we may not look at: reported when its entry is read
                    pass
                names.append(item.name)
    except OSError as error:
        yield Entry(str(folder), _fail(InputError(
            f"{folder}: expected a readable folder, found {error.strerror}; check its permissions")))
        return
    if not names:
        yield Entry(str(folder), _fail(InputError(
            f"{folder}: expected {', '.join(TEXT_SUFFIXES)} files in the folder, found none; "
            "put the articles there or pass the files directly (subfolders are not searched)")))
    for name in sorted(names):
        yield Entry(str(folder / name), lambda path=folder / name, name=name: read_file(path, name))


def _jsonl_entries(path: Path) -> Iterator[Entry]:
    """One entry per non-blank line of a JSONL file, read line by line."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8192)
            if wide_encoding(head):
                raise InputError(f"{path}: expected UTF-8 JSON lines, found {wide_encoding(head).upper()} text; convert "
                                 f"it, e.g. `iconv -f {wide_encoding(head)} -t utf-8 {path.name} > utf8.jsonl`")
            check_bytes(head, str(path))
            handle.seek(0)
            check_not_labelled(path, handle.readline())
            handle.seek(0)
            for number, raw in enumerate(handle, start=1):
                if raw.strip():
                    yield Entry(f"{path}:{number}", lambda raw=raw, number=number: parse_jsonl_line(path, number, raw))
    except (OSError, InputError) as error:
        yield Entry(str(path), _fail(error if isinstance(error, InputError) else _unreadable(path, error)))


def check_not_labelled(path: Path, first_line: bytes) -> None:
    """Raise when the JSONL holds labelled sentences (evaluation data) rather than articles to label."""
    try:
        row = json.loads(first_line.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return  # reported with its line number when the line is read
    if isinstance(row, dict) and "label" in row:
        raise InputError(
            f"{path}: expected articles to label ({{\"id\", \"text\"}} per line), found labelled sentences "
            f"(line 1 has a \"label\" field: evaluation data, one sentence per line); score them with "
            f"`german-stance evaluate --model RUN --data {path}` (it also writes predictions.csv), or drop the "
            "\"label\" field to label each line as an article")


def parse_jsonl_line(path: Path, number: int, raw: bytes) -> Article:
    """Parse one ``{"id", "text"}`` line; a missing id becomes ``<file stem>-<line number>``."""
    where = f"{path} line {number}"
    example = 'one object per line like {"id": "a1", "text": "Putin besuchte Pjöngjang. ..."}'
    try:
        row = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise InputError(f"{where}: expected UTF-8 text, found byte {raw[error.start]:#04x}; "
                         "re-save the file as UTF-8") from None
    except json.JSONDecodeError as error:
        raise InputError(f"{where}: expected {example}, found invalid JSON ({error.msg}); fix the line") from None
    if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row["text"].strip():
        if not isinstance(row, dict):
            found = f"a JSON {type(row).__name__}"
        else:
            found = f"text {row['text']!r}" if "text" in row else f"only the keys {sorted(row)}"
        raise InputError(f"{where}: expected a non-empty \"text\" field ({example}), found {found}; "
                         "add the article text or drop the line")
    article_id = str(row["id"]) if row.get("id") not in (None, "") else f"{path.stem}-{number}"
    title = str(row.get("title") or article_id)
    return Article(article_id, check_sentences(row["text"], where), title)


def read_stream(stream: TextIO) -> Article:
    """Read standard input as one plain-text (or HTML) article with the id ``stdin``."""
    buffer = getattr(stream, "buffer", None)  # bytes when we can, so a wrong encoding is reported, not guessed
    data = buffer.read() if buffer is not None else stream.read().encode("utf-8")
    if not data.strip():
        raise InputError("standard input: expected article text, found nothing; pipe text in "
                         "(`cat article.txt | german-stance predict ...`) or pass files")
    text = decode_bytes(data, "standard input")
    title = "standard input"
    if text.lstrip()[:15].lower().startswith(("<!doctype html", "<html")):
        title = html_title(text) or title
        text = extract_html_text(text, "standard input")
    return Article("stdin", check_sentences(text, "standard input"), title)


def read_file(path: Path, article_id: str | None = None) -> Article:
    """Read one .txt/.md/.html file as an article; its id is ``article_id`` (default: the file name)."""
    if not path.exists() and not path.is_symlink():
        try:
            near = difflib.get_close_matches(path.name, os.listdir(path.parent), n=1, cutoff=0.75)
        except OSError:  # the folder is missing too
            near = []
        hint = f"; did you mean {str(path.parent / near[0])!r}?" if near else "; check the path"
        raise InputError(f"{path}: expected {SUFFIX_HINT}, found nothing at that path{hint}")
    try:
        status = path.stat()  # follows links: a loop or a dangling link fails here
    except OSError as error:
        raise _unreadable(path, error) from None
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES:
        raise InputError(f"{path}: expected {SUFFIX_HINT}, found a {suffix or 'suffix-less'} file; "
                         "rename or convert it to .txt (or .html)")
    if not stat.S_ISREG(status.st_mode):
        # A named pipe would block the batch forever; a device or socket is no article either.
        kind = "folder" if stat.S_ISDIR(status.st_mode) else "named pipe" if stat.S_ISFIFO(status.st_mode) \
            else "device or socket"
        raise InputError(f"{path}: expected a regular text file, found a {kind}; pass the file itself")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise _unreadable(path, error) from None
    text = decode_bytes(data, str(path))
    title = title_from_name(path)
    if suffix == ".md":
        text = strip_markdown(text)
    elif suffix in (".html", ".htm"):
        title = html_title(text) or title
        text = extract_html_text(text, str(path))
    return Article(article_id or path.name, check_sentences(text, str(path)), title)


def _unreadable(path: Path, error: OSError) -> InputError:
    """The error for a path the operating system would not let us read."""
    return InputError(f"{path}: expected a readable file, found {error.strerror or error}; "
                      "check its permissions (or where the link points)")


def wide_encoding(data: bytes) -> str | None:
    """``"utf-16"``/``"utf-32"`` when ``data`` starts with their byte-order mark, or looks like UTF-16 without one."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = data[:8192]
    # Latin text in UTF-16 has a NUL byte in every other position: in the odd ones (LE) or the even ones (BE).
    if len(sample) >= 8 and (sample[1::2].count(0) > 0.4 * len(sample) / 2 or sample[0::2].count(0) > 0.4 * len(sample) / 2):
        return "utf-16le" if sample[1::2].count(0) > sample[0::2].count(0) else "utf-16be"
    return None


def check_bytes(data: bytes, where: str) -> None:
    """Raise unless ``data`` looks like non-empty text (no NUL bytes)."""
    if not data.strip():
        raise InputError(f"{where}: expected article text, found an empty file; add text or leave it out")
    if b"\x00" in data:
        encoding = wide_encoding(data)
        if encoding:
            raise InputError(f"{where}: expected UTF-8 text, found what looks like {encoding.upper()} without a "
                             f"byte-order mark; convert it, e.g. `iconv -f {encoding} -t utf-8 in.txt > out.txt`")
        raise InputError(f"{where}: expected a text file, found binary data (NUL bytes); "
                         "convert it to UTF-8 text (e.g. pdftotext, pandoc) first")


def decode_bytes(data: bytes, where: str) -> str:
    """Decode UTF-8 (with or without BOM), or UTF-16/32 with a BOM; otherwise raise an ``InputError``."""
    encoding = wide_encoding(data)
    if encoding in ("utf-16", "utf-32"):  # a byte-order mark says which: read it
        try:
            data = data.decode(encoding).encode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{where}: expected UTF-8 text (or {encoding.upper()} after its byte-order mark), found "
                             f"invalid {encoding.upper()}; convert it, e.g. `iconv -f {encoding} -t utf-8 in.txt > "
                             "out.txt`") from None
    check_bytes(data, where)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{where}: expected UTF-8 text, found byte {data[error.start]:#04x} at position "
                         f"{error.start}; convert it, e.g. `iconv -f latin1 -t utf-8 in.txt > out.txt`") from None


def check_sentences(text: str, where: str) -> str:
    """Return ``text`` unless it holds no sentence at all (no letter anywhere)."""
    if not any(character.isalpha() for character in text):
        found = "no text (only whitespace or markup)" if not text.strip() else f"no words ({text.strip()[:40]!r})"
        raise InputError(f"{where}: expected at least one sentence of German text, found {found}; "
                         "check that the file holds the article (HTML: that its text is not loaded by script)")
    return text
