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

from .config import LABEL2ID, LABELS

Predictor = Callable[[Sequence[str]], np.ndarray]


def majority_baseline(train_rows: Sequence[dict[str, Any]]) -> Predictor:
    """Always predicts the most frequent training label (probability 1)."""
    majority = Counter(row["label"] for row in train_rows).most_common(1)[0][0]

    def predict(texts: Sequence[str]) -> np.ndarray:
        probabilities = np.zeros((len(texts), len(LABELS)))
        probabilities[:, LABEL2ID[majority]] = 1.0
        return probabilities

    return predict


def tfidf_baseline(train_rows: Sequence[dict[str, Any]], seed: int = 0) -> Predictor:
    """Word 1-2-grams plus character 2-5-grams, TF-IDF weighted, into a class-balanced logistic regression."""
    # Character n-grams catch German compounds and inflections that word n-grams miss.
    features = FeatureUnion([
        ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, lowercase=True)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)),
    ])
    pipeline = make_pipeline(features, LogisticRegression(max_iter=2000, class_weight="balanced", C=5.0,
                                                          random_state=seed))
    pipeline.fit([row["text"] for row in train_rows], [LABEL2ID[row["label"]] for row in train_rows])
    classes = list(pipeline.classes_)

    def predict(texts: Sequence[str]) -> np.ndarray:
        raw = pipeline.predict_proba(list(texts))
        probabilities = np.zeros((len(texts), len(LABELS)))
        probabilities[:, classes] = raw  # classes absent from training keep probability 0
        return probabilities

    return predict


def build_baselines(train_rows: Sequence[dict[str, Any]], seed: int = 0) -> dict[str, Predictor]:
    """Both baselines, keyed by the name the reports show."""
    return {"majority class": majority_baseline(train_rows), "TF-IDF + logistic regression": tfidf_baseline(train_rows, seed)}
