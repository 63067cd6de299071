"""Simple baselines scored on the same data as the model: majority class and TF-IDF + logistic regression.

Both are trained on the run's own training split, so the comparison is like for like.
Usage: ``probabilities = tfidf_baseline(train_rows, seed=0)(texts)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline

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
    # Character n-grams catch German compounds and inflections that word n-grams miss.
    features = FeatureUnion([
        ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, lowercase=True)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)),
    ])
    pipeline = make_pipeline(features, LogisticRegression(max_iter=2000, class_weight="balanced", C=5.0,
                                                          random_state=seed))
    pipeline.fit([row["text"] for row in train_rows], [task.label2id[row[task.field]] for row in train_rows])
    classes = list(pipeline.classes_)

    def predict(texts: Sequence[str]) -> np.ndarray:
        raw = pipeline.predict_proba(list(texts))
        probabilities = np.zeros((len(texts), len(task.labels)))
        probabilities[:, classes] = raw  # classes absent from training keep probability 0
        return probabilities

    return predict


def build_baselines(train_rows: Sequence[dict[str, Any]], seed: int = 0, task: Task = STANCE) -> dict[str, Predictor]:
    """Both baselines for ``task``, keyed by the name the reports show; rows without the task's label are skipped."""
    rows = [row for row in train_rows if task.field in row]
    if len({row[task.field] for row in rows}) < 2:
        return {}
    return {"majority class": majority_baseline(rows, task), "TF-IDF + logistic regression": tfidf_baseline(rows, seed, task)}


# The shortcut a sentiment head must beat: read the stance as a sentiment.
STANCE_TO_SENTIMENT = {"critical": "negative", "neutral": "neutral", "supportive": "positive"}
