"""Render a ``german-stance predict`` HTML page in headless Chromium and check the screenshot is not blank.

Usage: ``python scripts/check_html_view.py stances.html --screenshot shot.png``

Passes (exit 0) when the PNG exists, has many distinct colours, and shows all three stance colours
(legend swatches and summary bars are drawn at full strength). Exit 1 when the check fails,
2 when Chromium or the HTML file is missing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Same colours as german_stance.render.STANCE_RGB; repeated so the check does not trust the code it checks.
STANCE_RGB = {"critical": (213, 94, 0), "neutral": (136, 136, 136), "supportive": (0, 114, 178)}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


def take_screenshot(html_file: Path, png: Path, chromium: str = "/usr/bin/chromium",
                    size: str = "1200,1400", timeout: float = 120) -> None:
    """Render ``html_file`` with headless Chromium into ``png``."""
    with tempfile.TemporaryDirectory() as profile:
        command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png.resolve()}",
                   f"--window-size={size}", html_file.resolve().as_uri()]
        subprocess.run(command, check=False, capture_output=True, timeout=timeout)


def check_png(png: Path, min_colours: int = 50, min_pixels: int = 40, tolerance: int = 12) -> list[str]:
    """Return the problems found in the screenshot (empty when it looks like a rendered page)."""
    from PIL import Image

    if not png.is_file() or png.stat().st_size == 0:
        return [f"expected a screenshot at {png}, found none; see Chromium's output above"]
    image = Image.open(png).convert("RGB")
    # A rendered page has text anti-aliasing, shades and bars: hundreds of colours; a blank one has a few.
    colours = image.getcolors(maxcolors=1 << 24) or []
    problems = []
    if len(colours) < min_colours:
        problems.append(f"expected a rendered page with >= {min_colours} colours, found {len(colours)} "
                        "(blank or unstyled page?)")
    for label, target in STANCE_RGB.items():
        hits = sum(count for count, rgb in colours if all(abs(a - b) <= tolerance for a, b in zip(rgb, target)))
        if hits < min_pixels:
            problems.append(f"expected the {label} colour rgb{target} on >= {min_pixels} pixels, found {hits}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Screenshot the page, check it, print the verdict; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="HTML file written by german-stance predict --format html")
    parser.add_argument("--screenshot", type=Path, help="where to keep the PNG (default: a temporary file)")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium binary (default: %(default)s)")
    parser.add_argument("--window-size", default="1200,1400", help="width,height (default: %(default)s)")
    args = parser.parse_args(argv)
    if not args.html.is_file():
        print(f"expected an HTML file at {args.html}, found nothing; write one with --format html", file=sys.stderr)
        return 2
    if not shutil.which(args.chromium):
        print(f"expected Chromium at {args.chromium}, found nothing; apt-get install -y chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        png = args.screenshot or Path(scratch) / "view.png"
        png.parent.mkdir(parents=True, exist_ok=True)
        take_screenshot(args.html, png, args.chromium, args.window_size)
        problems = check_png(png)
    for problem in problems:
        print(f"check_html_view: {problem}", file=sys.stderr)
    if not problems:
        print(f"check_html_view: ok ({png if args.screenshot else 'screenshot discarded'})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
