"""The public model object: load a run, label sentences (every task in one forward pass), label articles.

Usage::

    from german_stance import StanceClassifier
    classifier = StanceClassifier.from_run("runs/default")
    classifier.predict(["Seoul verurteilte das Abkommen."])   # ['critical']
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data.context import contexts_for
from ..data.encode import encode_texts
from ..modeling.calibration import softmax
from ..tasks import Task
from .batching import DEFAULT_BATCH_TOKENS, DEFAULT_MAX_BATCH, bucket_batches


# Words every German vocabulary knows (the tiny test vocabulary too): a probe that comes out all [UNK]
# means the tokenizer is not the model's.
PROBE_SENTENCE = "Kim dankte Putin für die Freundschaft."


def as_sentences(texts: Any) -> list[str]:
    """A string is one sentence; a list or tuple of strings is a batch; anything else is a ``TypeError``."""
    if isinstance(texts, str):
        return [texts]
    if isinstance(texts, (list, tuple)) and all(isinstance(text, str) for text in texts):
        return list(texts)
    found = type(texts).__name__ if not isinstance(texts, (list, tuple)) else \
        f"a {type(texts).__name__} holding {sorted({type(t).__name__ for t in texts if not isinstance(t, str)})}"
    raise TypeError(f"expected a sentence (str) or a list of sentences, found {found}; "
                    "pass e.g. classifier.predict(['Erster Satz.', 'Zweiter Satz.'])")


BACKENDS = ("auto", "torch", "onnx")


def choose_backend(path: str | Path, device: str, backend: str) -> str:
    """``torch`` or ``onnx`` for a run; ``auto`` picks ONNX when the run has it and the device is the CPU."""
    import importlib.util

    from ..modeling.onnx_run import has_onnx

    if backend not in BACKENDS:
        raise ValueError(f"expected a backend in {list(BACKENDS)}, found {backend!r}")
    if backend == "onnx" and device not in ("auto", "cpu"):
        raise ValueError(f"expected device auto or cpu for the ONNX backend, found {device!r}; "
                         "use --backend torch for a GPU")
    if backend != "auto":
        return backend
    # A GPU asked for by name is torch's; "auto" stays on the CPU with ONNX (it does not look for a GPU,
    # since that would import torch, which the ONNX path exists to avoid).
    usable = device in ("auto", "cpu") and importlib.util.find_spec("onnxruntime") is not None
    return "onnx" if usable and has_onnx(path) else "torch"


class StanceClassifier:
    """Stance (and, where the run has it, sentiment) of German sentences toward the Russia-North Korea cooperation."""

    def __init__(self, run: Any, backend: Any = None, batch_tokens: int = DEFAULT_BATCH_TOKENS,
                 max_batch: int = DEFAULT_MAX_BATCH, calibrated: bool = True, min_confidence: float = 0.0) -> None:
        self.run = run
        self.tasks: tuple[Task, ...] = run.tasks
        if backend is None:
            from ..modeling.backends import TorchBackend

            backend = TorchBackend(run.model)
        self.backend = backend
        if not 0.0 <= min_confidence < 1.0:
            raise ValueError(f"expected min_confidence in [0, 1), found {min_confidence}; e.g. --min-confidence 0.6")
        self.batch_tokens, self.max_batch, self.calibrated = batch_tokens, max_batch, calibrated
        # Sentences whose top probability for a task stays below this are labelled "uncertain" for that task.
        self.min_confidence = min_confidence
        self.use_context: bool = run.config.use_context
        self.max_length: int = run.config.max_length

    @classmethod
    def from_run(cls, path: str | Path, device: str = "auto", backend: str = "auto", variant: str | None = None,
                 threads: int = 0, **options: Any) -> StanceClassifier:
        """Load a run folder written by ``german-stance train``.

        ``backend``: ``torch``, ``onnx`` (the run's exported model; ``variant`` ``int8``/``fp32``, default the
        manifest's) or ``auto``: ONNX when the run was exported, onnxruntime is installed and the device is the CPU.
        ``threads``: ONNX Runtime's threads (0: one per physical core); torch's come from ``torch.set_num_threads``.
        """
        if choose_backend(path, device, backend) == "onnx":
            from ..modeling.onnx_run import load_onnx_run

            run, onnx_backend = load_onnx_run(path, variant, threads=threads)
            classifier = cls(run, backend=onnx_backend, **options)
            classifier.check_probe()
            return classifier
        from ..modeling.loading import load_run

        classifier = cls(load_run(path, device=device), **options)
        classifier.check_probe()
        return classifier

    from_pretrained = from_run

    @property
    def path(self) -> Path:
        """The run folder."""
        return self.run.path

    def task(self, name: str | None = None) -> Task:
        """The task called ``name`` (the first task, stance, by default)."""
        if name is None:
            return self.tasks[0]
        for task in self.tasks:
            if task.name == name:
                return task
        raise ValueError(f"expected a task in {[t.name for t in self.tasks]}, found {name!r}"
                         + ("; this run was trained before sentiment heads existed, retrain it" if self.run.legacy else ""))

    @property
    def labels(self) -> tuple[str, ...]:
        """The stance labels, in the column order of ``predict_proba``."""
        return self.tasks[0].labels

    def temperature(self, task: str) -> float:
        """The temperature applied to ``task``'s logits (1.0 when uncalibrated)."""
        return self.run.temperature(task) if self.calibrated else 1.0

    def logits(self, texts: Sequence[str], contexts: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Logits per task, ``{task: (n, labels)}``, in input order (blended with the run's lexical half, if any).

        The backend runs length-sorted batches.
        """
        texts = as_sentences(texts)
        total = sum(len(task.labels) for task in self.tasks)
        joined = np.zeros((len(texts), total), dtype=np.float32)
        if texts:
            if self.use_context and contexts is None:
                contexts = contexts_for(texts)  # same feed as training: the sentence before
            encoded = encode_texts(self.run.tokenizer, texts, contexts if self.use_context else None, self.max_length)
            pad_id = self.run.tokenizer.pad_token_id or 0
            for positions, batch in bucket_batches(dict(encoded), pad_id, self.batch_tokens, self.max_batch):
                joined[positions] = self.backend.logits(batch)
        if not np.isfinite(joined).all():
            raise ValueError(f"expected finite logits from the model in {self.path}, found NaN or infinity; "
                             "the weights are damaged: retrain the run or copy model.safetensors again")
        result, start = {}, 0
        for task in self.tasks:
            result[task.name] = joined[:, start : start + len(task.labels)]
            start += len(task.labels)
        # A run with a lexical half returns the log of the blended probabilities: still logit-like, so
        # temperatures, ensembles and evaluation treat both kinds of run alike.
        return self.run.lexical.blend(result, texts) if self.run.lexical is not None and texts else result

    def check_probe(self) -> None:
        """Label one probe sentence: known tokens in, finite probabilities that sum to 1 out, or a clear error."""
        tokenizer = self.run.tokenizer
        unknown = getattr(tokenizer, "unk_token_id", None)  # the ONNX tokenizer file has no such attribute
        if unknown is not None:
            ids = tokenizer(PROBE_SENTENCE, add_special_tokens=False)["input_ids"]
            if ids and all(i == unknown for i in ids):
                raise ValueError(f"expected the tokenizer in {self.path / 'model'} to know German words, found "
                                 "every word of a probe sentence unknown; copy the run folder again (model/tokenizer*)")
        weights = getattr(self.backend, "path", self.path / "model" / "model.safetensors")
        try:
            probabilities = self.probabilities(self.logits([PROBE_SENTENCE]))
        except ValueError as error:
            raise ValueError(f"expected finite scores from {weights}, found NaN or infinity on a probe sentence; "
                             "the weights are damaged: copy the run folder again or retrain it") from error
        for name, values in probabilities.items():
            if not np.isfinite(values).all() or abs(float(values.sum()) - 1) > 1e-3:
                raise ValueError(f"expected {name} probabilities that sum to 1 from {self.path}, found {values[0]}; "
                                 f"check calibration.json (temperatures) and {weights}, or retrain the run")

    def probabilities(self, logits: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Softmax per task with its temperature."""
        return {name: softmax(values, self.temperature(name)) for name, values in logits.items()}

    def predict_proba(self, texts: str | Sequence[str], task: str | None = None) -> np.ndarray:
        """Probabilities ``(n, labels)`` of one task (stance by default), calibrated where the run says so."""
        chosen = self.task(task)
        values = self.logits(as_sentences(texts))[chosen.name]
        return softmax(values, self.temperature(chosen.name)) if len(values) else values

    def predict(self, texts: str | Sequence[str], task: str | None = None) -> list[str]:
        """One label per sentence (stance by default; ``task="sentiment"`` for sentiment)."""
        chosen = self.task(task)
        return [chosen.labels[index] for index in self.predict_proba(texts, task).argmax(axis=1)]

    def predict_records(self, texts: str | Sequence[str], contexts: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """A flat record per sentence: text, then per task its label, confidence and ``p_<task>_<label>``."""
        texts = as_sentences(texts)
        probabilities = self.probabilities(self.logits(texts, contexts))
        return [to_record(text, {name: values[row] for name, values in probabilities.items()}, self.tasks,
                          self.min_confidence) for row, text in enumerate(texts)]

    def predict_article(self, text: str, article_id: str = "article") -> dict[str, Any]:
        """Split an article into sentences, label each, and summarise: ``{"sentences": [...], "summary": {...}}``."""
        from .pipeline import Article, label_article, summarise_article

        if not isinstance(text, str):
            raise TypeError(f"expected the article text as a str, found {type(text).__name__}")
        records = [record for chunk in label_article(self, Article(article_id, text)) for record in chunk]
        return {"sentences": records, "summary": summarise_article(records, self.tasks)}

    def save(self, path: str | Path) -> Path:
        """Copy the run (model, tokenizer, config, calibration) to a new folder; refuses to overwrite."""
        target = Path(path)
        if target.exists():
            raise FileExistsError(f"expected a new folder for save, found {target}; choose another path")
        shutil.copytree(self.path, target, ignore=shutil.ignore_patterns("checkpoints", "*.partial"))
        return target

    def __repr__(self) -> str:
        tasks = ", ".join(task.name for task in self.tasks)
        return f"StanceClassifier({str(self.path)!r}, tasks=[{tasks}], backend={self.backend.name})"


UNCERTAIN = "uncertain"


def to_record(text: str, probabilities: dict[str, np.ndarray], tasks: Sequence[Task],
              min_confidence: float = 0.0) -> dict[str, Any]:
    """``{"text", <task>, <task>_confidence, p_<task>_<label>...}`` for one sentence (``uncertain`` below the bar)."""
    record: dict[str, Any] = {"text": text}
    for task in tasks:
        row = probabilities[task.name]
        best = int(np.argmax(row))
        record[task.name] = task.labels[best] if row[best] >= min_confidence else UNCERTAIN
        record[f"{task.name}_confidence"] = round(float(row[best]), 4)
        for label, value in zip(task.labels, row):
            record[f"p_{task.name}_{label}"] = round(float(value), 4)
    return record
