"""The self-contained HTML view of ``german-stance predict``: stance as the shade, sentiment as a marker.

Usage: ``german-stance predict --model runs/default examples/articles -o stances.html``. One offline page: an
overview table of the articles on top (sortable), a label filter, a chip toggle that prints each sentence's labels, print
CSS that keeps the colours, dark mode and a one-column phone layout.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any, TextIO

from ..tasks import Task
from .inputs import Article

MARKERS = {"negative": "▼", "neutral": "•", "positive": "▲"}
CSS = """:root{--bg:#fafafa;--card:#fff;--ink:#222;--muted:#666;--line:#ddd;--soft:#f4f4f6}
@media (prefers-color-scheme:dark){:root{--bg:#16171a;--card:#202226;--ink:#e8e8ea;--muted:#a0a0a8;--line:#3a3c42;
--soft:#2a2c31}}
body{font:16px/1.6 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--ink);background:var(--bg);margin:0}
main{max-width:960px;margin:0 auto;padding:24px;display:flex;flex-direction:column}
/* the overview is written after the articles (they stream) but shown first: flex order, no script needed */
header{order:-2}.overview-box{order:-1}h1{font-size:1.4em;margin:0 0 4px}.meta{color:var(--muted);margin:0 0 16px;overflow-wrap:anywhere}
.legend,.controls{display:flex;flex-wrap:wrap;gap:6px 16px;align-items:center;padding:10px 14px;background:var(--card);
border:1px solid var(--line);border-radius:8px;font-size:.9em;margin-bottom:8px}.sw{display:inline-block;width:14px;
height:14px;border-radius:3px;vertical-align:-2px;margin-right:6px}article{background:var(--card);border:1px solid var(--line);
border-radius:8px;margin:20px 0;padding:18px 22px}h2{font-size:1.15em;margin:0 0 10px;overflow-wrap:anywhere}.id{font-size:.8em;color:var(--muted);margin:-8px 0 10px;overflow-wrap:anywhere}
.summary{background:var(--soft);border-radius:6px;padding:12px 14px}.bar{display:flex;height:14px;border-radius:7px;
overflow:hidden;margin:8px 0;background:#e4e4e4}.counts{display:flex;flex-wrap:wrap;gap:14px;font-size:.9em}
.badge{color:#fff;border-radius:4px;padding:1px 8px;font-weight:600}.tops{display:grid;grid-template-columns:1fr 1fr;
gap:16px;font-size:.9em}.tops h3{font-size:1em;margin:10px 0 4px}.tops ol{margin:0;padding-left:20px}
.tops a{color:inherit;text-decoration:none}.tops small,.chip{color:var(--muted)}.text p{margin:12px 0}
.s{border-radius:3px;padding:1px;box-decoration-break:clone;-webkit-box-decoration-break:clone}.s:target{outline:2px solid var(--ink)}
.m{font-size:.8em;margin-left:2px}.chip{display:none;font-size:.72em;font-family:ui-monospace,monospace;margin-left:3px}
body.chips .chip{display:inline}.hidden{display:none}
.overview-box{margin:12px 0 0;overflow-x:auto}.overview-box h2{margin:8px 0}
table.overview{border-collapse:collapse;width:100%;font-size:.9em;background:var(--card)}.overview a{color:inherit}
.overview th,.overview td{border:1px solid var(--line);padding:4px 8px;text-align:left}.overview th{cursor:pointer;
background:var(--soft)}.overview td.num{text-align:right;font-variant-numeric:tabular-nums}
@media (max-width:600px){main{padding:10px}.tops{grid-template-columns:1fr}article{padding:12px}}
@media print{*{-webkit-print-color-adjust:exact;print-color-adjust:exact}.controls{display:none}.chip{display:inline}
article{break-inside:auto;border:none}body{background:#fff;color:#000}
.overview-box{overflow:visible}table.overview{font-size:.72em}.overview th,.overview td{padding:2px 4px}
.overview tr,.summary{break-inside:avoid}h2,.id{break-after:avoid}}"""
SCRIPT = """document.getElementById('chips').onchange=e=>document.body.classList.toggle('chips',e.target.checked);
document.getElementById('filter').onchange=e=>{const v=e.target.value;document.querySelectorAll('.s').forEach(s=>
s.classList.toggle('hidden',v!==''&&!s.classList.contains('l-'+v)));};
document.querySelectorAll('table.overview th').forEach((th,i)=>th.onclick=()=>{const b=th.closest('table').tBodies[0];
const rows=[...b.rows];const num=th.dataset.num==='1';const dir=th.dataset.dir==='1'?-1:1;th.dataset.dir=dir===1?'1':'0';
rows.sort((a,c)=>{const x=a.cells[i].dataset.v||a.cells[i].textContent,y=c.cells[i].dataset.v||c.cells[i].textContent;
return (num?(parseFloat(x)-parseFloat(y)):x.localeCompare(y))*dir;});rows.forEach(r=>b.appendChild(r));});"""


def rgb(task: Task, label: str, alpha: float = 1.0) -> str:
    """CSS colour of a label, optionally translucent."""
    red, green, blue = task.colour(label)
    return f"rgba({red},{green},{blue},{alpha:.2f})" if alpha < 1 else f"rgb({red},{green},{blue})"


def shade(label: str, confidence: float, labels: int = 3) -> float:
    """Background opacity: faint near chance, strong near certainty; the neutral label stays lighter."""
    chance = 1 / labels
    strength = min(1.0, max(0.0, (confidence - chance) / (1 - chance)))
    return round((0.10 + 0.38 * strength) * (0.5 if label == "neutral" else 1.0), 2)  # text stays readable


def dominant_rule(task: Task) -> str:
    """The summary rule, in words, for the badge's tooltip."""
    first, second = task.sides
    rest = task.rest[0] if task.rest else first
    return f"{first}/{second}: those sentences >= 20% and that side has more of them; else {rest}"


class HtmlWriter:
    """One self-contained page; each article is written when its last sentence has been labelled."""

    def __init__(self, stream: TextIO, tasks: Sequence[Task], model: str = "") -> None:
        self.stream, self.tasks = stream, tuple(tasks)
        self.stance = self.tasks[0]
        self.marker_task = self.tasks[1] if len(self.tasks) > 1 else None
        self.records: list[dict[str, Any]] = []
        self.overview: list[str] = []
        self.count = 0  # articles written; also numbers the anchors
        self.summary_stream = None
        swatches = "".join(f'<span><i class="sw" style="background:{rgb(self.stance, name)}"></i>{name}</span>'
                           for name in self.stance.labels)
        markers = ""
        if self.marker_task:
            markers = " · ".join(f'<span style="color:{rgb(self.marker_task, name)}">{MARKERS.get(name, "◆")}</span> '
                                 f'{name}' for name in self.marker_task.labels)
            markers = f"<span><b>{self.marker_task.name}</b> (marker after each sentence): {markers}</span>"
        options = "".join(f'<option value="{task.name}-{label}">{task.name}: {label}</option>'
                          for task in self.tasks for label in task.labels)
        title = "Stance" + (" and sentiment" if self.marker_task else "") + " per sentence"
        self.stream.write(
            f'<!DOCTYPE html>\n<html lang="de"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width,initial-scale=1"><title>{title}</title><style>{CSS}</style>'
            f'</head><body><main><header><h1>{title}: Russia–North Korea cooperation</h1>'
            f'<p class="meta">Every sentence labelled by the model <code>{html.escape(model)}</code>.</p>'
            f'<div class="legend"><b>{self.stance.name}</b> (shade){swatches}<span>stronger shade = more '
            f'confident</span>{markers}</div><div class="controls"><label><input type="checkbox" id="chips"> '
            f'show labels and probabilities</label><label>show only <select id="filter"><option value="">all '
            f'sentences</option>{options}</select></label></div></header>\n')

    def start(self, article: Article) -> None:
        """Called before the first chunk of an article."""

    def write(self, records: list[dict[str, Any]]) -> None:
        """Collect records: the summary box goes above the text, so the page waits for the whole article."""
        self.records.extend(records)

    def finish(self, article: Article, summary: dict[str, Any]) -> None:
        """Write the article: heading, summary box, shaded text."""
        self.count += 1
        anchor = f"a{self.count}"
        title = html.escape(article.title or article.id)
        # The id is what the JSONL/CSV outputs call the article; shown so a reader can match the two.
        ident = f'<p class="id">{html.escape(article.id)}</p>' if article.title and article.title != article.id else ""
        self.stream.write(f'<article id="{anchor}"><h2>{title}</h2>{ident}{self.summary_box(summary, anchor)}'
                          f'<div class="text">{self.article_text(article.text, anchor)}</div></article>\n')
        self.overview.append(self.overview_row(title, summary, anchor))
        self.records = []
        self.stream.flush()

    def overview_row(self, title: str, summary: dict[str, Any], anchor: str) -> str:
        """One row of the folder overview: dominant label and shares per task."""
        cells = [f'<td><a href="#{anchor}">{title}</a></td>', f'<td class="num">{summary["sentences"]}</td>']
        for task in self.tasks:
            block = summary[task.name]
            cells.append(f'<td>{block["dominant"]}</td>')
            cells += [f'<td class="num" data-v="{block["shares"][label]}">{block["shares"][label]:.0%}</td>'
                      for label in task.sides]
        return "<tr>" + "".join(cells) + "</tr>"

    def summary_box(self, summary: dict[str, Any], anchor: str) -> str:
        """Per task: dominant label, a bar of label shares, counts; for stance the strongest sentences."""
        parts = []
        for task in self.tasks:
            block = summary[task.name]
            dominant = block["dominant"]
            bar = "".join(f'<span style="width:{block["shares"][label] * 100:.2f}%;background:{rgb(task, label)}" '
                          f'title="{label} {block["shares"][label]:.0%}"></span>' for label in task.labels)
            counts = "".join(f'<span><i class="sw" style="background:{rgb(task, label)}"></i>{label}: '
                             f'{block["counts"][label]} ({block["shares"][label]:.0%})</span>' for label in task.labels)
            parts.append(f'<div>Dominant {task.name}: <span class="badge" style="background:{rgb(task, dominant)}" '
                         f'title="{html.escape(dominant_rule(task))}">{dominant}</span></div><div class="bar">{bar}'
                         f'</div><div class="counts">{counts}</div>')
        tops = ""
        for side in self.stance.sides:
            items = "".join(f'<li><a href="#{anchor}-s{item["sentence"]}">{html.escape(item["text"])}</a> '
                            f'<small>p={item["probability"]:.2f}</small></li>' for item in summary[self.stance.name][f"most_{side}"])
            tops += f'<div><h3>Most {side}</h3>{f"<ol>{items}</ol>" if items else "<p>none</p>"}</div>'
        return (f'<section class="summary"><div>{summary["sentences"]} sentences</div>{"".join(parts)}'
                f'<div class="tops">{tops}</div></section>')

    def sentence_html(self, record: dict[str, Any], anchor: str) -> str:
        """One sentence: shaded by stance, underlined when it takes a side, sentiment marker and label chip."""
        task, number = self.stance, record["sentence"]
        label = record[task.name]
        tip = f"#{number} " + " | ".join(
            f"{t.name} {record[t.name]}: " + " · ".join(f"{name} {record[f'p_{t.name}_{name}']:.2f}" for name in t.labels)
            for t in self.tasks)
        # The underline keeps a stance readable even when low confidence leaves only a faint shade.
        line = "" if label in task.rest else f";border-bottom:2px solid {rgb(task, label)}"
        classes = " ".join(f"l-{t.name}-{record[t.name]}" for t in self.tasks)
        chip_parts = [f"{record[t.name]} {record[f'{t.name}_confidence']:.2f}" for t in self.tasks]
        marker = ""
        if self.marker_task:
            value = record[self.marker_task.name]
            marker = (f'<span class="m" style="color:{rgb(self.marker_task, value)}" aria-label="{value}">'
                      f'{MARKERS.get(value, "◆")}</span>')
        alpha = shade(label, record[f"{task.name}_confidence"], len(task.labels))
        return (f'<span class="s {classes}" id="{anchor}-s{number}" style="background:{rgb(task, label, alpha)}{line}" '
                f'title="{html.escape(tip)}">{html.escape(record["text"])}{marker}<span class="chip">['
                f'{" · ".join(chip_parts)}]</span></span>')

    def article_text(self, text: str, anchor: str) -> str:
        """The article with every sentence marked; paragraphs follow the line breaks of the input."""
        paragraphs: list[list[str]] = [[]]
        position = 0
        for record in self.records:
            # Sentences are cut from the text unchanged, so find() recovers the gaps between them.
            found = text.find(record["text"], position)
            if found >= 0:
                if "\n" in text[position:found] and paragraphs[-1]:
                    paragraphs.append([])
                position = found + len(record["text"])
            paragraphs[-1].append(self.sentence_html(record, anchor))
        return "".join(f"<p>{' '.join(sentences)}</p>" for sentences in paragraphs if sentences)

    def close(self) -> None:
        """The overview table (for more than one article), the script, and the end of the page."""
        if not self.count:
            self.stream.write("<p>No article could be read.</p>")
        if self.count > 1:
            heads = ['<th>article</th>', '<th data-num="1">sentences</th>']
            for task in self.tasks:
                heads.append(f"<th>dominant {task.name}</th>")
                heads += [f'<th data-num="1">{side}</th>' for side in task.sides]
            self.stream.write(f'<section class="overview-box"><h2>Overview ({self.count} articles; click a column '
                              f'to sort)</h2><table class="overview"><thead><tr>{"".join(heads)}</tr></thead><tbody>'
                              f'{"".join(self.overview)}</tbody></table></section>')
        self.stream.write(f"</main><script>{SCRIPT}</script></body></html>\n")
        self.stream.flush()
