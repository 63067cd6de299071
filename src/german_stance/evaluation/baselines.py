"""Simple baselines scored on the same data as the model: majority class and TF-IDF + logistic regression.

Both are trained on the run's own training split, so the comparison is like for like.
Usage: ``probabilities = tfidf_baseline(train_rows, seed=0)(texts)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from ..modeling.lexical import fit_tfidf, pipeline_probabilities
from ..tasks import STANCE, Task

Predictor = Callable[[Sequence[str]], np.ndarray]


def majority_baseline(train_rows: Sequence[dict[str, Any]], task: Task = STANCE) -> Predictor:
    """Always predicts the most frequent training label (probability 1)."""
    majority = Counter(row[task.field] for row in train_rows).most_common(1)[0][0]

    def predict(texts: Sequence[str]) -> np.ndarray:
        probabilities = np.zeros((len(texts), len(task.labels)))
        probabilities[:, task.label2id[majority]] = 1.0
        return probabilities

    return predict


def tfidf_baseline(train_rows: Sequence[dict[str, Any]], seed: int = 0, task: Task = STANCE) -> Predictor:
    """Word 1-2-grams plus character 2-5-grams, TF-IDF weighted, into a class-balanced logistic regression."""
    # The same pipeline as a run's lexical half (modeling/lexical.py), here on its own.
    pipeline = fit_tfidf(train_rows, task, seed)
    return lambda texts: pipeline_probabilities(pipeline, texts, task)


def build_baselines(train_rows: Sequence[dict[str, Any]], seed: int = 0, task: Task = STANCE) -> dict[str, Predictor]:
    """Both baselines for ``task``, keyed by the name the reports show; rows without the task's label are skipped."""
    rows = [row for row in train_rows if task.field in row]
    if len({row[task.field] for row in rows}) < 2:
        return {}
    return {"majority class": majority_baseline(rows, task), "TF-IDF + logistic regression": tfidf_baseline(rows, seed, task)}


# The shortcut a sentiment head must beat: read the stance as a sentiment.
STANCE_TO_SENTIMENT = {"critical": "negative", "neutral": "neutral", "supportive": "positive"}
