"""An ensemble of runs (e.g. seeds of one setup) behind the classifier interface: mean of their probabilities.

Usage: ``Ensemble([StanceClassifier.from_run(p) for p in paths]).predict(["..."])``; ``compare`` takes
``NAME=ensemble:RUN1,RUN2,RUN3``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .classifier import StanceClassifier


class Ensemble(StanceClassifier):
    """Averages the (calibrated) probabilities of its members; its ``logits`` are the log of that mean."""

    def __init__(self, members: Sequence[StanceClassifier]) -> None:  # noqa: D107 - no super().__init__: no own model
        if not members:
            raise ValueError("expected at least one run in the ensemble, found none")
        names = {tuple(task.name for task in member.tasks) for member in members}
        if len(names) != 1:
            raise ValueError(f"expected ensemble members with the same tasks, found {sorted(names)}")
        self.members = list(members)
        first = self.members[0]
        self.run, self.tasks, self.backend = first.run, first.tasks, first.backend
        self.batch_tokens, self.max_batch, self.calibrated = first.batch_tokens, first.max_batch, False
        self.min_confidence, self.max_length = first.min_confidence, first.max_length
        self.use_context = any(member.use_context for member in self.members)

    @classmethod
    def from_runs(cls, paths: Sequence[str | Path], device: str = "auto", backend: str = "auto") -> Ensemble:
        """Load every run of the ensemble (``backend`` as in ``StanceClassifier.from_run``)."""
        return cls([StanceClassifier.from_run(path, device=device, backend=backend) for path in paths])

    def logits(self, texts: Sequence[str], contexts: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Log of the members' mean probabilities per task (a softmax of these gives the mean back)."""
        outputs = [member.probabilities(member.logits(texts, contexts)) for member in self.members]
        return {task.name: np.log(np.mean([output[task.name] for output in outputs], axis=0) + 1e-12)
                for task in self.tasks}

    def __repr__(self) -> str:
        return f"Ensemble({[str(member.path) for member in self.members]})"

