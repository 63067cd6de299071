"""Screenshots and layout checks of the evaluation report and the predict view in headless Chromium.

Usage: ``python scripts/screenshots.py --model runs/default --out docs/screenshots``

With ``--model`` it first writes the view of ``examples/articles/`` and a report on ``--data`` (default: dev and
the seed article); ``--report``/``--view`` take existing pages instead. For each page it saves PNGs at 1280 px
(desktop) and 390 px (phone), top and at one anchor further down, and the printed PDF (A4) as a sheet of its
first pages. It also measures, with a script injected into a copy of the page, whether anything sticks out
to the right at 1280 px, at 390 px and in the print layout (A4 text width, 703 px): the page's scroll width,
and elements wider than the page that are not inside a scrolling box. Exit 0 when nothing sticks out, 1 when
something does, 2 when Chromium or pdftoppm is missing.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=1",
         "--force-color-profile=srgb"]
PRINT_WIDTH = 703  # A4 (210 mm) minus the report's 12 mm side margins, in CSS pixels at 96 dpi
MIN_WINDOW = 500  # headless Chromium widens narrower windows to this; phone widths are rendered in an iframe
MEASURE = """<script>addEventListener('load',()=>{const d=document.documentElement,w=d.clientWidth;
const out=[...document.querySelectorAll('table,img,pre,figure,h1,h2,h3,p,nav,section,article')].filter(e=>
e.getBoundingClientRect().right>w+1&&!e.closest(SCROLLING)).map(e=>e.tagName+'.'+e.className+' '+
Math.round(e.getBoundingClientRect().right));const errors=[...document.querySelectorAll('table.errors')].map(e=>
Math.round(e.getBoundingClientRect().right));document.body.setAttribute('data-layout',JSON.stringify(
{width:w,scroll:d.scrollWidth,out:out.slice(0,5),errors_right:errors.length?Math.max(...errors):null}));
parent.postMessage(document.body.getAttribute('data-layout'),'*');});</script>"""
FRAME = """<!DOCTYPE html><html><body style="margin:0"><iframe src="{src}" style="width:{width}px;height:{height}px;border:0;
display:block"></iframe><script>addEventListener('message',e=>document.body.setAttribute('data-layout',e.data));
</script></body></html>"""


def framed(page_uri: str, width: int, height: int, folder: Path) -> Path:
    """A wrapper page that shows ``page_uri`` in a ``width`` px iframe, so media queries see ``width``."""
    wrapper = folder / f"frame-{width}.html"
    wrapper.write_text(FRAME.format(src=page_uri, width=width, height=height), encoding="utf-8")
    return wrapper


def chromium(binary: str, *arguments: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run headless Chromium with a throwaway profile."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *arguments], capture_output=True,
                              text=True, timeout=timeout, check=False)


def screenshot(binary: str, page: Path, png: Path, width: int, height: int, anchor: str = "") -> None:
    """A ``width`` x ``height`` screenshot of ``page``, scrolled to ``anchor`` when given."""
    from PIL import Image

    url = page.resolve().as_uri() + (f"#{anchor}" if anchor else "")
    if width >= MIN_WINDOW and not anchor:
        chromium(binary, f"--screenshot={png.resolve()}", f"--window-size={width},{height}",
                 "--virtual-time-budget=3000", url)
        return
    # Narrow widths and anchors go through an iframe: the window cannot be narrower than MIN_WINDOW, and a
    # top-level page shot at a #fragment came out blank.
    with tempfile.TemporaryDirectory() as scratch:
        wrapper = framed(url, width, height, Path(scratch))
        chromium(binary, f"--screenshot={png.resolve()}", f"--window-size={max(width, MIN_WINDOW)},{height}",
                 "--virtual-time-budget=3000", wrapper.as_uri())
    Image.open(png).crop((0, 0, width, height)).save(png)


def print_sheet(binary: str, page: Path, png: Path, pages: int = 4, dpi: int = 50) -> int:
    """Print ``page`` to PDF (A4) and save its first ``pages`` pages side by side; return the page count."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as scratch:
        pdf = Path(scratch) / "page.pdf"
        chromium(binary, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.resolve().as_uri())
        if not pdf.is_file():
            raise RuntimeError(f"expected Chromium to print {page} to PDF, found no PDF")
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        count = int(re.search(r"Pages:\s+(\d+)", info).group(1))
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", str(pages), str(pdf),
                        str(Path(scratch) / "p")], check=True)
        images = [Image.open(path).convert("RGB") for path in sorted(Path(scratch).glob("p-*.png"))]
        sheet = Image.new("RGB", (sum(i.width for i in images) + 10 * (len(images) - 1),
                                  max(i.height for i in images)), (150, 150, 150))
        left = 0
        for image in images:
            sheet.paste(image, (left, 0))
            left += image.width + 10
        sheet.save(png)
    return count


def measure(binary: str, page: Path, width: int, as_print: bool = False) -> dict:
    """Layout numbers of ``page`` at ``width`` (print: the ``@media print`` rules applied on screen)."""
    markup = page.read_text(encoding="utf-8")
    if as_print:
        markup = markup.replace("@media print", "@media all")
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / page.name
        # On screen, wide tables may scroll inside their box; on paper nothing scrolls, so nothing is exempt.
        script = MEASURE.replace("SCROLLING", "'#none'" if as_print else "'.wide,.overview-box,pre'")
        copy.write_text(markup.replace("</body>", script + "</body>"), encoding="utf-8")
        wrapper = framed(copy.as_uri(), width, 900, Path(scratch))
        done = chromium(binary, "--dump-dom", "--virtual-time-budget=5000", "--allow-file-access-from-files",
                        f"--window-size={max(width, MIN_WINDOW) + 20},900", wrapper.as_uri())
    found = re.search(r"<body[^>]*data-layout=\"([^\"]*)\"", done.stdout)
    if not found:
        raise RuntimeError(f"expected the layout numbers of {page} in Chromium's DOM, found none: {done.stderr[-300:]}")
    return json.loads(found.group(1).replace("&quot;", '"'))


def make_pages(model: str, data: list[str], folder: Path) -> tuple[Path, Path]:
    """Write the example view and a report with ``german-stance``; return (report, view)."""
    from german_stance.cli import main

    view = folder / "stances.html"
    if main(["--quiet", "predict", "--model", model, "examples/articles/", "-o", str(view)]) != 0:
        raise RuntimeError("predict failed; see above")
    arguments = ["--quiet", "evaluate", "--model", model, "--out", str(folder / "report")]
    for path in data:
        arguments += ["--data", path]
    if main(arguments) != 0:
        raise RuntimeError("evaluate failed; see above")
    return folder / "report" / "report.html", view


def first_anchor(page: Path, pattern: str) -> str:
    """The id of the first element whose id matches ``pattern`` ("" when none)."""
    found = re.search(rf"id=['\"]({pattern})['\"]", page.read_text(encoding="utf-8"))
    return found.group(1) if found else ""


def main(argv: list[str] | None = None) -> int:
    """Render, shoot, measure; print one line per check; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="run folder: write the example view and a report first")
    parser.add_argument("--data", action="append", help="labelled JSONL for the report (repeatable; with --model)")
    parser.add_argument("--report", type=Path, help="an existing report.html")
    parser.add_argument("--view", type=Path, help="an existing predict HTML page")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"), help="PNG folder (default: %(default)s)")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium binary (default: %(default)s)")
    args = parser.parse_args(argv)
    for tool in (args.chromium, "pdftoppm", "pdfinfo"):
        if not shutil.which(tool):
            print(f"expected {tool}, found nothing; apt-get install -y chromium poppler-utils", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory() as scratch:
        report, view = args.report, args.view
        if args.model:
            report, view = make_pages(args.model, args.data or ["data/dev.jsonl", "data/eval/seed_article.jsonl"],
                                      Path(scratch))
        if not report or not view:
            parser.error("pass --model, or both --report and --view")
        args.out.mkdir(parents=True, exist_ok=True)
        problems = []
        anchors = {"report": first_anchor(report, r"[^'\"]*misclassified[^'\"]*"), "view": first_anchor(view, r"a2")}
        for name, page in (("report", report), ("view", view)):
            for label, width, height in (("desktop", 1280, 1400), ("phone", 390, 1500)):
                screenshot(args.chromium, page, args.out / f"{name}_{label}.png", width, height)
                if anchors[name]:
                    screenshot(args.chromium, page, args.out / f"{name}_{label}_{anchors[name][:12]}.png", width,
                               height, anchors[name])
            pages = print_sheet(args.chromium, page, args.out / f"{name}_print.png")
            print(f"{name}: printed {pages} A4 page(s); first pages in {args.out / f'{name}_print.png'}")
            for label, width, as_print in (("desktop", 1280, False), ("phone", 390, False),
                                           ("print", PRINT_WIDTH, True)):
                layout = measure(args.chromium, page, width, as_print)
                ok = layout["scroll"] <= layout["width"] and not layout["out"]
                print(f"{name} {label} ({width} px): page scroll width {layout['scroll']} for {layout['width']}; "
                      f"errors table right edge {layout['errors_right']}; sticking out: {layout['out'] or 'nothing'}"
                      f" -> {'ok' if ok else 'OVERFLOW'}")
                if not ok:
                    problems.append(f"{name} {label}")
    print(f"screenshots in {args.out}" + (f"; overflow in: {', '.join(problems)}" if problems else "; no overflow"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
