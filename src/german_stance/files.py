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
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any


_INTERRUPTED = threading.Event()


def on_interrupt(signum: int, frame: Any) -> None:
    """SIGINT handler: remember the Ctrl-C, then raise ``KeyboardInterrupt`` as Python's own handler does."""
    _INTERRUPTED.set()
    raise KeyboardInterrupt


def catch_interrupts() -> Any:
    """Route Ctrl-C through ``on_interrupt`` (main thread only), with no earlier Ctrl-C remembered; return the old
    handler for ``signal.signal`` to restore."""
    _INTERRUPTED.clear()
    if threading.current_thread() is not threading.main_thread():
        return None
    if getattr(sys.unraisablehook, "__name__", "") != "quiet_interrupts":
        sys.unraisablehook = quiet_interrupts(sys.unraisablehook)
    return signal.signal(signal.SIGINT, on_interrupt)


def quiet_interrupts(hook: Any) -> Any:
    """An unraisable-exception hook that drops a remembered Ctrl-C (no traceback) and passes on everything else."""
    def quiet_interrupts(unraisable: Any) -> None:
        if not (isinstance(unraisable.exc_value, KeyboardInterrupt) and _INTERRUPTED.is_set()):
            hook(unraisable)
    return quiet_interrupts


def check_interrupt() -> None:
    """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed, even if its first exception was swallowed.

    Python drops an exception raised inside a finaliser (``__del__``) with a printed note, so a Ctrl-C that lands
    there would otherwise be lost and the run would finish and replace the outputs.
    """
    if _INTERRUPTED.is_set():
        raise KeyboardInterrupt


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


def file_mode(path: Path) -> int:
    """The permissions the output gets: those of the file it replaces, else what ``open`` would give (umask)."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


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
def atomic_outputs(paths: Sequence[Path], newline: str = "", binary: bool = False) -> Iterator[list[Any]]:
    """Streams to temporary files beside ``paths``; all are renamed into place only if the block succeeds."""
    for path in paths:
        check_target(path)
    with contextlib.ExitStack() as stack:
        for path in paths:
            stack.enter_context(locked(path))
        temporaries: list[Path] = []
        streams: list[Any] = []
        try:
            for path in paths:
                descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
                temporaries.append(Path(name))
                os.fchmod(descriptor, file_mode(path))
                streams.append(os.fdopen(descriptor, "wb") if binary
                               else os.fdopen(descriptor, "w", encoding="utf-8", newline=newline))
            yield streams
            check_interrupt()  # a Ctrl-C during the work never commits its outputs
            for stream in streams:
                stream.flush()
                os.fsync(stream.fileno())
                stream.close()
            check_interrupt()
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
    write_files_atomic({path: data})
    return path


def write_files_atomic(files: Mapping[Path, str | bytes]) -> list[Path]:
    """Write every file or none: all go to temporary files first and are renamed into place at the end."""
    paths = list(files)
    with atomic_outputs(paths, binary=True) as streams:
        for stream, path in zip(streams, paths):
            data = files[path]
            stream.write(data.encode("utf-8") if isinstance(data, str) else data)
    return paths


def check_out_folder(folder: Path, option: str = "--out") -> None:
    """Refuse, before any slow work, an output folder that is a file or cannot be created or written."""
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"expected a folder for {option}, found the file {folder}; choose a folder name")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(f"expected a folder path for {option}, found the file {existing} on the way to "
                                 f"{folder}; choose another path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f"expected a writable folder for {option}, found {existing} read-only; write elsewhere "
                              "or fix its permissions")


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
