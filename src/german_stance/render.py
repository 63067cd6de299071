"""Writers for ``german-stance predict``: JSON lines, CSV, a terminal table and a self-contained HTML view.

Usage: ``german-stance predict --model runs/default article.txt --format html -o stances.html``

Writers get ``start(article)``, ``write(records)`` per chunk of sentences, ``finish(article, summary)``, and
``close()``, so long articles are written as they come (HTML waits for each whole article).

``jsonl``: a ``{"type": "sentence", ...}`` line per sentence, then ``{"type": "summary", ...}`` per article.
``csv``: a row per sentence; the summary goes to ``<output stem>.summary.csv`` next to ``--output`` and is
left out on standard output (one CSV stream holds one table). ``table``: truncated rows, coloured labels on
a terminal (not with ``NO_COLOR``). ``html``: one offline page, sentences shaded by stance and confidence.
"""

from __future__ import annotations

import csv
import html
import json
import os
import shutil
from pathlib import Path
from typing import Any, TextIO

from .config import LABELS
from .inputs import Article

# Okabe-Ito colours: critical and supportive stay distinguishable for red-green colour-blind readers.
STANCE_RGB = {"critical": (213, 94, 0), "neutral": (136, 136, 136), "supportive": (0, 114, 178)}
TERMINAL_COLOURS = {"critical": "\033[1;31m", "neutral": "\033[2m", "supportive": "\033[1;34m"}
SUMMARY_COLUMNS = (("n", "counts"), ("share", "shares"), ("mean_p", "mean_probabilities"))
DOMINANT_RULE = "critical/supportive: stance sentences >= 20% and that side has more of them; else neutral"


def resolve_format(requested: str | None, output: str | None, stdout_is_tty: bool) -> str:
    """The explicit --format, else by --output suffix (.csv/.html, otherwise jsonl), else table on a terminal."""
    if requested:
        return requested
    if output:
        return {".csv": "csv", ".html": "html", ".htm": "html"}.get(Path(output).suffix.lower(), "jsonl")
    return "table" if stdout_is_tty else "jsonl"


def summary_path(output: str | Path) -> Path:
    """Where the CSV summary goes: ``stances.csv`` -> ``stances.summary.csv``."""
    return Path(output).with_suffix(".summary.csv")


class Writer:
    """Base writer: subclasses override what their format needs."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def start(self, article: Article) -> None:
        """Called before the first chunk of an article."""

    def write(self, records: list[dict[str, Any]]) -> None:
        """Called with each chunk of sentence records."""

    def finish(self, article: Article, summary: dict[str, Any]) -> None:
        """Called after an article's last chunk, with its summary."""

    def close(self) -> None:
        """Called once after the last article."""
        self.stream.flush()


class JsonlWriter(Writer):
    """One JSON object per line: sentences, then the article's summary."""

    def write(self, records: list[dict[str, Any]]) -> None:
        self.stream.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)

    def finish(self, article: Article, summary: dict[str, Any]) -> None:
        self.stream.write(json.dumps({"type": "summary", "article": article.id, **summary}, ensure_ascii=False) + "\n")
        self.stream.flush()


class CsvWriter(Writer):
    """Sentence rows; summary rows in a separate file when one is given."""

    def __init__(self, stream: TextIO, summary_file: Path | None = None) -> None:
        super().__init__(stream)
        self.rows = csv.writer(stream)
        self.rows.writerow(["article", "sentence", "label", "confidence", *(f"p_{label}" for label in LABELS), "text"])
        self.summary_stream = summary_file.open("w", encoding="utf-8", newline="") if summary_file else None
        if self.summary_stream:
            self.summaries = csv.writer(self.summary_stream)
            self.summaries.writerow(["article", "sentences", "dominant_stance",
                                     *(f"{prefix}_{label}" for prefix, _ in SUMMARY_COLUMNS for label in LABELS)])

    def write(self, records: list[dict[str, Any]]) -> None:
        self.rows.writerows([r["article"], r["sentence"], r["label"], r["confidence"],
                             *(r["probabilities"][label] for label in LABELS), r["text"]] for r in records)

    def finish(self, article: Article, summary: dict[str, Any]) -> None:
        if self.summary_stream:
            self.summaries.writerow([article.id, summary["sentences"], summary["dominant_stance"],
                                     *(summary[key][label] for _, key in SUMMARY_COLUMNS for label in LABELS)])

    def close(self) -> None:
        super().close()
        if self.summary_stream:
            self.summary_stream.close()


class TableWriter(Writer):
    """Aligned rows for reading in a terminal; long sentences are cut to the terminal width."""

    def __init__(self, stream: TextIO, colour: bool = False) -> None:
        super().__init__(stream)
        self.colour = colour and "NO_COLOR" not in os.environ
        self.width = max(60, shutil.get_terminal_size((100, 24)).columns)

    def paint(self, label: str, text: str) -> str:
        """``text`` in the label's colour when colours are on."""
        return f"{TERMINAL_COLOURS[label]}{text}\033[0m" if self.colour else text

    def start(self, article: Article) -> None:
        self.stream.write(f"\n== {article.id} ==\n{'#':>5}  {'label':<10}  {'conf':>4}  sentence\n")

    def write(self, records: list[dict[str, Any]]) -> None:
        room = self.width - 26
        for record in records:
            text = " ".join(record["text"].split())
            text = text if len(text) <= room else text[: room - 1] + "…"
            label = self.paint(record["label"], f"{record['label']:<10}")
            self.stream.write(f"{record['sentence']:>5}  {label}  {record['confidence']:.2f}  {text}\n")

    def finish(self, article: Article, summary: dict[str, Any]) -> None:
        counts, shares = summary["counts"], summary["shares"]
        parts = [self.paint(label, f"{label} {counts[label]} ({shares[label]:.0%})") for label in LABELS]
        dominant = self.paint(summary["dominant_stance"], summary["dominant_stance"])
        self.stream.write(f"summary: {' | '.join(parts)} | {summary['sentences']} sentences | dominant: {dominant}\n")
        self.stream.flush()


CSS = """body{font:16px/1.6 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;background:#fafafa;margin:0}
main{max-width:920px;margin:0 auto;padding:24px}h1{font-size:1.4em;margin:0 0 4px}.meta{color:#666;margin:0 0 16px}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;align-items:center;padding:10px 14px;background:#fff;
border:1px solid #ddd;border-radius:8px;font-size:.9em}.sw{display:inline-block;width:14px;height:14px;
border-radius:3px;vertical-align:-2px;margin-right:6px}article{background:#fff;border:1px solid #ddd;border-radius:8px;
margin:20px 0;padding:18px 22px}h2{font-size:1.15em;margin:0 0 10px;word-break:break-all}.summary{background:#f4f4f6;
border-radius:6px;padding:12px 14px}.bar{display:flex;height:14px;border-radius:7px;overflow:hidden;margin:8px 0;
background:#e4e4e4}.counts{display:flex;flex-wrap:wrap;gap:14px;font-size:.9em}.badge{color:#fff;border-radius:4px;
padding:1px 8px;font-weight:600}.tops{display:grid;grid-template-columns:1fr 1fr;gap:16px;font-size:.9em}
.tops h3{font-size:1em;margin:10px 0 4px}.tops ol{margin:0;padding-left:20px}.tops a{color:inherit;
text-decoration:none}.tops small{color:#666}.text p{margin:12px 0}.s{border-radius:3px;padding:1px;
box-decoration-break:clone}.s:target{outline:2px solid #222}"""


def _rgb(label: str, alpha: float = 1.0) -> str:
    """CSS colour of a label, optionally translucent."""
    red, green, blue = STANCE_RGB[label]
    return f"rgba({red},{green},{blue},{alpha:.2f})" if alpha < 1 else f"rgb({red},{green},{blue})"


def shade(label: str, confidence: float) -> float:
    """Background opacity: faint near chance (1/3), strong near certainty; neutral stays lighter."""
    strength = min(1.0, max(0.0, (confidence - 1 / 3) / (2 / 3)))
    return round((0.10 + 0.38 * strength) * (0.5 if label == "neutral" else 1.0), 2)  # text stays readable


class HtmlWriter(Writer):
    """One self-contained page; each article is written when its last sentence has been labelled."""

    def __init__(self, stream: TextIO, model: str = "") -> None:
        super().__init__(stream)
        self.records: list[dict[str, Any]] = []
        self.count = 0  # articles written; also numbers the anchors
        swatches = "".join(f'<span><i class="sw" style="background:{_rgb(name)}"></i>{name}</span>' for name in LABELS)
        self.stream.write(
            f'<!DOCTYPE html>\n<html lang="de"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width,initial-scale=1"><title>Stance per sentence</title><style>{CSS}</style>'
            f'</head><body><main><h1>Stance toward the Russia–North Korea cooperation</h1>'
            f'<p class="meta">Every sentence labelled by the model <code>{html.escape(model)}</code>.</p>'
            f'<div class="legend"><b>Legend</b>{swatches}<span>stronger shade = more confident · '
            f'hover a sentence for its probabilities</span></div>\n')

    def write(self, records: list[dict[str, Any]]) -> None:
        self.records.extend(records)  # the summary box goes above the text, so wait for the whole article

    def finish(self, article: Article, summary: dict[str, Any]) -> None:
        self.count += 1
        anchor = f"a{self.count}"
        self.stream.write(f'<article id="{anchor}"><h2>{html.escape(article.id)}</h2>'
                          f'{self.summary_box(summary, anchor)}<div class="text">'
                          f'{self.article_text(article.text, anchor)}</div></article>\n')
        self.records = []
        self.stream.flush()

    def summary_box(self, summary: dict[str, Any], anchor: str) -> str:
        """Dominant stance, a bar of label shares, counts and the strongest sentences of each side."""
        dominant = summary["dominant_stance"]
        bar = "".join(f'<span style="width:{summary["shares"][label] * 100:.2f}%;background:{_rgb(label)}" '
                      f'title="{label} {summary["shares"][label]:.0%}"></span>' for label in LABELS)
        counts = "".join(f'<span><i class="sw" style="background:{_rgb(label)}"></i>{label}: '
                         f'{summary["counts"][label]} ({summary["shares"][label]:.0%})</span>' for label in LABELS)
        tops = ""
        for label, key in (("critical", "most_critical"), ("supportive", "most_supportive")):
            items = "".join(f'<li><a href="#{anchor}-s{item["sentence"]}">{html.escape(item["text"])}</a> '
                            f'<small>p={item["probability"]:.2f}</small></li>' for item in summary[key])
            tops += f'<div><h3>Most {label}</h3>{f"<ol>{items}</ol>" if items else "<p>none</p>"}</div>'
        return (f'<section class="summary"><div>Dominant stance: <span class="badge" style="background:'
                f'{_rgb(dominant)}" title="{html.escape(DOMINANT_RULE)}">{dominant}</span> · '
                f'{summary["sentences"]} sentences</div><div class="bar">{bar}</div>'
                f'<div class="counts">{counts}</div><div class="tops">{tops}</div></section>')

    def article_text(self, text: str, anchor: str) -> str:
        """The article with every sentence shaded; paragraphs follow the line breaks of the input."""
        paragraphs: list[list[str]] = [[]]
        position = 0
        for record in self.records:
            # Sentences are cut from the text unchanged, so find() recovers the gaps between them.
            found = text.find(record["text"], position)
            if found >= 0:
                if "\n" in text[position:found] and paragraphs[-1]:
                    paragraphs.append([])
                position = found + len(record["text"])
            number, label = record["sentence"], record["label"]
            odds = record["probabilities"]
            tip = f"#{number} {label} — " + " · ".join(f"{name} {odds[name]:.2f}" for name in LABELS)
            # The underline keeps a stance readable even when low confidence leaves only a faint shade.
            line = "" if label == "neutral" else f";border-bottom:2px solid {_rgb(label)}"
            paragraphs[-1].append(
                f'<span class="s" id="{anchor}-s{number}" style="background:'
                f'{_rgb(label, shade(label, record["confidence"]))}{line}" title="{html.escape(tip)}">'
                f'{html.escape(record["text"])}</span>')
        return "".join(f"<p>{' '.join(sentences)}</p>" for sentences in paragraphs if sentences)

    def close(self) -> None:
        if not self.count:
            self.stream.write("<p>No article could be read.</p>")
        self.stream.write("</main></body></html>\n")
        super().close()


def make_writer(fmt: str, stream: TextIO, output: str | None = None, colour: bool = False,
                model: str = "") -> Writer:
    """The writer for ``fmt``; ``output`` decides where the CSV summary goes."""
    writers = {"jsonl": lambda: JsonlWriter(stream), "table": lambda: TableWriter(stream, colour),
               "csv": lambda: CsvWriter(stream, summary_path(output) if output else None),
               "html": lambda: HtmlWriter(stream, model)}
    if fmt in writers:
        return writers[fmt]()
    raise ValueError(f"expected a format in {list(writers)}, found {fmt!r}; pass --format jsonl|csv|table|html")
