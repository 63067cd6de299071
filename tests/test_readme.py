"""README runs as written: its config table matches ``Config``, and every predict/evaluate/compare command and
Python snippet in the sections a newcomer follows runs on the tiny model (run folders substituted)."""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import fields
from pathlib import Path
from typing import get_type_hints

import pytest
import yaml

from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
# The sections whose commands a newcomer copies after training; train commands themselves are skipped (minutes).
RUN_SECTIONS = ("Quick start", "Evaluation reports", "Predicting new articles", "Python API")


def section(name: str) -> str:
    """The text of README's ``## name`` section."""
    match = re.search(rf"^## {re.escape(name)}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    if not match:
        raise AssertionError(f"expected a '## {name}' section in README.md, found none")
    return match.group(1)


def code_blocks(text: str, language: str) -> list[str]:
    """The fenced code blocks of one language."""
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


def shell_commands(block: str) -> list[str]:
    """Commands of a bash block: continuation lines joined, trailing ``# comments`` dropped."""
    joined = re.sub(r"\\\n\s*", "", block)
    return [re.sub(r"\s+#\s.*$", "", line).strip() for line in joined.splitlines() if line.strip()]


def readme_commands() -> list[str]:
    """Every german-stance command except train, in README order."""
    commands = []
    for name in RUN_SECTIONS:
        for block in code_blocks(section(name), "bash"):
            commands += [c for c in shell_commands(block) if "german-stance" in c and " train " not in c]
    return commands


def split_top_level(cell: str) -> list[str]:
    """``4e-5, 4, [stance, sentiment]`` -> three values (commas inside brackets kept)."""
    parts, depth, current = [], 0, ""
    for char in cell:
        depth += char == "["
        depth -= char == "]"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [part.strip().strip("`") for part in parts + [current]]


def config_table() -> dict[str, str]:
    """README's config table as ``{key: default cell value}``."""
    table: dict[str, str] = {}
    for line in section("Training").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        keys = re.findall(r"`([a-z_]+)`", cells[0])
        values = split_top_level(cells[1])
        assert len(keys) == len(values), f"config row {cells[0]}: {len(keys)} keys but defaults {values}"
        for key, value in zip(keys, values):
            assert key not in table, f"{key} appears twice in README's config table"
            table[key] = value
    return table


def test_config_table_matches_the_dataclass() -> None:
    from german_stance.config import Config, _cast

    table, hints, defaults = config_table(), get_type_hints(Config), Config()
    assert set(table) == {field.name for field in fields(Config)}, "README's config table must list every key once"
    for key, cell in table.items():
        value = _cast(key, yaml.safe_load(cell) if cell != "" else "", hints[key])
        assert value == getattr(defaults, key), f"README says {key} defaults to {cell}, Config has {getattr(defaults, key)!r}"


def test_readme_names_what_the_default_config_changes() -> None:
    from german_stance.config import Config, load_config

    changed = {key: value for key, value in load_config(REPO / "configs" / "stance.yaml").to_dict().items()
               if value != getattr(Config(), key)}
    training = section("Training")
    for key, value in changed.items():
        # A scalar dumps as "6.0\n...\n" (YAML's document end); README writes the value alone.
        shown = yaml.safe_dump(value, default_flow_style=True).removesuffix("...\n").strip()
        assert f"`{key}: {shown}`" in training, key


def test_readme_commands_are_found() -> None:
    commands = readme_commands()
    assert sum(" predict " in c for c in commands) >= 5 and sum(" evaluate " in c for c in commands) >= 2
    assert any(" compare " in c for c in commands) and any(c.startswith("cat ") for c in commands)
    # Every input path a command names exists in a fresh clone.
    for command in commands:
        for word in shlex.split(command.replace("|", " ")):
            if word.startswith(("examples/", "data/")):
                assert (REPO / word).exists(), f"README names {word}, which the repository does not have"


def run_command(command: str, run: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Run one README command in this process (``german-stance`` is ``german_stance.cli:main``); return its code."""
    import io

    from german_stance.cli import main

    if "|" in command:  # `cat FILE | german-stance ...`: the file becomes standard input
        source, command = (part.strip() for part in command.split("|", 1))
        assert source.startswith("cat "), f"unexpected pipe in README command: {source}"
        data = Path(shlex.split(source)[1]).read_bytes()
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    words = shlex.split(re.sub(r"\bruns/[\w.-]+", shlex.quote(str(run)), command))
    assert words[0] == ".venv/bin/german-stance", f"README commands start with .venv/bin/german-stance: {command}"
    return main(["--quiet", *words[1:]])


def test_every_readme_command_runs(joint_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import pandas as pd

    for name in ("data", "examples"):
        (tmp_path / name).symlink_to(REPO / name)
    monkeypatch.chdir(tmp_path)  # outputs (stances.*, reports/) land here, inputs come from the repository
    for command in readme_commands():
        code = run_command(command, joint_run, monkeypatch)
        assert code == 0, f"README command failed: {command}\n{capsys.readouterr().err[-2000:]}"
    for block in (code for name in RUN_SECTIONS for code in code_blocks(section(name), "python")):
        exec(compile(block.replace('"runs/default"', repr(str(joint_run))), "README.md", "exec"), {})
    # What the commands wrote: one row per sentence that loads in one call, and the pages and reports.
    articles = sorted(path.name for path in (REPO / "examples" / "articles").iterdir())
    for frame in (pd.read_csv("stances.csv"), pd.read_json("stances.jsonl", lines=True)):
        assert not frame.isna().all().any() and frame["sentence"].dtype.kind == "i"
        assert {"article", "stance", "p_stance_critical", "sentiment", "text"} <= set(frame.columns)
    assert pd.read_csv("stances.summary.csv")["article"].tolist() == articles and len(articles) == 3
    assert Path("stances.html").read_text(encoding="utf-8").count("<article") == 3
    for report in ("reports/mine/report.html", "reports/mine/predictions.csv", "reports/seeds/report.md",
                   "reports/compare-mine/comparison.md"):
        assert Path(report).is_file(), report
