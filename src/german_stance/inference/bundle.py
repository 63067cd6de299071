"""``german-stance bundle``: a copy of a run with only the files predict's ONNX path reads (about 50 MB).

The trained run keeps its torch weights (470 MB) for evaluation and further export; the bundle is what one ships
to a laptop or a server: config, calibration, the model config (tasks and labels), the lexical half where the run
has one, and the exported default variant with its tokenizer. Usage: ``german-stance bundle --model runs/default --out models/stance``
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from ..files import check_out_folder
from ..modeling.lexical import LEXICAL_FILES
from ..modeling.onnx_run import MANIFEST, ONNX_DIR, read_manifest
from ..modeling.runs import check_run_dir

# lexical.*: the TF-IDF half of a blended run (modeling/lexical.py), a few MB; absent in encoder-only runs.
RUN_FILES = ("config.yaml", "calibration.json", "label_map.json", "metrics.json", "model/config.json", *LEXICAL_FILES)


def bundle_run(run_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Copy the predict-only files of an exported run into the new folder ``out_dir``; returns the files."""
    run_dir, out_dir = check_run_dir(run_dir), Path(out_dir)
    manifest = read_manifest(run_dir)
    if manifest is None:
        raise FileNotFoundError(f"expected an exported ONNX model in {run_dir / ONNX_DIR}, found none; run "
                                f"`german-stance export --model {run_dir}` first")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise FileExistsError(f"expected a new or empty folder for --out, found {out_dir} with files in it; choose "
                              "another folder (a bundle never overwrites)")
    check_out_folder(out_dir)
    default = manifest["default"]
    entry = manifest["variants"][default]
    # Only the default variant travels: the manifest is rewritten so that it names no file the bundle lacks.
    slim = {**manifest, "variants": {default: entry}, "bundled_from": str(run_dir)}
    sources = [run_dir / name for name in RUN_FILES if (run_dir / name).is_file()]
    sources += [run_dir / ONNX_DIR / entry["model"], run_dir / ONNX_DIR / entry["tokenizer"]]
    missing = [str(path) for path in sources[-2:] if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"expected the exported files {missing} (named in {MANIFEST}), found them missing; "
                                f"export the run again")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Built in a temporary sibling and renamed at the end: an interrupted bundle leaves no half folder.
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.", suffix=".tmp"))
    try:
        for source in sources:
            target = staging / source.relative_to(run_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        (staging / ONNX_DIR / MANIFEST).write_text(json.dumps(slim, indent=2, ensure_ascii=False) + "\n",
                                                     encoding="utf-8")
        if out_dir.exists():
            out_dir.rmdir()  # empty (checked above); os.replace needs the name free
        os.replace(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted(path for path in out_dir.rglob("*") if path.is_file())
