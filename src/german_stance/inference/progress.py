"""Progress bars for long work: tqdm on standard error, only on a terminal and when not ``--quiet``.

Usage: ``with progress_bar("sentences", total=n) as bar: bar.update(k)``
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger("german_stance")


class _Silent:
    """A bar that shows nothing (not a terminal, or quiet)."""

    def update(self, count: int = 1) -> None:
        """Ignore progress."""


@contextlib.contextmanager
def progress_bar(description: str, total: int | None = None, unit: str = "it") -> Iterator[Any]:
    """A tqdm bar on stderr when stderr is a terminal and INFO logging is on; a silent stand-in otherwise."""
    if not (sys.stderr.isatty() and logger.isEnabledFor(logging.INFO)):
        yield _Silent()
        return
    from tqdm.auto import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    # Log lines written while the bar is up go through tqdm.write, so they do not glue onto the bar.
    with logging_redirect_tqdm(), tqdm(total=total, desc=description, unit=unit, file=sys.stderr, leave=False,
                                       dynamic_ncols=True) as bar:
        yield bar
