"""A tiny document model (headings, paragraphs, tables, images) rendered to Markdown and self-contained HTML.

Reports are built once as a list of blocks and written in both formats, so the two never disagree.
Usage: ``write_document(blocks, Path("report"), "Evaluation report")`` writes ``report.md``, ``report.html`` and the
figures, together with any ``extra`` files, all or none (temporary files renamed into place at the end).
Text from the data is escaped in both formats: a sentence holding ``<script>`` stays text.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path

from ..files import write_files_atomic


@dataclass
class Heading:
    """A section title (level 2 by default)."""

    text: str
    level: int = 2


@dataclass
class Paragraph:
    """Plain text; ``note`` paragraphs are rendered smaller and grey in HTML."""

    text: str
    note: bool = False


@dataclass
class Table:
    """A table with a header row; cells are already formatted strings."""

    headers: list[str]
    rows: list[list[str]]
    css_class: str = ""


@dataclass
class Image:
    """A PNG written next to the report (as ``path``'s name) and embedded (base64) in the HTML."""

    path: Path
    caption: str
    alt: str = ""
    data: bytes = b""  # the PNG; empty: read from ``path``


@dataclass
class Preformatted:
    """Verbatim text such as a config file."""

    text: str


Block = Heading | Paragraph | Table | Image | Preformatted

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2rem auto;
padding:0 1rem;color:#1d1d1f;line-height:1.45}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{border-bottom:2px solid #e5e5ea;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #d2d2d7;padding:.3rem .55rem;text-align:left;vertical-align:top}
th{background:#f2f2f7}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.errors td:first-child{max-width:560px}
figure{margin:1rem 0}figure img{max-width:100%;border:1px solid #e5e5ea}
figcaption{font-size:.85rem;color:#555}p.note{font-size:.85rem;color:#666}
pre{background:#f5f5f7;padding:.7rem;overflow-x:auto;font-size:.8rem}
.critical{color:#d55e00;font-weight:600}.supportive{color:#0072b2;font-weight:600}.neutral{color:#666}
"""


def _md_text(text: str) -> str:
    """Escape text for Markdown: HTML in the data (Markdown renders raw HTML) stays visible text."""
    return html.escape(text, quote=False)


def _md_cell(text: str) -> str:
    """Escape a table cell for Markdown."""
    return _md_text(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block], title: str) -> str:
    """Render blocks as GitHub-flavoured Markdown (images as relative links)."""
    lines = [f"# {_md_text(title)}", ""]
    for block in blocks:
        if isinstance(block, Heading):
            lines += [f"{'#' * block.level} {_md_text(block.text)}", ""]
        elif isinstance(block, Paragraph):
            lines += [f"_{_md_text(block.text)}_" if block.note else _md_text(block.text), ""]
        elif isinstance(block, Table):
            lines.append("| " + " | ".join(_md_cell(h) for h in block.headers) + " |")
            lines.append("|" + "|".join("---" for _ in block.headers) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            lines.append("")
        elif isinstance(block, Image):
            lines += [f"![{_md_cell(block.alt or block.caption)}]({block.path.name})", "", f"*{_md_text(block.caption)}*", ""]
        elif isinstance(block, Preformatted):
            lines += ["```", block.text.rstrip(), "```", ""]
    return "\n".join(lines)


NUMBER_CELL = re.compile(r"-?\d[\d.,]*%?( \[-?[\d.]+, -?[\d.]+\]| ± [\d.]+)?")


def _is_number(text: str) -> bool:
    """True for cells that are a number, optionally with an interval or ± sd (right-aligned in HTML)."""
    return NUMBER_CELL.fullmatch(text) is not None


def _html_cell(text: str, tag: str) -> str:
    """One table cell; label names get their stance colour."""
    css = [text] if text in ("critical", "neutral", "supportive") else []
    if _is_number(text):
        css.append("num")
    attribute = f' class="{" ".join(css)}"' if css else ""
    return f"<{tag}{attribute}>{html.escape(text)}</{tag}>"


def to_html(blocks: list[Block], title: str) -> str:
    """Render blocks as one self-contained HTML page (CSS inline, images as data URIs)."""
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            parts.append(f"<p{' class=note' if block.note else ''}>{html.escape(block.text)}</p>")
        elif isinstance(block, Table):
            head = "".join(_html_cell(h, "th") for h in block.headers)
            body = "".join("<tr>" + "".join(_html_cell(c, "td") for c in row) + "</tr>" for row in block.rows)
            css = f" class='{block.css_class}'" if block.css_class else ""
            parts.append(f"<table{css}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(block, Image):
            data = base64.b64encode(block.data or block.path.read_bytes()).decode("ascii")
            parts.append(f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(block.alt or block.caption)}'>"
                         f"<figcaption>{html.escape(block.caption)}</figcaption></figure>")
        elif isinstance(block, Preformatted):
            parts.append(f"<pre>{html.escape(block.text)}</pre>")
    parts.append("</body></html>")
    return "".join(parts)


def write_document(blocks: list[Block], out_dir: Path, title: str, stem: str = "report",
                   extra: dict[str, str | bytes] | None = None) -> tuple[Path, Path]:
    """Write ``<stem>.md``, ``<stem>.html``, the figures and ``extra`` files into ``out_dir``, all or none."""
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown, page = out_dir / f"{stem}.md", out_dir / f"{stem}.html"
    files: dict[Path, str | bytes] = {out_dir / block.path.name: block.data for block in blocks
                                      if isinstance(block, Image) and block.data}
    files.update({markdown: to_markdown(blocks, title), page: to_html(blocks, title)})
    files.update({out_dir / name: content for name, content in (extra or {}).items()})
    write_files_atomic(files)
    return markdown, page
