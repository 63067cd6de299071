"""Tests for german_stance.sentences.split_sentences (offline, fast)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from german_stance.data.sentences import split_sentences

ROOT = Path(__file__).resolve().parents[1]

# Boundary F1 of the wrapper measured by benchmarks/splitter_comparison.py on
# data/eval/splitter_passages.jsonl; the margin tolerates ~4 of 212 boundaries.
MEASURED_F1 = 0.998
MARGIN = 0.01

# Cases written for these tests (not taken from the eval set), one or more per
# category of the benchmark.
CASES = [
    pytest.param(  # ordinals and dates
        "Am 3. Oktober reiste die Delegation ab. Der 1. FC Köln spielt in der 2. Liga.",
        ["Am 3. Oktober reiste die Delegation ab.", "Der 1. FC Köln spielt in der 2. Liga."],
        id="ordinals_dates",
    ),
    pytest.param(  # a year at the sentence end is a boundary, not an ordinal
        "Der Vertrag stammt aus dem Jahr 1961. Er wurde nie gekündigt.",
        ["Der Vertrag stammt aus dem Jahr 1961.", "Er wurde nie gekündigt."],
        id="year_at_sentence_end",
    ),
    pytest.param(
        "Geliefert werden u. a. Granaten, z. B. Kaliber 152 mm, bzw. Raketen. Prof. Dr. Lee von der "
        "St. Andrews-Universität sieht darin, d. h. in Art. 4 Abs. 1, einen Bruch.",
        [
            "Geliefert werden u. a. Granaten, z. B. Kaliber 152 mm, bzw. Raketen.",
            "Prof. Dr. Lee von der St. Andrews-Universität sieht darin, d. h. in Art. 4 Abs. 1, einen Bruch.",
        ],
        id="abbreviations",
    ),
    pytest.param(
        "Verboten sind Öl, Kohle, Textilien usw. Die Liste wächst.",
        ["Verboten sind Öl, Kohle, Textilien usw.", "Die Liste wächst."],
        id="abbreviation_ends_sentence",
    ),
    pytest.param(
        "„Wir lassen uns nicht einschüchtern. Die Antwort wird kommen.“ Das erklärte das Ministerium.",
        ["„Wir lassen uns nicht einschüchtern.", "Die Antwort wird kommen.“", "Das erklärte das Ministerium."],
        id="quotes_german",
    ),
    pytest.param(
        "«Das ist inakzeptabel.» Bern bestellte den Botschafter ein. Er nannte es \"Routine\". Mehr nicht.",
        ["«Das ist inakzeptabel.»", "Bern bestellte den Botschafter ein.", "Er nannte es \"Routine\".", "Mehr nicht."],
        id="quotes_guillemets_ascii",
    ),
    pytest.param(
        "„Wer hat das erlaubt?“, fragte die Abgeordnete. Niemand antwortete.",
        ["„Wer hat das erlaubt?“, fragte die Abgeordnete.", "Niemand antwortete."],
        id="question_in_quote_no_split",
    ),
    pytest.param(
        "Die Lage ist klar: Moskau braucht Munition; Pjöngjang braucht Devisen. Beide profitieren.",
        ["Die Lage ist klar: Moskau braucht Munition; Pjöngjang braucht Devisen.", "Beide profitieren."],
        id="colon_semicolon",
    ),
    pytest.param(
        "Kim reist nach Moskau\nDer Sonderzug hat die Grenze passiert. Die Fahrt dauert Tage.",
        ["Kim reist nach Moskau", "Der Sonderzug hat die Grenze passiert.", "Die Fahrt dauert Tage."],
        id="newline_headline",
    ),
    pytest.param(
        "Hintergrund\r\n\r\nDer Vertrag gilt seit Dezember.",
        ["Hintergrund", "Der Vertrag gilt seit Dezember."],
        id="one_word_headline_crlf",
    ),
    pytest.param(
        "Seoul ist alarmiert.Die Regierung tagt.Über Details wurde nichts bekannt.",
        ["Seoul ist alarmiert.", "Die Regierung tagt.", "Über Details wurde nichts bekannt."],
        id="run_together",
    ),
    pytest.param(
        "Rund 1.500 Soldaten und 3,5 Mrd. Euro sind im Spiel. Die Quote lag bei 4,25 %. Ende.",
        ["Rund 1.500 Soldaten und 3,5 Mrd. Euro sind im Spiel.", "Die Quote lag bei 4,25 %.", "Ende."],
        id="numbers_decimals",
    ),
    pytest.param(  # wrapper post-processing: a decimal number is never an ordinal
        "Der Index schloss bei 2.431,7. Händler blieben vorsichtig.",
        ["Der Index schloss bei 2.431,7.", "Händler blieben vorsichtig."],
        id="decimal_ends_sentence",
    ),
    pytest.param(
        "Und dann ... nichts. Was nun? Niemand weiß es! Die Gespräche ruhen … Ein Ende ist offen.",
        ["Und dann ... nichts.", "Was nun?", "Niemand weiß es!", "Die Gespräche ruhen …", "Ein Ende ist offen."],
        id="ellipsis_question_exclamation",
    ),
    pytest.param(
        "Die Rakete (Typ Hwasong-18) flog 73 Minuten. (Japan protestierte.) Seoul schwieg.",
        ["Die Rakete (Typ Hwasong-18) flog 73 Minuten.", "(Japan protestierte.)", "Seoul schwieg."],
        id="parentheses",
    ),
    pytest.param(
        "Kim Jong Un traf J. D. Vance nicht. George W. Bush hatte Pjöngjang einst kritisiert.",
        ["Kim Jong Un traf J. D. Vance nicht.", "George W. Bush hatte Pjöngjang einst kritisiert."],
        id="initials_names",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_tricky_cases(text: str, expected: list[str]) -> None:
    """Each benchmark category has at least one hand-checked case."""
    assert split_sentences(text) == expected


@pytest.mark.parametrize("text", ["", " ", "\n\n", "\t \r\n "])
def test_empty_input(text: str) -> None:
    """Empty or whitespace-only input gives no sentences."""
    assert split_sentences(text) == []


def test_output_is_stripped_and_complete() -> None:
    """Sentences are stripped, non-empty and together keep every visible character."""
    text = "  Erste Zeile  \n\n  Zweiter Satz.   Dritter Satz!  "
    out = split_sentences(text)
    assert out == ["Erste Zeile", "Zweiter Satz.", "Dritter Satz!"]
    assert "".join(text.split()) == "".join("".join(out).split())


def test_single_sentence_without_punctuation() -> None:
    """Text without any sentence-final mark is one sentence."""
    assert split_sentences("Nordkorea und Russland vertiefen Zusammenarbeit") == [
        "Nordkorea und Russland vertiefen Zusammenarbeit"
    ]


def _load_benchmark():
    """Import benchmarks/splitter_comparison.py by path, so the test scores exactly as it does."""
    spec = importlib.util.spec_from_file_location("splitter_comparison", ROOT / "benchmarks" / "splitter_comparison.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_boundary_f1_on_eval_passages() -> None:
    """The wrapper keeps the boundary F1 measured on data/eval/splitter_passages.jsonl."""
    bench = _load_benchmark()
    passages = bench.load_passages(ROOT / "data" / "eval" / "splitter_passages.jsonl")
    assert len(passages) >= 120
    score = bench.Score()
    for row in passages:
        gold = bench.boundaries(row["text"], row["sentences"])
        score.add(gold, bench.boundaries(row["text"], split_sentences(row["text"])))
    assert score.f1 >= MEASURED_F1 - MARGIN, f"boundary F1 {score.f1:.3f} (P {score.p:.3f}, R {score.r:.3f})"
