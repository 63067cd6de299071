"""The one streaming inference path: split -> context -> encode -> logits -> records -> summary.

The CLI, the Python API, ``evaluate`` and the benchmarks all go through ``label_article`` (or, for
sentences that are already split, ``StanceClassifier.predict_records``); corpus-scale prediction labels many
short articles per forward pass with ``label_articles``. Usage::

    for chunk in label_article(classifier, Article("a1", text)): ...
    for article, records in label_articles(classifier, articles): ...
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ..data.context import contexts_for
from ..data.sentences import split_sentences
from ..tasks import Task
from .inputs import Article

__all__ = ["Article", "SummaryTally", "iter_chunks", "iter_sentences", "label_article", "label_articles",
           "label_stream", "summarise_article"]

CHUNK_SENTENCES = 2000
# The first chunks are small and grow to CHUNK_SENTENCES, so output starts after seconds, not after the first
# 2,000 sentences (minutes for a large model on a CPU); the records are the same either way.
FIRST_CHUNK_SENTENCES = 64
# Text is split in blocks that end at a line break: line breaks are hard sentence boundaries for the
# splitter, so block-wise splitting gives exactly the sentences of split_sentences(text).
BLOCK_CHARS = 100_000
# A line longer than this many blocks is cut inside (at a sentence end or space), so memory stays bounded.
LONG_LINE_FACTOR = 10
# predict groups short articles (by characters, before splitting) so that forward passes span articles and
# length-sorted batches stay full; the first group is small so output starts at once. A longer article streams.
GROUP_CHARS = 200_000
FIRST_GROUP_CHARS = 10_000
TOP_COUNT = 3
_SENTENCE_END = re.compile(r"[.!?…][\"“”»']?\s")


def next_block_end(text: str, start: int, block_chars: int) -> int:
    """End of the block that starts at ``start``: a line break, else a sentence end, else a space (bounded)."""
    if len(text) - start <= block_chars:
        return len(text)
    cut = text.find("\n", start + block_chars, start + LONG_LINE_FACTOR * block_chars)
    if cut != -1:
        return cut + 1
    if len(text) - start <= LONG_LINE_FACTOR * block_chars:
        return len(text)
    # No line break for a long stretch (one-line files, CR-free dumps): cut at the last sentence end
    # or space within the block, so memory stays bounded whatever the input looks like.
    window = text[start : start + block_chars]
    ends = [match.end() for match in _SENTENCE_END.finditer(window)]
    if ends:
        return start + ends[-1]
    space = window.rfind(" ")
    return start + space + 1 if space > 0 else start + block_chars


def iter_sentences(text: str, block_chars: int = BLOCK_CHARS) -> Iterator[str]:
    """The sentences of ``split_sentences(text)``, produced block by block."""
    start = 0
    while start < len(text):
        end = next_block_end(text, start, block_chars)
        yield from split_sentences(text[start:end])
        start = end


def iter_chunks(items: Iterable[str], size: int, first: int | None = None) -> Iterator[list[str]]:
    """Consecutive lists of at most ``size`` items; with ``first``, the first list holds ``first`` and sizes double."""
    chunk: list[str] = []
    limit = min(first or size, size)
    for item in items:
        chunk.append(item)
        if len(chunk) == limit:
            yield chunk
            chunk = []
            limit = min(limit * 2, size)
    if chunk:
        yield chunk


def label_article(classifier: Any, article: Article, chunk_size: int | None = None) -> Iterator[list[dict[str, Any]]]:
    """Yield the article's sentence records chunk by chunk, numbered from 1 across chunks."""
    previous, number = "", 0
    ramp = None if chunk_size else FIRST_CHUNK_SENTENCES
    for sentences in iter_chunks(iter_sentences(article.text), chunk_size or CHUNK_SENTENCES, ramp):
        # A context run reads each sentence after the one before it, also across chunk borders.
        contexts = contexts_for(sentences, previous) if classifier.use_context else None
        records = []
        for record in classifier.predict_records(sentences, contexts):
            number += 1
            records.append({"article": article.id, "sentence": number, **record})
        previous = sentences[-1]
        yield records


def label_articles(classifier: Any, articles: Iterable[Article],
                   chunk_size: int | None = None) -> Iterator[tuple[Article, list[dict[str, Any]]]]:
    """Yield each article with all its sentence records, in input order; forward passes span articles.

    Same sentences, contexts and numbering as ``label_article``; a news article has a few dozen sentences, so
    sharing batches across articles keeps them full. At most ``chunk_size`` sentences are labelled per call.
    """
    size = chunk_size or CHUNK_SENTENCES
    pending: list[tuple[Article, list[str]]] = []
    count = 0
    for article in articles:
        sentences = list(iter_sentences(article.text))
        pending.append((article, sentences))
        count += len(sentences)
        if count >= size:
            yield from _label_pending(classifier, pending, size)
            pending, count = [], 0
    if pending:
        yield from _label_pending(classifier, pending, size)


def label_stream(classifier: Any, articles: Iterable[Article], group_chars: int = GROUP_CHARS,
                 first_group_chars: int = FIRST_GROUP_CHARS) -> Iterator[tuple[Article, list[dict[str, Any]], bool]]:
    """``(article, records, finished)`` in input order: what ``predict`` writes, with forward passes that span articles.

    Articles shorter than ``group_chars`` are collected into groups (the first of ``first_group_chars``, each
    next one four times larger, up to ``group_chars``) and labelled together with ``label_articles``; a longer
    one is streamed chunk by chunk with ``label_article`` so its records never pile up. Each article ends with
    ``finished`` True (its records may be empty). Records are the same as ``label_article``'s.
    """
    def finish(group: list[Article]) -> Iterator[tuple[Article, list[dict[str, Any]], bool]]:
        """Label a group of short articles together; each comes out whole."""
        return ((done, records, True) for done, records in label_articles(classifier, group)) if group else iter(())

    pending: list[Article] = []
    size, limit = 0, first_group_chars
    for article in articles:
        if len(article.text) > group_chars:
            yield from finish(pending)
            pending, size = [], 0
            for records in label_article(classifier, article):
                yield article, records, False
            yield article, [], True
            continue
        pending.append(article)
        size += len(article.text)
        if size >= limit:
            yield from finish(pending)
            pending, size, limit = [], 0, min(limit * 4, group_chars)
    yield from finish(pending)


def _label_pending(classifier: Any, pending: list[tuple[Article, list[str]]],
                   size: int) -> Iterator[tuple[Article, list[dict[str, Any]]]]:
    """Label the sentences of ``pending`` articles in calls of at most ``size`` and hand each article its records."""
    texts = [sentence for _, sentences in pending for sentence in sentences]
    # Each article's first sentence has an empty context: contexts never cross an article border.
    contexts = [context for _, sentences in pending for context in contexts_for(sentences)]
    records: list[dict[str, Any]] = []
    for start in range(0, len(texts), size):
        records.extend(classifier.predict_records(
            texts[start : start + size], contexts[start : start + size] if classifier.use_context else None))
    start = 0
    for article, sentences in pending:
        chunk = records[start : start + len(sentences)]
        start += len(sentences)
        yield article, [{"article": article.id, "sentence": number, **record}
                        for number, record in enumerate(chunk, start=1)]


def summarise_task(records: Sequence[dict[str, Any]], task: Task) -> dict[str, Any]:
    """Counts, shares, mean probabilities, the dominant label and the strongest sentences of each side.

    Dominant rule: the more frequent of the two sides (critical/supportive, negative/positive) when
    side sentences make up at least 20% of the article and one side has strictly more sentences;
    otherwise the remaining label (neutral). Neutral sentences never outvote a side, because most
    sentences of any news article state facts.
    """
    total = len(records)
    counts = {label: sum(1 for record in records if record[task.name] == label) for label in task.labels}
    shares = {label: round(counts[label] / total, 4) if total else 0.0 for label in task.labels}
    means = {label: round(float(np.mean([r[f"p_{task.name}_{label}"] for r in records])), 4) if total else 0.0
             for label in task.labels}
    first, second = task.sides
    dominant = task.rest[0] if task.rest else first
    if total and (counts[first] + counts[second]) / total >= 0.2 and counts[first] != counts[second]:
        dominant = first if counts[first] > counts[second] else second
    summary = {"counts": counts, "shares": shares, "mean_probabilities": means, "dominant": dominant,
               **{f"most_{side}": top_sentences(records, task, side) for side in task.sides}}
    uncertain = total - sum(counts.values())
    if uncertain:  # sentences below --min-confidence: counted apart, never part of a side
        summary["uncertain"] = uncertain
    return summary


def top_sentences(records: Sequence[dict[str, Any]], task: Task, label: str,
                  count: int = TOP_COUNT) -> list[dict[str, Any]]:
    """The ``count`` sentences predicted as ``label`` with the highest probability for it."""
    key = f"p_{task.name}_{label}"
    chosen = sorted((r for r in records if r[task.name] == label), key=lambda r: -r[key])
    return [{"sentence": r.get("sentence"), "text": r["text"], "probability": r[key]} for r in chosen[:count]]


def summarise_article(records: Sequence[dict[str, Any]], tasks: Sequence[Task]) -> dict[str, Any]:
    """The article summary: sentence count and one ``summarise_task`` block per task."""
    return {"sentences": len(records), **{task.name: summarise_task(records, task) for task in tasks}}


class SummaryTally:
    """What ``summarise_article`` needs from an article, kept while its chunks stream past.

    Each sentence keeps its number, labels and probabilities; its text is kept only while it can still be
    one of the top sentences of a side (a sentence that has dropped out can never come back, since later
    sentences only push it further down), so memory stays small for long articles.
    """

    def __init__(self, tasks: Sequence[Task]) -> None:
        self.tasks = tuple(tasks)
        self.records: list[dict[str, Any]] = []
        self.kept: list[dict[str, Any]] = []  # records that still carry their text, in sentence order

    def add(self, records: list[dict[str, Any]]) -> None:
        """Take one chunk of sentence records."""
        keys = ("sentence", "text", *(key for task in self.tasks for key in (
            task.name, *(f"p_{task.name}_{label}" for label in task.labels))))
        slim = [{key: record[key] for key in keys} for record in records]
        self.records.extend(slim)
        candidates = self.kept + slim
        best: set[int] = set()
        for task in self.tasks:
            for side in task.sides:
                # Stable sort in sentence order: ties break exactly as in top_sentences.
                key = f"p_{task.name}_{side}"
                ranked = sorted((r for r in candidates if r[task.name] == side), key=lambda r: -r[key])
                best.update(id(r) for r in ranked[:TOP_COUNT])
        self.kept = [r for r in candidates if id(r) in best]
        for record in candidates:
            if id(record) not in best:
                record["text"] = ""

    def summary(self) -> dict[str, Any]:
        """The article summary, identical to ``summarise_article`` on all full records."""
        return summarise_article(self.records, self.tasks)


def write_labelled(classifier: Any, articles: Iterable[Article], writer: Any,
                   on_records: Callable[[list[dict[str, Any]]], None] | None = None) -> tuple[int, int]:
    """Label ``articles`` into ``writer`` (start, records, summary per article); return (articles, sentences).

    ``on_records`` sees each chunk of records after it is written (predict's progress bar and interrupt check).
    """
    articles_done = sentences = 0
    current, tally = None, SummaryTally(classifier.tasks)
    # Short articles share forward passes (full, length-sorted batches); long ones stream chunk by chunk.
    for article, records, finished in label_stream(classifier, articles):
        if article is not current:
            current, tally = article, SummaryTally(classifier.tasks)
            writer.start(article)
        if records:
            writer.write(records)
            tally.add(records)
            sentences += len(records)
        if on_records is not None:
            on_records(records)
        if finished:
            writer.finish(article, tally.summary())
            articles_done += 1
    return articles_done, sentences
