"""The report and the predict view hold up in headless Chromium: nothing sticks out on a phone or on paper."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from german_stance.cli import main

from conftest import REPO

pytestmark = pytest.mark.skipif(not shutil.which("/usr/bin/chromium"), reason="needs Debian's chromium")


def test_report_and_view_fit_phone_and_print(trained_run: Path, toy_data: dict, tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    from screenshots import PRINT_WIDTH, measure

    report = tmp_path / "report"
    assert main(["--quiet", "evaluate", "--model", str(trained_run), "--data", str(toy_data["dev"]),
                 "--out", str(report), "--bootstrap", "20"]) == 0
    view = tmp_path / "view.html"
    assert main(["--quiet", "predict", "--model", str(trained_run), str(REPO / "examples" / "articles"),
                 "-o", str(view)]) == 0
    for page in (report / "report.html", view):
        for width, as_print in ((390, False), (PRINT_WIDTH, True)):
            layout = measure("/usr/bin/chromium", page, width, as_print)
            assert layout["width"] == width, layout  # the iframe gives the page the phone's width
            assert layout["scroll"] <= width and not layout["out"], (page.name, width, layout)
