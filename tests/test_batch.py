"""Corpus-scale prediction: shard plans, shard labelling, and predict-batch on a local Ray with two actors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from german_stance import StanceClassifier
from german_stance.cli import main
from german_stance.inference.batch import label_shard
from german_stance.inference.inputs import Article
from german_stance.inference.pipeline import label_article, label_articles, label_stream
from german_stance.inference.shards import plan_digest, plan_shards, read_shard

from conftest import REPO, TOY_ROWS

TEXTS = [text for *_, text in TOY_ROWS]


def corpus(count: int) -> list[dict]:
    """``count`` articles of 2 to 6 toy sentences, some as one line, some as paragraphs."""
    rows = []
    for index in range(count):
        sentences = [TEXTS[(index * 5 + step) % len(TEXTS)] for step in range(2 + index % 5)]
        rows.append({"id": f"art-{index:03d}", "text": ("\n\n" if index % 3 else " ").join(sentences)})
    return rows


def write_corpus(path: Path, rows: list[dict], corrupt: dict[int, str] | None = None) -> Path:
    """Rows as JSON lines, with raw ``corrupt`` lines put in at the given line indexes."""
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    for index, raw in sorted((corrupt or {}).items()):
        lines.insert(index, raw)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def plain_predict(run: Path, source: Path, output: Path) -> tuple[list[dict], list[dict]]:
    """Sentence records and article summaries from plain ``german-stance predict``."""
    main(["--quiet", "predict", "--model", str(run), "--device", "cpu", str(source), "-o", str(output)])
    read = lambda path: [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]  # noqa: E731
    return read(output), read(output.with_suffix(".summary.jsonl"))


LABEL_KEYS = ("article", "sentence", "text", "stance", "sentiment")


def test_shard_plan_covers_every_line_once_and_reports_bad_rows(tmp_path: Path) -> None:
    source = write_corpus(tmp_path / "a.jsonl", corpus(23), {4: "{kaputt", 9: '{"id": "leer", "text": "  "}', 12: ""})
    plan = plan_shards([str(source)], shard_size=5)
    assert [shard["shard"] for shard in plan] == [f"shard-{n:05d}" for n in range(6)]  # 26 lines
    articles, errors = [], []
    for shard in plan:
        found, bad = read_shard(shard)
        articles += found
        errors += bad
    assert [article.id for article in articles] == [f"art-{n:03d}" for n in range(23)]
    assert [(error["shard"], error["source"].rsplit(":", 1)[1]) for error in errors] == [
        ("shard-00000", "5"), ("shard-00001", "10")]  # the blank line 13 is no error
    assert "invalid JSON" in errors[0]["error"] and "non-empty" in errors[1]["error"]
    assert plan_digest(plan) == plan_digest(plan_shards([str(source)], 5)) != plan_digest(plan_shards([str(source)], 6))


def test_parquet_and_folder_sources(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = corpus(7)
    table = pa.table({"id": [row["id"] for row in rows[:6]] + [None], "text": [row["text"] for row in rows[:5]] + [None, "42 %"]})
    pq.write_table(table, tmp_path / "a.parquet", row_group_size=3)
    folder = tmp_path / "texts"
    folder.mkdir()
    for row in rows[:3]:
        (folder / f"{row['id']}.txt").write_text(row["text"], encoding="utf-8")
    (folder / "leer.txt").write_text("", encoding="utf-8")
    plan = plan_shards([str(tmp_path / "a.parquet"), str(folder)], shard_size=4)
    assert [(shard["kind"], shard.get("start"), shard.get("stop")) for shard in plan] == [
        ("parquet", 0, 4), ("parquet", 4, 7), ("files", None, None)]
    results = [read_shard(shard) for shard in plan]
    assert [article.id for article in results[0][0] + results[1][0]] == [row["id"] for row in rows[:5]]
    assert [error["source"].split()[-1] for error in results[1][1]] == ["6", "7"]  # null text, no letters
    assert [Path(article.id).name for article in results[2][0]] == ["art-000.txt", "art-001.txt", "art-002.txt"]
    assert [Path(error["source"]).name for error in results[2][1]] == ["leer.txt"]
    with pytest.raises(FileNotFoundError, match="expected a .jsonl or .parquet file"):
        plan_shards([str(tmp_path / "missing.jsonl")], 4)


def test_label_articles_equals_label_article(joint_run: Path) -> None:
    classifier = StanceClassifier.from_run(joint_run, device="cpu")
    articles = [Article(row["id"], row["text"]) for row in corpus(9)]
    one_by_one = [[record for chunk in label_article(classifier, article) for record in chunk] for article in articles]
    together = list(label_articles(classifier, articles, chunk_size=7))  # forward calls cut across articles
    assert [article for article, _ in together] == articles
    for expected, (_, records) in zip(one_by_one, together):
        assert [{k: r[k] for k in LABEL_KEYS} for r in records] == [{k: r[k] for k in LABEL_KEYS} for r in expected]


def test_label_stream_groups_short_articles_and_streams_long_ones(joint_run: Path) -> None:
    classifier = StanceClassifier.from_run(joint_run, device="cpu")
    articles = [Article(row["id"], row["text"]) for row in corpus(6)]
    long_text = " ".join(row["text"] for row in corpus(6))
    articles.insert(3, Article("long", long_text))
    calls = []
    original = classifier.predict_records

    def counted(texts, *args, **kwargs):
        calls.append(len(texts))
        return original(texts, *args, **kwargs)
    classifier.predict_records = counted
    # Groups: articles 0-2 in one forward call; "long" (over group_chars) streams on its own; then the last three.
    stream = list(label_stream(classifier, articles, group_chars=len(long_text) - 1, first_group_chars=10 ** 6))
    finished = [article.id for article, _records, done in stream if done]
    assert finished == [article.id for article in articles]
    assert all(article.id == "long" for article, records, done in stream if not done)
    classifier.predict_records = original
    for article in articles:
        expected = [record for chunk in label_article(classifier, article) for record in chunk]
        found = [record for item, records, _done in stream if item.id == article.id for record in records]
        assert [{k: r[k] for k in LABEL_KEYS} for r in found] == [{k: r[k] for k in LABEL_KEYS} for r in expected]
    sizes = [len([record for chunk in label_article(classifier, article) for record in chunk]) for article in articles]
    assert calls[0] == sum(sizes[:3]) and calls[-1] == sum(sizes[4:])  # three short articles per forward call


def test_label_shard_matches_plain_predict(joint_run: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    rows = corpus(12)
    sentences, summaries = plain_predict(joint_run, write_corpus(tmp_path / "a.jsonl", rows), tmp_path / "plain.jsonl")
    for folder in ("sentences", "articles", "errors"):
        (tmp_path / "out" / folder).mkdir(parents=True)
    classifier = StanceClassifier.from_run(joint_run, device="cpu")
    stats = label_shard(classifier, "shard-00000", [Article(row["id"], row["text"]) for row in rows], [],
                        tmp_path / "out")
    assert (stats["articles"], stats["sentences"], stats["errors"]) == (12, len(sentences), 0)
    batch = pq.read_table(tmp_path / "out" / "sentences" / "shard-00000.parquet").to_pylist()
    assert [{k: r[k] for k in LABEL_KEYS} for r in batch] == [{k: r[k] for k in LABEL_KEYS} for r in sentences]
    assert list(batch[0]) == list(sentences[0])  # the same columns as predict's JSONL
    articles = pq.read_table(tmp_path / "out" / "articles" / "shard-00000.parquet").to_pylist()
    assert [(a["article"], a["dominant_stance"], a["n_stance_critical"], a["dominant_sentiment"]) for a in articles] == [
        (s["article"], s["stance"]["dominant"], s["stance"]["counts"]["critical"], s["sentiment"]["dominant"])
        for s in summaries]
    assert not (tmp_path / "out" / "errors" / "shard-00000.jsonl").exists()


def test_plain_predict_needs_no_ray_and_predict_batch_says_how_to_get_it(joint_run: Path, tmp_path: Path) -> None:
    source = write_corpus(tmp_path / "a.jsonl", corpus(3))
    script = ("import sys; sys.modules['ray'] = None\n"  # as if Ray were not installed
              "from german_stance.cli import main\n"
              f"code = main(['--quiet', 'predict', '--model', {str(joint_run)!r}, {str(source)!r}, '-o', "
              f"{str(tmp_path / 'out.jsonl')!r}])\n"
              f"batch = main(['--quiet', 'predict-batch', '--model', {str(joint_run)!r}, {str(source)!r}, '-o', "
              f"{str(tmp_path / 'batch')!r}])\n"
              "print(code, batch)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.stdout.split() == ["0", "2"], result.stderr
    assert 'expected Ray Data for predict-batch, found it not installed; pip install -e ".[ray]"' in result.stderr
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) > 3


@pytest.mark.slow
def test_ray_two_actors_match_plain_predict_and_rerun_redoes_only_a_missing_shard(joint_run: Path,
                                                                                   tmp_path: Path) -> None:
    pytest.importorskip("ray.data")
    import pyarrow.parquet as pq

    rows = corpus(200)
    source = write_corpus(tmp_path / "corpus.jsonl", rows, {30: "{kaputt", 101: '{"id": "ohne-text"}'})
    sentences, summaries = plain_predict(joint_run, source, tmp_path / "plain.jsonl")
    out = tmp_path / "batch"
    argv = ["--quiet", "predict-batch", "--model", str(joint_run), str(source), "-o", str(out), "--actors", "2",
            "--shard-size", "25"]
    assert main(argv) == 1  # two rows went to errors.jsonl
    shards = sorted(path.name for path in (out / "sentences").glob("*.parquet"))
    assert shards == [f"shard-{n:05d}.parquet" for n in range(9)]  # 202 lines / 25
    batch = [row for name in shards for row in pq.read_table(out / "sentences" / name).to_pylist()]
    assert [{k: r[k] for k in LABEL_KEYS} for r in batch] == [{k: r[k] for k in LABEL_KEYS} for r in sentences]
    articles = [row for name in shards for row in pq.read_table(out / "articles" / name).to_pylist()]
    assert [(a["article"], a["sentences"], a["dominant_stance"], a["dominant_sentiment"]) for a in articles] == [
        (s["article"], s["sentences"], s["stance"]["dominant"], s["sentiment"]["dominant"]) for s in summaries]
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert [error["source"].rsplit(":", 1)[1] for error in errors] == ["31", "102"]

    # A lost shard: the rerun labels that one shard again and leaves every other file as it was.
    before = {path: path.stat().st_mtime_ns for path in out.glob("*/shard-*")}
    (out / "sentences" / "shard-00003.parquet").unlink()
    assert main(argv) == 1
    after = {path: path.stat().st_mtime_ns for path in out.glob("*/shard-*")}
    assert set(after) == set(before)
    changed = sorted(f"{path.parent.name}/{path.name}" for path in after if after[path] != before.get(path))
    assert changed == ["articles/shard-00003.parquet", "sentences/shard-00003.parquet"]
    again = [row for name in shards for row in pq.read_table(out / "sentences" / name).to_pylist()]
    assert again == batch
