"""Label sentences and articles with a trained run.

Usage::

    run = load_run("runs/default")
    predict_article(run, "Putin lobte die Zusammenarbeit. Seoul protestierte.")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .config import LABELS
from .model import TrainedRun
from .sentences import split_sentences


@torch.no_grad()
def predict_logits(run: TrainedRun, texts: Sequence[str], contexts: Sequence[str] | None = None,
                   batch_size: int = 64) -> np.ndarray:
    """Return the raw logits ``(len(texts), 3)``, batching sentences of similar length together."""
    if not texts:
        return np.zeros((0, len(LABELS)), dtype=np.float32)
    use_context = run.config.use_context
    if use_context and contexts is None:
        # Same feed as training: each sentence's context is the sentence before it.
        contexts = [""] + list(texts[:-1])
    # Sorting by length keeps padding small; results go back to the input order.
    order = np.argsort([len(text) for text in texts], kind="stable")
    logits = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
    device = next(run.model.parameters()).device
    for start in range(0, len(texts), batch_size):
        index = order[start : start + batch_size]
        batch_texts = [texts[i] for i in index]
        batch_contexts = [contexts[i] or "" for i in index] if use_context else None
        encoded = run.tokenizer(batch_texts, batch_contexts, truncation=True, max_length=run.config.max_length,
                                padding=True, return_tensors="pt").to(device)
        logits[index] = run.model(**encoded).logits.float().cpu().numpy()
    return logits


def to_predictions(texts: Sequence[str], logits: np.ndarray, temperature: float = 1.0) -> list[dict[str, Any]]:
    """Turn logits into ``{"text", "label", "confidence", "probabilities"}`` records."""
    from .metrics import softmax

    probabilities = softmax(logits, temperature) if len(texts) else logits
    records = []
    for text, row in zip(texts, probabilities):
        best = int(np.argmax(row))
        records.append({"text": text, "label": LABELS[best], "confidence": round(float(row[best]), 4),
                        "probabilities": {label: round(float(p), 4) for label, p in zip(LABELS, row)}})
    return records


def predict_sentences(run: TrainedRun, texts: Sequence[str], contexts: Sequence[str] | None = None,
                      batch_size: int = 64) -> list[dict[str, Any]]:
    """Label each sentence; returns one record per sentence in input order.

    Example: ``predict_sentences(run, ["Seoul verurteilte das Abkommen."])[0]["label"]`` -> ``"critical"``.
    """
    return to_predictions(texts, predict_logits(run, texts, contexts, batch_size))


def predict_article(run: TrainedRun, text: str, batch_size: int = 64) -> list[dict[str, Any]]:
    """Split an article into sentences (the training splitter) and label each one."""
    sentences = split_sentences(text)
    records = predict_sentences(run, sentences, batch_size=batch_size)
    for number, record in enumerate(records, start=1):
        record["sentence"] = number
    return records


def summarise_article(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts, shares, mean probabilities and the dominant stance of one article's sentences.

    Dominant stance rule: the more frequent of ``critical`` and ``supportive`` when stance-bearing sentences
    make up at least 20% of the article and one of them has strictly more sentences than the other;
    otherwise ``neutral`` (no clear stance, or a tie). Neutral sentences never outvote a stance, because
    most sentences of any news article state facts.
    """
    total = len(records)
    counts = {label: sum(1 for record in records if record["label"] == label) for label in LABELS}
    shares = {label: round(counts[label] / total, 4) if total else 0.0 for label in LABELS}
    means = {label: round(float(np.mean([r["probabilities"][label] for r in records])), 4) if total else 0.0
             for label in LABELS}
    stance_share = (counts["critical"] + counts["supportive"]) / total if total else 0.0
    dominant = "neutral"
    if stance_share >= 0.2 and counts["critical"] != counts["supportive"]:
        dominant = "critical" if counts["critical"] > counts["supportive"] else "supportive"
    return {"sentences": total, "counts": counts, "shares": shares, "mean_probabilities": means,
            "dominant_stance": dominant,
            "most_critical": _top(records, "critical"), "most_supportive": _top(records, "supportive")}


def _top(records: Sequence[dict[str, Any]], label: str, count: int = 3) -> list[dict[str, Any]]:
    """The ``count`` sentences predicted as ``label`` with the highest probability for it."""
    chosen = sorted((r for r in records if r["label"] == label), key=lambda r: -r["probabilities"][label])
    return [{"sentence": r.get("sentence"), "text": r["text"], "probability": r["probabilities"][label]}
            for r in chosen[:count]]

