"""Fit each task's temperature on a labelled file and store it in the run (``calibration.json``).

Temperatures fitted on in-domain dev can make out-of-domain confidences worse; fitting them on held-out text
of another kind (e.g. half of the challenge set) and checking the other half is the honest test.
Usage: ``german-stance calibrate --model runs/default --data data/eval/challenge_half_a.jsonl``
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..data import read_sentences
from ..files import write_text_atomic
from ..inference.classifier import StanceClassifier
from ..modeling.calibration import choose_temperature
from .scoring import predict_rows, scored_tasks

logger = logging.getLogger(__name__)


def calibrate_run(run_dir: Path, data_file: Path, backend: str = "auto") -> dict[str, Any]:
    """Fit a temperature per task on ``data_file``; keep it applied only where it lowers the ECE there."""
    classifier = StanceClassifier.from_run(run_dir, calibrated=False, backend=backend)
    rows, logits = predict_rows(classifier, read_sentences(data_file, tasks=classifier.tasks[:1]))
    result = dict(classifier.run.calibration)
    for task in scored_tasks(classifier, rows):
        y_true = np.array([task.label2id[row[task.field]] for row in rows])
        result[task.name] = choose_temperature(logits[task.name], y_true, str(data_file))
        entry = result[task.name]
        logger.info("%s: T = %.2f fitted on %s (n=%d): ECE %.3f raw, %.3f scaled -> %s", task.name,
                    entry["temperature"], data_file, entry["n"], entry["ece_raw"], entry["ece_scaled"],
                    "applied" if entry["applied"] else "not applied (it does not lower the ECE there)")
    write_text_atomic(run_dir / "calibration.json", json.dumps(result, indent=2))
    return result
