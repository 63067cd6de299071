"""A tiny document model (headings, paragraphs, tables, images) rendered to Markdown and self-contained HTML.

Reports are built once as a list of blocks and written in both formats, so the two never disagree. Both get a
table of contents (level-2 and level-3 headings, same anchors in both); the HTML page has a phone layout (wide
tables scroll inside their box, never the page) and a print stylesheet (A4, wrapping cells, repeated table heads).
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
from ..tasks import TASKS


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
class Link:
    """A table cell that links: to a URL, or to an anchor (``#...``) in the same report."""

    text: str
    href: str


Cell = str | Link


@dataclass
class Table:
    """A table with a header row; cells are formatted strings or links; ``row_ids`` make rows link targets."""

    headers: list[str]
    rows: list[list[Cell]]
    css_class: str = ""
    row_ids: list[str] | None = None


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
padding:0 1rem;color:#1d1d1f;line-height:1.45;overflow-wrap:break-word}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{border-bottom:2px solid #e5e5ea;padding-bottom:.2rem;margin-top:2rem}
h2,h3,h4{overflow-wrap:anywhere}
nav.toc{background:#f5f5f7;border-radius:6px;padding:.5rem 1rem;font-size:.9rem}nav.toc ul{margin:.2rem 0;padding-left:1.2rem}
.wide{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #d2d2d7;padding:.3rem .55rem;text-align:left;vertical-align:top}
th{background:#f2f2f7}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr:target{background:#fff3c4}
/* errors: fixed layout so the sentence column takes the room and wraps; ids and URLs break anywhere */
table.errors{table-layout:fixed;width:100%}table.errors td:first-child,table.errors td:last-child{overflow-wrap:anywhere}
table.errors th:nth-child(1){width:54%}table.errors th:nth-child(2),table.errors th:nth-child(3){width:10.5%}
table.errors th:nth-child(4){width:13%}table.errors th:nth-child(5){width:12%}
figure{margin:1rem 0}figure img{max-width:100%;border:1px solid #e5e5ea}
figcaption{font-size:.85rem;color:#555}p.note{font-size:.85rem;color:#666}
pre{background:#f5f5f7;padding:.7rem;overflow-x:auto;font-size:.8rem}
@media (max-width:600px){body{margin:1rem auto;padding:0 .6rem}h1{font-size:1.35rem}h2{font-size:1.2rem}
h3{font-size:1.05rem}table{font-size:.8rem}
th,td{padding:.2rem .35rem}table.errors{min-width:720px}}
@page{size:A4;margin:14mm 12mm}
@media print{body{max-width:none;margin:0;padding:0;font-size:10pt}h1{font-size:16pt}h2{font-size:13pt}
h3{font-size:11.5pt}h4{font-size:10.5pt}h2,h3,h4{break-after:avoid}.wide{overflow:visible}
table{font-size:8pt;width:100%;break-inside:avoid}table.errors{min-width:0;break-inside:auto}
table.errors th:nth-child(1){width:48%}table.errors th:nth-child(2),table.errors th:nth-child(3){width:13%}thead{display:table-header-group}tr,figure{break-inside:avoid}
td.num,th.num{white-space:normal}figure img{max-width:75%;border:none}nav.toc{background:none;border:1px solid #ccc}
pre{white-space:pre-wrap;font-size:7.5pt}a{color:inherit;text-decoration:none}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def slugify(text: str, taken: dict[str, int]) -> str:
    """GitHub's heading anchor (lowercase, punctuation dropped, spaces to '-'), numbered when repeated."""
    slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
    count = taken.get(slug, 0)
    taken[slug] = count + 1
    return f"{slug}-{count}" if count else slug


def heading_ids(blocks: list[Block]) -> dict[int, str]:
    """Anchor of each heading block (by position), the same in Markdown and HTML."""
    taken: dict[str, int] = {}
    return {index: slugify(block.text, taken) for index, block in enumerate(blocks) if isinstance(block, Heading)}


def toc_entries(blocks: list[Block], ids: dict[int, str]) -> list[tuple[int, str, str]]:
    """``(level, text, anchor)`` of the level-2 and level-3 headings."""
    return [(blocks[index].level, blocks[index].text, anchor) for index, anchor in ids.items()
            if blocks[index].level in (2, 3)]


def first_heading(blocks: list[Block]) -> int:
    """Position where the table of contents goes: before the first heading."""
    return next((index for index, block in enumerate(blocks) if isinstance(block, Heading)), len(blocks))


def _md_text(text: str) -> str:
    """Escape text for Markdown: HTML in the data (Markdown renders raw HTML) stays visible text."""
    return html.escape(text, quote=False)


def _md_cell(cell: Cell) -> str:
    """Escape a table cell for Markdown; URL links keep their target (Markdown has no row anchors)."""
    if isinstance(cell, Link):
        return _md_cell(cell.text) if cell.href.startswith("#") else f"[{_md_cell(cell.text)}]({cell.href})"
    return _md_text(cell).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block], title: str) -> str:
    """Render blocks as GitHub-flavoured Markdown (images as relative links), with a table of contents."""
    lines = [f"# {_md_text(title)}", ""]
    ids = heading_ids(blocks)
    entries = toc_entries(blocks, ids)
    start = first_heading(blocks)
    for index, block in enumerate(blocks):
        if index == start and len(entries) > 2:
            lines += ["**Contents**", ""] + [f"{'  ' * (level - 2)}- [{_md_cell(text)}](#{anchor})"
                                             for level, text, anchor in entries] + [""]
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


# Signed too: paired differences read "+0.056 [+0.032, +0.084]" and must align like "-0.020 [...]".
NUMBER_CELL = re.compile(r"[-+−]?\d[\d.,]*%?( \[[-+−]?[\d.]+, [-+−]?[\d.]+\]| ± [\d.]+)?")


def _is_number(text: str) -> bool:
    """True for cells that are a number, optionally with an interval or ± sd (right-aligned in HTML)."""
    return NUMBER_CELL.fullmatch(text) is not None


# Label cells take their task's colour (tasks.py), so a new task's labels need no edit here.
LABEL_COLOURS = {label: task.colour(label) for task in TASKS.values() for label in task.labels}
LABEL_CLASSES = tuple(LABEL_COLOURS)
LABEL_CSS = "".join(f".{label}{{color:rgb{colour}{';font-weight:600' if label != 'neutral' else ''}}}"
                    for label, colour in LABEL_COLOURS.items())


def _html_cell(cell: Cell, tag: str) -> str:
    """One table cell; label names get their label colour; links become anchors."""
    if isinstance(cell, Link):
        return f"<{tag}><a href='{html.escape(cell.href, quote=True)}'>{html.escape(cell.text)}</a></{tag}>"
    css = [cell] if cell in LABEL_CLASSES else []
    if _is_number(cell):
        css.append("num")
    attribute = f' class="{" ".join(css)}"' if css else ""
    return f"<{tag}{attribute}>{html.escape(cell)}</{tag}>"


def _html_toc(entries: list[tuple[int, str, str]]) -> str:
    """Nested list of links to the level-2 headings and, under each, its level-3 headings."""
    parts, open_sub = ["<nav class='toc'><b>Contents</b><ul>"], False
    for level, text, anchor in entries:
        if level == 3 and not open_sub:
            parts.append("<ul>")
            open_sub = True
        elif level == 2 and open_sub:
            parts.append("</ul>")
            open_sub = False
        parts.append(f"<li><a href='#{anchor}'>{html.escape(text)}</a></li>")
    parts.append("</ul>" * (2 if open_sub else 1) + "</nav>")
    return "".join(parts)


def to_html(blocks: list[Block], title: str) -> str:
    """Render blocks as one self-contained HTML page (CSS inline, images as data URIs), with a table of contents."""
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
             f"content='width=device-width,initial-scale=1'><title>{html.escape(title)}</title>",
             f"<style>{CSS}{LABEL_CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    ids = heading_ids(blocks)
    entries = toc_entries(blocks, ids)
    start = first_heading(blocks)
    for index, block in enumerate(blocks):
        if index == start and len(entries) > 2:
            parts.append(_html_toc(entries))
        if isinstance(block, Heading):
            parts.append(f"<h{block.level} id='{ids[index]}'>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            text = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(block.text))  # Markdown code spans
            parts.append(f"<p{' class=note' if block.note else ''}>{text}</p>")
        elif isinstance(block, Table):
            head = "".join(_html_cell(h, "th") for h in block.headers)
            row_ids = block.row_ids or [""] * len(block.rows)
            body = "".join((f"<tr id='{row_id}'>" if row_id else "<tr>") + "".join(_html_cell(c, "td") for c in row)
                           + "</tr>" for row, row_id in zip(block.rows, row_ids))
            css = f" class='{block.css_class}'" if block.css_class else ""
            parts.append(f"<div class='wide'><table{css}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")
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
