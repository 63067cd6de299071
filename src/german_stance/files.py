"""Atomic, exclusive file output: write a unique temporary file beside the target, rename it into place.

A failed or interrupted run leaves an existing file byte-identical; two processes writing the same target
never mix (the second fails with a clear error). Usage::

    with atomic_outputs([Path("out.csv"), Path("out.summary.csv")]) as (main, summary):
        main.write(...)
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO


def check_target(path: Path) -> None:
    """Raise a one-line error unless ``path`` can become a file: existing folder, not itself a folder."""
    if path.is_dir():
        raise IsADirectoryError(f"expected a file name for the output, found the folder {path}; "
                                f"name a file inside it, e.g. {path / 'stances.jsonl'}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"expected an existing folder for the output {path}, found no {path.parent}; "
                                f"create it (mkdir -p {path.parent}) or write elsewhere")
    if not os.access(path.parent, os.W_OK):
        raise PermissionError(f"expected a writable folder for the output {path}, found {path.parent} read-only; "
                              "write elsewhere or fix its permissions")


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` (released when the process ends, even on a crash)."""
    lock_path = path.with_name(f".{path.name}.lock")
    handle = open(lock_path, "a+")  # noqa: SIM115 - kept open for the lock's lifetime
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        handle.close()
        if error.errno in (errno.EAGAIN, errno.EACCES):
            raise FileExistsError(f"expected to be the only writer of {path}, found another german-stance "
                                  "process writing it; wait for it to finish or choose another output") from None
        raise
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock_path.unlink()
        handle.close()


@contextlib.contextmanager
def atomic_outputs(paths: Sequence[Path], newline: str = "") -> Iterator[list[TextIO]]:
    """Text streams to temporary files beside ``paths``; all are renamed into place only if the block succeeds."""
    for path in paths:
        check_target(path)
    with contextlib.ExitStack() as stack:
        for path in paths:
            stack.enter_context(locked(path))
        temporaries: list[Path] = []
        streams: list[TextIO] = []
        try:
            for path in paths:
                descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
                temporaries.append(Path(name))
                streams.append(os.fdopen(descriptor, "w", encoding="utf-8", newline=newline))
            yield streams
            for stream in streams:
                stream.flush()
                os.fsync(stream.fileno())
                stream.close()
            for temporary, path in zip(temporaries, paths):
                os.replace(temporary, path)
        finally:
            for stream in streams:
                with contextlib.suppress(OSError):
                    stream.close()
            for temporary in temporaries:
                with contextlib.suppress(OSError):
                    temporary.unlink()


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_outputs([path], newline="\n") as (stream,):
        stream.write(text)
    return path


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (figures)."""
    check_target(path)
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(name, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)
    return path


@contextlib.contextmanager
def replaced_on_success(path: Path) -> Iterator[Path]:
    """A unique temporary path beside ``path`` for writers that want a path (Parquet); renamed onto it on success."""
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(descriptor)
    try:
        yield Path(name)
        os.replace(name, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)
