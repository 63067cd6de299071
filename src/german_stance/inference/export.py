"""``german-stance export``: ONNX fp32 and int8 models in ``RUN/onnx/``, validated against torch on labelled files.

Usage: ``german-stance export --model runs/default`` (``--data`` adds files to check; dev is always checked)

Steps: export fp32 with dynamic axes and check it on several shapes; fuse BERT operators; check fp32 logits
against torch on dev (|difference| <= 1e-4); trim the vocabulary to German (tokens per sentence and macro-F1
reported); measure which MatMuls lose most to int8 activations on training sentences; try each int8 recipe in
order (``DEFAULT_RECIPES``: fastest first) and keep the first whose macro-F1 on dev is within the budget of
torch's for every task (other files are reported, not used to choose). ``onnx/export.json``
records it all.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data import encode_texts, read_jsonl, with_context
from ..data.tokenizer_file import TokenizerFile
from ..files import write_text_atomic
from ..modeling.onnx_run import MANIFEST, ONNX_DIR
from ..modeling.quantize import DEFAULT_RECIPES, RECIPES, Recipe
from .batching import bucket_batches
from .classifier import StanceClassifier

logger = logging.getLogger(__name__)
LOGIT_TOLERANCE = 1e-4
F1_BUDGET = 1.0  # macro-F1 points an int8 model may lose against torch fp32, per task
TRIM_F1_BUDGET = 0.5
TRIM_LENGTH_BUDGET = 0.03  # tokens per sentence may grow by at most 3%
CALIBRATION_SENTENCES = 512


def calibration_batches(train_file: str | Path, tokenizer: TokenizerFile, max_length: int, use_context: bool,
                        count: int = CALIBRATION_SENTENCES, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """Padded batches of ``count`` training sentences (a fixed random sample) for activation statistics."""
    import random

    rows = read_jsonl(train_file)
    rows = with_context(rows) if use_context else rows
    chosen = random.Random(seed).sample(rows, min(count, len(rows)))
    contexts = [row.get("context") or "" for row in chosen] if use_context else None
    encoded = encode_texts(tokenizer, [row["text"] for row in chosen], contexts, max_length)
    return [batch for _positions, batch in bucket_batches(encoded, tokenizer.pad_token_id)]


def labelled(path: Path, classifier: StanceClassifier) -> tuple[list[str], list[str] | None, dict[str, np.ndarray]]:
    """Texts, contexts (when the run uses them) and gold label ids per task present in the file."""
    rows = read_jsonl(path)
    if classifier.use_context:
        rows = with_context(rows)
    gold = {task.name: np.array([task.label2id[row[task.field]] for row in rows]) for task in classifier.tasks
            if all(row.get(task.field) in task.label2id for row in rows)}
    contexts = [row.get("context") or "" for row in rows] if classifier.use_context else None
    return [row["text"] for row in rows], contexts, gold


def macro_f1(gold: np.ndarray, logits: np.ndarray) -> float:
    """Macro-F1 in points (0-100) over all of the task's labels."""
    from sklearn.metrics import f1_score

    return 100.0 * float(f1_score(gold, logits.argmax(axis=1), labels=list(range(logits.shape[1])), average="macro",
                                  zero_division=0))


def score(classifier: StanceClassifier, files: dict[str, tuple], reference: dict[str, dict] | None = None
          ) -> dict[str, Any]:
    """Macro-F1 per file and task, sentences/s over all files, and label changes against ``reference``."""
    result: dict[str, Any] = {"files": {}, "logits": {}}
    sentences, started = 0, time.perf_counter()
    for name, (texts, contexts, gold) in files.items():
        logits = classifier.logits(texts, contexts)
        sentences += len(texts)
        result["logits"][name] = logits
        entry = {}
        for task, labels in gold.items():
            entry[task] = {"macro_f1": round(macro_f1(labels, logits[task]), 2)}
            if reference:
                base = reference[name][task]
                entry[task]["loss"] = round(reference_f1(reference, name, task, gold) - entry[task]["macro_f1"], 2)
                entry[task]["changed_labels"] = round(float(np.mean(base.argmax(1) != logits[task].argmax(1))), 4)
        result["files"][name] = entry
    result["sentences_per_second"] = round(sentences / (time.perf_counter() - started), 1)
    return result


def reference_f1(reference: dict[str, dict], name: str, task: str, gold: dict[str, np.ndarray]) -> float:
    """Macro-F1 of the reference logits."""
    return round(macro_f1(gold[task], reference[name][task]), 2)


def within(scores: dict[str, Any], file_name: str, budget: float) -> bool:
    """Whether every task on ``file_name`` lost at most ``budget`` points."""
    return all(entry["loss"] <= budget for entry in scores["files"][file_name].values())


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write ``export.json`` atomically."""
    write_text_atomic(folder / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def onnx_classifier(run_dir: Path, variant: str) -> StanceClassifier:
    """The run on the ONNX backend with one exported variant."""
    return StanceClassifier.from_run(run_dir, backend="onnx", variant=variant)


def export_run(run_dir: str | Path, data: Sequence[str | Path] = (), recipes: Sequence[str] | None = None,
               trim: bool = True, words: int | None = None, budget: float = F1_BUDGET) -> dict[str, Any]:
    """Export, validate and quantize one run; returns (and writes) the manifest."""
    from ..modeling import onnx_export
    from ..modeling.quantize import activation_errors, quantize

    unknown = [name for name in recipes or () if name not in RECIPES]
    if unknown:
        raise ValueError(f"expected int8 recipes from {list(RECIPES)}, found {unknown}")
    run_dir = Path(run_dir)
    torch_classifier = StanceClassifier.from_run(run_dir, backend="torch", device="cpu")
    run, model = torch_classifier.run, torch_classifier.run.model
    folder = run_dir / ONNX_DIR
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    paths = [Path(run.config.dev_file), *(Path(item) for item in data)]
    files = {path.stem: labelled(path, torch_classifier) for path in dict.fromkeys(paths)}
    dev = paths[0].stem
    reference = score(torch_classifier, files)
    torch_logits = reference["logits"]
    manifest: dict[str, Any] = {
        "format": 1, "default": "fp32", "variants": {}, "budget_macro_f1_points": budget,
        "pad_token_id": int(run.tokenizer.pad_token_id or 0),
        # In AllLogits.forward's order: the exporter passes inputs by position.
        "model_input_names": [name for name in ("input_ids", "attention_mask", "token_type_ids")
                              if name in (*run.tokenizer.model_input_names, "input_ids", "attention_mask")],
        "torch": {key: reference[key] for key in ("files", "sentences_per_second")}, "recipes": []}
    inputs = manifest["model_input_names"]
    config = model.config

    # 1. fp32, full vocabulary: the exactness check against torch.
    raw = onnx_export.export_onnx(model, folder / "raw.onnx", inputs)
    shape_error = onnx_export.check_shapes(model, raw, inputs)
    onnx_export.optimize_onnx(raw, folder / "model.fp32.onnx", config.num_attention_heads, config.hidden_size)
    raw.unlink()
    shape_error = max(shape_error, onnx_export.check_shapes(model, folder / "model.fp32.onnx", inputs))
    tokenizer_json = json.loads((run_dir / "model" / "tokenizer.json").read_text(encoding="utf-8"))
    write_text_atomic(folder / "tokenizer.json", json.dumps(tokenizer_json, ensure_ascii=False))
    manifest["variants"]["fp32"] = {"model": "model.fp32.onnx", "tokenizer": "tokenizer.json"}
    write_manifest(folder, manifest)
    fp32 = score(onnx_classifier(run_dir, "fp32"), files, torch_logits)
    worst = max(float(np.abs(fp32["logits"][dev][task] - torch_logits[dev][task]).max()) for task in torch_logits[dev])
    manifest["fp32"] = {"max_logit_difference_dev": worst, "max_logit_difference_shapes": shape_error,
                        **{key: fp32[key] for key in ("files", "sentences_per_second")}}
    if worst > LOGIT_TOLERANCE:
        raise ValueError(f"expected ONNX fp32 logits within {LOGIT_TOLERANCE} of torch on {dev}, found {worst:.2e}; "
                         "the export is wrong: report it with the run's config")
    logger.info("fp32 ONNX: max |logit - torch| on %s %.1e; %.1f sentences/s", dev, worst, fp32["sentences_per_second"])

    # 2. German vocabulary: fewer embedding rows, same tokens for German text.
    source, tokenizer_name = folder / "model.fp32.onnx", "tokenizer.json"
    if trim and tokenizer_json.get("model", {}).get("type") != "Unigram":
        logger.info("vocabulary not trimmed: the tokenizer is %s, trimming handles Unigram (SentencePiece) only",
                    tokenizer_json.get("model", {}).get("type"))
        trim = False
    if trim:
        train_texts = [row["text"] for row in read_jsonl(run.config.train_file)]
        source, tokenizer_name = trim_vocabulary(run_dir, folder, model, tokenizer_json, train_texts, files,
                                                 torch_logits, manifest, words)

    calibration = calibration_batches(run.config.train_file, TokenizerFile(
        folder / tokenizer_name, manifest["pad_token_id"], inputs), run.config.max_length, torch_classifier.use_context)
    # 3. int8 recipes, in order (fastest first); the first within the budget on dev wins.
    # Chosen by order, not by measured speed: on a shared machine the timings are too noisy to rank by.
    candidates = folder / "candidates"
    candidates.mkdir()
    best: tuple[float, str] | None = None
    chosen_recipes = list(recipes or DEFAULT_RECIPES)
    # Measured once for every recipe with block-wise MatMuls: on training sentences, so dev and test stay unseen.
    errors = activation_errors(source, calibration) if any(RECIPES[name].blockwise for name in chosen_recipes) \
        else None
    for name in chosen_recipes:
        recipe: Recipe = RECIPES[name]
        target = candidates / f"{name}.onnx"
        blockwise = quantize(source, target, recipe, calibration, errors)
        manifest["variants"][name] = {"model": f"candidates/{name}.onnx", "tokenizer": tokenizer_name}
        write_manifest(folder, manifest)
        scores = score(onnx_classifier(run_dir, name), files, torch_logits)
        passed = within(scores, dev, budget)
        manifest["recipes"].append({"name": name, "description": recipe.description, "passed_dev": passed,
                                    "megabytes": round(target.stat().st_size / 1e6, 1), "blockwise_nodes": blockwise,
                                    **{key: scores[key] for key in ("files", "sentences_per_second")}})
        logger.info("int8 %s: %s; %.1f sentences/s; %s", name, json.dumps(scores["files"]),
                    scores["sentences_per_second"], "within budget" if passed else "over budget")
        if passed and best is None:
            best = (scores["sentences_per_second"], name)
    for name in [entry["name"] for entry in manifest["recipes"]]:
        manifest["variants"].pop(name)
    if best:
        shutil.copyfile(candidates / f"{best[1]}.onnx", folder / "model.int8.onnx")
        manifest["variants"]["int8"] = {"model": "model.int8.onnx", "tokenizer": tokenizer_name, "recipe": best[1]}
        manifest["default"] = "int8"
    else:
        logger.warning("no int8 recipe kept macro-F1 within %.1f points on %s: predict uses fp32", budget, dev)
    shutil.rmtree(candidates)
    write_manifest(folder, manifest)
    return manifest


def trim_vocabulary(run_dir: Path, folder: Path, model: Any, tokenizer_json: dict[str, Any], train_texts: list[str],
                    files: dict[str, tuple], torch_logits: dict[str, dict], manifest: dict[str, Any],
                    words: int | None) -> tuple[Path, str]:
    """Export the German-trimmed fp32 model; return it and its tokenizer's name (or the untrimmed pair).

    The pieces come from the training sentences and the word list only, so dev and test stay held out.
    """
    from ..modeling import onnx_export, vocabulary

    keep = vocabulary.german_piece_ids(tokenizer_json, train_texts,
                                       vocabulary.german_words(words or vocabulary.DEFAULT_WORDS))
    trimmed = vocabulary.trim_tokenizer_json(tokenizer_json, keep)
    write_text_atomic(folder / "tokenizer.de.json", json.dumps(trimmed, ensure_ascii=False))
    onnx_export.trim_embeddings(model, keep)
    inputs = manifest["model_input_names"]
    raw = onnx_export.export_onnx(model, folder / "raw.de.onnx", inputs)
    target = folder / "model.de.fp32.onnx"
    onnx_export.optimize_onnx(raw, target, model.config.num_attention_heads, model.config.hidden_size)
    raw.unlink()
    manifest["variants"]["fp32-de"] = {"model": target.name, "tokenizer": "tokenizer.de.json"}
    write_manifest(folder, manifest)
    scores = score(onnx_classifier(run_dir, "fp32-de"), files, torch_logits)
    held_out = [text for texts, _contexts, _gold in files.values() for text in texts]
    before = vocabulary.tokens_per_sentence(tokenizer_json, held_out)
    after = vocabulary.tokens_per_sentence(trimmed, held_out)
    dev = next(iter(files))
    report = {"pieces_before": len(tokenizer_json["model"]["vocab"]), "pieces_after": len(keep),
              "words": words or vocabulary.DEFAULT_WORDS, "held_out_sentences": len(held_out),
              "tokens_per_sentence_before": round(before, 3), "tokens_per_sentence_after": round(after, 3),
              "length_increase": round(after / before - 1, 4), "unknown_rate_after": vocabulary.unknown_rate(
                  trimmed, held_out), **{key: scores[key] for key in ("files", "sentences_per_second")}}
    report["passed"] = report["length_increase"] <= TRIM_LENGTH_BUDGET and within(scores, dev, TRIM_F1_BUDGET)
    manifest["vocabulary"] = report
    logger.info("German vocabulary: %d of %d pieces; %.2f -> %.2f tokens per held-out sentence; %s",
                len(keep), report["pieces_before"], before, after, json.dumps(scores["files"]))
    if not report["passed"]:
        logger.warning("the trimmed vocabulary is over budget (length or macro-F1): int8 uses the full vocabulary")
        return folder / "model.fp32.onnx", "tokenizer.json"
    return target, "tokenizer.de.json"



def format_manifest(manifest: dict[str, Any]) -> str:
    """A Markdown table: torch, fp32, trimmed fp32 and every int8 recipe with macro-F1 (loss) per file and task."""
    rows = [("torch fp32", manifest["torch"], None), ("ONNX fp32", manifest["fp32"], None)]
    if "vocabulary" in manifest:
        rows.append(("ONNX fp32, German vocabulary", manifest["vocabulary"], None))
    rows += [(f"int8 {entry['name']}", entry, entry["megabytes"]) for entry in manifest["recipes"]]
    columns = [(name, task) for name, tasks in manifest["torch"]["files"].items() for task in tasks]
    header = "| variant | " + " | ".join(f"{name} {task} macro-F1 (loss)" for name, task in columns) + \
             " | sentences/s | MB |\n|---|" + "---|" * (len(columns) + 2)
    lines = [header]
    for label, entry, megabytes in rows:
        cells = []
        for name, task in columns:
            value = entry["files"][name][task]
            loss = f" ({value['loss']:+.2f})" if "loss" in value else ""
            cells.append(f"{value['macro_f1']:.2f}{loss}")
        chosen = " **chosen**" if "name" in entry and manifest["variants"].get("int8", {}).get("recipe") == \
            entry["name"] else ""
        lines.append(f"| {label}{chosen} | " + " | ".join(cells) +
                     f" | {entry['sentences_per_second']} | {megabytes if megabytes else ''} |")
    vocabulary = manifest.get("vocabulary")
    if vocabulary:
        lines.append(f"\nGerman vocabulary: {vocabulary['pieces_after']} of {vocabulary['pieces_before']} pieces; "
                     f"{vocabulary['tokens_per_sentence_before']} -> {vocabulary['tokens_per_sentence_after']} tokens "
                     f"per held-out sentence ({100 * vocabulary['length_increase']:+.2f}%), "
                     f"<unk> rate {vocabulary['unknown_rate_after']:.4%}.")
    lines.append(f"Default for predict: {manifest['default']}"
                 + (f" ({manifest['variants']['int8']['recipe']})" if manifest["default"] == "int8" else "")
                 + f"; fp32 max |logit - torch| on dev {manifest['fp32']['max_logit_difference_dev']:.1e}.")
    return "\n".join(lines)
