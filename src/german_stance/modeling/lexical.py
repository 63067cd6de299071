"""The lexical half of a run: a TF-IDF + logistic regression per task, blended with the encoder's probabilities.

Word and character n-grams catch exact wording (loaded words, quoted terms, German compounds) that a small
encoder fine-tuned on a few thousand sentences picks up only partly, and they err on other sentences than the
encoder does; averaging the two (``lexical_weight`` in the config) scored higher than either alone on dev, test
and the challenge set (README, Results). Training fits it with scikit-learn on the same training rows and saves
``lexical.json.gz`` and ``lexical.npz`` in the run folder. Prediction scores it with NumPy alone (``TfidfScorer``
repeats scikit-learn's transform, checked against it in the tests): importing scikit-learn and SciPy would triple
the cold start of the ONNX path. Usage: ``lexical = fit_lexical(rows, tasks, 0.5); lexical.save(run_dir);
blended = lexical.blend(logits, texts)``.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..tasks import Task
from .calibration import softmax

LEXICAL_META = "lexical.json.gz"
LEXICAL_ARRAYS = "lexical.npz"
LEXICAL_FILES = (LEXICAL_META, LEXICAL_ARRAYS)
# The two feature sets of tfidf_pipeline, in FeatureUnion order; TfidfScorer repeats exactly these analyzers.
WORD_PATTERN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern
WHITE_SPACES = re.compile(r"\s\s+")  # scikit-learn's char_wb whitespace folding


def tfidf_pipeline(seed: int = 0) -> Any:
    """Word 1-2-grams plus character 2-5-grams, TF-IDF weighted, into a class-balanced logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline

    # Character n-grams catch German compounds and inflections that word n-grams miss.
    features = FeatureUnion([
        ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, lowercase=True)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)),
    ])
    return make_pipeline(features, LogisticRegression(max_iter=2000, class_weight="balanced", C=5.0,
                                                      random_state=seed))


def fit_tfidf(rows: Sequence[dict[str, Any]], task: Task, seed: int = 0) -> Any:
    """A ``tfidf_pipeline`` fitted on the rows that carry ``task``'s label (class ids as targets)."""
    labelled = [row for row in rows if task.field in row]
    pipeline = tfidf_pipeline(seed)
    pipeline.fit([row["text"] for row in labelled], [task.label2id[row[task.field]] for row in labelled])
    return pipeline


def pipeline_probabilities(pipeline: Any, texts: Sequence[str], task: Task) -> np.ndarray:
    """``(n, labels)`` probabilities in the task's label order; classes absent from training get 0."""
    probabilities = np.zeros((len(texts), len(task.labels)))
    if len(texts):
        probabilities[:, list(pipeline.classes_)] = pipeline.predict_proba(list(texts))
    return probabilities


def word_features(text: str) -> Counter:
    """Word 1- and 2-grams of a lower-cased text, as scikit-learn's word analyzer counts them."""
    tokens = WORD_PATTERN.findall(text.lower())
    return Counter(tokens + [f"{first} {second}" for first, second in zip(tokens, tokens[1:])])


def char_features(text: str, low: int = 2, high: int = 5) -> Counter:
    """Character n-grams inside space-padded words, as scikit-learn's ``char_wb`` analyzer counts them."""
    grams: list[str] = []
    for word in WHITE_SPACES.sub(" ", text.lower()).split():
        padded = f" {word} "
        for size in range(low, high + 1):
            if len(padded) < size:
                if size == low:
                    grams.append(padded)  # a word shorter than the smallest n-gram counts once, whole
                break
            grams.extend(padded[start : start + size] for start in range(len(padded) - size + 1))
    return Counter(grams)


class TfidfScorer:
    """One task's fitted TF-IDF + logistic regression, scored with NumPy (sublinear tf, idf, l2 per feature set)."""

    def __init__(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.classes = [int(label) for label in meta["classes"]]
        coef = arrays["coef"].astype(np.float64)
        self.intercept = arrays["intercept"].astype(np.float64)
        # Per feature set (words, then characters, the FeatureUnion's column order): term -> column, idf, weights.
        self.sets: list[tuple[dict[str, int], np.ndarray, np.ndarray]] = []
        offset = 0
        for name in ("words", "chars"):
            terms = meta["vectorizers"][name]
            self.sets.append(({term: index for index, term in enumerate(terms)},
                              arrays[f"{name}_idf"].astype(np.float64), coef[:, offset : offset + len(terms)]))
            offset += len(terms)
        if coef.shape[1] != offset:
            raise ValueError(f"expected {offset} coefficients per class (one per n-gram), found {coef.shape[1]}")

    def decision(self, counts: tuple[Counter, Counter]) -> np.ndarray:
        """The regression's decision values for one text's (word, character) n-gram counts."""
        total = self.intercept.copy()
        for grams, (vocabulary, idf, coef) in zip(counts, self.sets):
            found = [(vocabulary[gram], count) for gram, count in grams.items() if gram in vocabulary]
            if not found:
                continue
            columns = np.fromiter((column for column, _ in found), dtype=np.int64, count=len(found))
            weights = np.fromiter((1.0 + math.log(count) for _, count in found), dtype=np.float64,
                                  count=len(found)) * idf[columns]
            total += coef[:, columns] @ (weights / np.linalg.norm(weights))
        return total

    def probabilities(self, counts: list[tuple[Counter, Counter]], labels: int) -> np.ndarray:
        """``(n, labels)`` probabilities: softmax of the decisions (sigmoid for two classes), as scikit-learn."""
        result = np.zeros((len(counts), labels))
        if not counts:
            return result
        decisions = np.stack([self.decision(item) for item in counts])
        if decisions.shape[1] == 1:  # binary regression: one decision for the second class
            positive = 1.0 / (1.0 + np.exp(-decisions[:, 0]))
            scores = np.stack([1.0 - positive, positive], axis=1)
        else:
            scores = softmax(decisions)
        result[:, self.classes] = scores
        return result


def mix(encoder: np.ndarray, lexical: np.ndarray, weight: float) -> np.ndarray:
    """The blend's probabilities: ``(1 - weight) x encoder + weight x lexical`` (both ``(n, labels)``)."""
    return (1.0 - weight) * encoder + weight * lexical


@dataclass
class LexicalModel:
    """One fitted TF-IDF + logistic regression per task (saved form) and its weight in the blend."""

    states: dict[str, tuple[dict[str, Any], dict[str, np.ndarray]]]
    weight: float
    tasks: tuple[Task, ...]

    def __post_init__(self) -> None:
        self.scorers = {name: TfidfScorer(meta, arrays) for name, (meta, arrays) in self.states.items()}

    def probabilities(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """``{task: (n, labels)}`` probabilities of the lexical models."""
        counts = [(word_features(text), char_features(text)) for text in texts]  # shared by the tasks
        return {task.name: self.scorers[task.name].probabilities(counts, len(task.labels))
                for task in self.tasks if task.name in self.scorers}

    def blend(self, logits: dict[str, np.ndarray], texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Log of ``(1 - weight) x softmax(encoder logits) + weight x lexical probabilities``, per task.

        The result stays a logit-like array, so temperature scaling, ensembles and evaluation work unchanged.
        """
        lexical = self.probabilities(texts)
        result = {}
        for name, values in logits.items():
            if name not in lexical:
                result[name] = values
                continue
            mixed = mix(softmax(values), lexical[name], self.weight)
            result[name] = np.log(np.clip(mixed, 1e-12, None)).astype(values.dtype)
        return result

    def save(self, run_dir: str | Path) -> Path:
        """Write ``lexical.json.gz`` (vocabularies, labels, weight) and ``lexical.npz`` (idf, coefficients).

        Plain data, no pickle: a run folder from elsewhere can be read without running its code.
        """
        meta: dict[str, Any] = {"weight": self.weight, "tasks": {}}
        arrays: dict[str, np.ndarray] = {}
        for name, (task_meta, task_arrays) in self.states.items():
            meta["tasks"][name] = task_meta
            arrays.update({f"{name}/{key}": value for key, value in task_arrays.items()})
        run_dir = Path(run_dir)
        with gzip.open(run_dir / LEXICAL_META, "wt", encoding="utf-8") as handle:
            json.dump(meta, handle, ensure_ascii=False)
        np.savez_compressed(run_dir / LEXICAL_ARRAYS, **arrays)
        return run_dir / LEXICAL_META


def pipeline_state(pipeline: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A fitted ``tfidf_pipeline`` as JSON-able vocabularies and classes plus numeric arrays."""
    union, regression = pipeline.steps[0][1], pipeline.steps[-1][1]
    meta: dict[str, Any] = {"classes": [int(label) for label in regression.classes_], "vectorizers": {}}
    arrays = {"coef": regression.coef_.astype(np.float32), "intercept": regression.intercept_.astype(np.float32)}
    for name, vectorizer in union.transformer_list:
        meta["vectorizers"][name] = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
        arrays[f"{name}_idf"] = vectorizer.idf_.astype(np.float32)
    return meta, arrays


def fit_lexical(rows: Sequence[dict[str, Any]], tasks: Sequence[Task], weight: float, seed: int = 0) -> LexicalModel:
    """Fit one TF-IDF pipeline per task on the training rows (scikit-learn), kept in its saved form."""
    return LexicalModel({task.name: pipeline_state(fit_tfidf(rows, task, seed)) for task in tasks}, weight,
                        tuple(tasks))


def load_lexical(run_dir: str | Path, tasks: Sequence[Task], required: bool = False) -> LexicalModel | None:
    """The run's lexical model, or None when the run has none (trained with ``lexical_weight: 0``).

    ``required`` (the run's config asks for a lexical half): both files missing is an error, not an encoder-only run.
    """
    run_dir = Path(run_dir)
    meta_path, arrays_path = run_dir / LEXICAL_META, run_dir / LEXICAL_ARRAYS
    if not meta_path.is_file() and not arrays_path.is_file() and not required:
        return None
    try:
        with gzip.open(meta_path, "rt", encoding="utf-8") as handle:
            meta = json.load(handle)
        with np.load(arrays_path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
        states = {name: (entry, {key.split("/", 1)[1]: value for key, value in arrays.items()
                                 if key.startswith(f"{name}/")})
                  for name, entry in meta["tasks"].items()}
        return LexicalModel(states, float(meta["weight"]), tuple(tasks))
    except (OSError, EOFError, ValueError, KeyError, TypeError, IndexError, zlib.error, zipfile.BadZipFile) as error:
        raise ValueError(f"expected the lexical half of the run in {meta_path} and {arrays_path}, found a missing or "
                         f"damaged file ({type(error).__name__}: {error}); copy the run folder again or retrain "
                         "it") from None
