"""Command line: ``german-stance train | evaluate | predict | predict-batch | compare | calibrate | export | bundle``.

Usage: ``german-stance train --config configs/stance.yaml --num_epochs=2``
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

logger = logging.getLogger("german_stance")


def add_verbosity(parser: argparse.ArgumentParser) -> None:
    """``--quiet``/``--verbose``/``--debug``, accepted before or after the subcommand."""
    parser.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="only warnings and errors, no progress bars")
    parser.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="also the Trainer's raw logs and the backbone load report")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback of an error")


def add_backend(parser: argparse.ArgumentParser, verb: str) -> None:
    """``--backend`` for commands that score a run: the same choice predict makes unless told otherwise."""
    parser.add_argument("--backend", choices=["auto", "torch", "onnx"], default="auto",
                        help=f"what {verb} the run: auto (default) = what predict uses (the exported ONNX model when "
                             "the run has one, else torch); torch = the trained weights themselves")


def build_parser() -> argparse.ArgumentParser:
    """All subcommands and their options."""
    # allow_abbrev=False: otherwise "--seed=43" (a config override) is silently read as "--seeds 43".
    parser = argparse.ArgumentParser(prog="german-stance", allow_abbrev=False, description=(
        "Label German news sentences by stance toward the Russia-North Korea cooperation."))
    add_verbosity(parser)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train", allow_abbrev=False, help="fine-tune a backbone; extra --key=value flags override the config")
    train.add_argument("--config", default="configs/stance.yaml", help="YAML config (default: %(default)s)")
    train.add_argument("--overwrite", action="store_true", help="replace an existing run folder of the same name")
    train.add_argument("--resume", action="store_true",
                       help="continue an interrupted run from its latest epoch checkpoint (same config required)")
    train.add_argument("--seeds", type=int, default=1,
                       help="train this many seeds (seed, seed+1, ...) as runs <run_name>-seed<N>")

    evaluate = commands.add_parser(
        "evaluate", allow_abbrev=False, help="score a run on labelled JSONL files and write a report")
    evaluate.add_argument("--model", required=True, nargs="+", help="run folder(s); several = seeds of one setup")
    evaluate.add_argument("--data", required=True, action="append", help="labelled JSONL file (repeatable)")
    evaluate.add_argument("--out", help="report folder (default: <first run>/report)")
    evaluate.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default: %(default)s)")
    evaluate.add_argument("--no-baselines", action="store_true", help="skip the majority and TF-IDF baselines")
    add_backend(evaluate, "scores")

    compare = commands.add_parser(
        "compare", allow_abbrev=False, help="one table of several runs (and baselines) on the same data")
    compare.add_argument("--model", required=True, nargs="+", help="run folders; NAME=RUN1,RUN2 groups seeds")
    compare.add_argument("--data", required=True, action="append", help="labelled JSONL file (repeatable)")
    compare.add_argument("--out", required=True, help="folder for comparison.md/.html/.json")
    compare.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default: %(default)s)")
    compare.add_argument("--baseline-train", help="training file for the baselines (default: the first setup's)")
    add_backend(compare, "scores")

    predict = commands.add_parser("predict", allow_abbrev=False, help="label every sentence of articles")
    predict.add_argument("--model", required=True, help="trained run folder")
    predict.add_argument("inputs", nargs="*", help=".txt/.md/.html files, folders, a .jsonl of {id, text}, "
                                                   "or - for standard input (default when none given)")
    predict.add_argument("--format", choices=["jsonl", "csv", "table", "html"],
                         help="output format (default: from the --output suffix .csv/.html/.jsonl, else table on a "
                              "terminal and jsonl when piped); CSV with --output also writes <stem>.summary.csv")
    predict.add_argument("--output", "-o", help="write to this file instead of standard output")
    predict.add_argument("--batch-size", type=int, default=64, help="at most this many sentences per forward pass")
    predict.add_argument("--width", type=int, help="line width of --format table (default: the terminal's)")
    predict.add_argument("--min-confidence", type=float, default=0.0,
                         help="label a sentence 'uncertain' for a task when its top probability is below this "
                              "(e.g. 0.6; default: never)")

    calibrate = commands.add_parser(
        "calibrate", allow_abbrev=False, help="fit each task's temperature on a labelled file and store it in the run")
    calibrate.add_argument("--model", required=True, help="run folder")
    calibrate.add_argument("--data", required=True, help="labelled JSONL, ideally out-of-domain held-out text")
    add_backend(calibrate, "fits on")
    predict.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    predict.add_argument("--backend", choices=["auto", "torch", "onnx"], default="auto",
                         help="auto (default): the run's exported ONNX model on the CPU when it has one, else torch")
    bundle = commands.add_parser(
        "bundle", allow_abbrev=False, help="copy an exported run's predict-only files (about 50 MB) to a new folder")
    bundle.add_argument("--model", required=True, help="exported run folder (see export)")
    bundle.add_argument("--out", required=True, help="new folder; predict --model OUT works from it")
    export = commands.add_parser(
        "export", allow_abbrev=False, help="ONNX fp32 and int8 models of a run for fast CPU prediction (RUN/onnx)")
    export.add_argument("--model", required=True, help="trained run folder")
    export.add_argument("--data", action="append", default=[],
                        help="labelled JSONL file to report on besides the run's dev file (repeatable)")
    export.add_argument("--recipe", action="append", dest="recipes",
                        help="int8 recipe to try (repeatable; default: the block-wise ladder, "
                             "DEFAULT_RECIPES in modeling/quantize.py; every name is in RECIPES there)")
    export.add_argument("--no-trim", action="store_true", help="keep the full multilingual vocabulary")
    export.add_argument("--words", type=int, help="German words kept from the word list (default: 100000)")
    export.add_argument("--budget", type=float, default=1.0,
                        help="macro-F1 points int8 may lose on dev, per task (default: %(default)s)")
    batch = commands.add_parser(
        "predict-batch", allow_abbrev=False,
        help="label a corpus on Ray Data: Parquet shards, resumable (pip install -e \".[ray]\")")
    batch.add_argument("--model", required=True, help="trained run folder (on a cluster: a path every node sees)")
    batch.add_argument("inputs", nargs="+", help=".jsonl of {id, text}, .parquet with text (and id) columns, "
                                                 ".txt/.md/.html files, or folders of any of them")
    batch.add_argument("--output-dir", "-o", required=True,
                       help="folder for sentences/ and articles/ Parquet shards, errors.jsonl and manifest.json; "
                            "rerun into it to label only the shards that are missing")
    batch.add_argument("--actors", type=int, help="model actors (default: one per CPU Ray offers, less one; "
                                                  "with --gpus-per-actor: per GPU)")
    batch.add_argument("--cpus-per-actor", type=float, default=1.0, help="CPUs (and torch threads) per actor")
    batch.add_argument("--gpus-per-actor", type=float, default=0.0,
                       help="GPUs per actor, e.g. 1, or 0.5 for two actors per GPU (default: CPU actors)")
    batch.add_argument("--shard-size", type=int, default=1000, help="articles per output shard (default: %(default)s)")
    batch.add_argument("--batch-size", type=int, default=64, help="at most this many sentences per forward pass")
    batch.add_argument("--ray-address", help="join this Ray cluster (e.g. auto, or ray://head:10001) instead of "
                                             "starting a local Ray")
    for sub in (train, evaluate, compare, predict, calibrate, export, bundle, batch):
        add_verbosity(sub)
    return parser


def configure_logging(quiet: bool, verbose: bool = False) -> None:
    """Only the CLI configures logging; library modules just get their loggers."""
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s", stream=sys.stderr)
    if not quiet:
        logging.getLogger("german_stance").setLevel(logging.INFO)
    for noisy in ("httpx", "urllib3", "filelock", "datasets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # trafilatura warns "discarding data: None" for pages without text; predict reports those itself.
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    if not verbose:
        # The load report ("MISSING ... Consider training on your downstream task") and "Loading weights" bars
        # are expected when a backbone gets new heads; --verbose shows them.
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        # Only when transformers is already loaded: importing it here would cost the ONNX path a second of start-up;
        # otherwise the two variables above take effect when (if) it is imported.
        if "transformers" in sys.modules:
            from transformers.utils import logging as transformers_logging

            transformers_logging.set_verbosity_error()
            transformers_logging.disable_progress_bar()


def run_train(args: argparse.Namespace, overrides: list[str], verbose: bool = False) -> int:
    """``train``: one run per seed."""
    from .config import load_config
    from .training.trainer import train

    cfg = load_config(args.config, overrides)
    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    if args.seeds == 1:
        train(cfg, overwrite=args.overwrite, verbose=verbose, resume=args.resume)
        return 0
    if args.resume:
        raise ValueError(f"expected one run to resume, found --seeds {args.seeds}; resume each seed's run on its own "
                         "(--run_name=<name>-seed<N> --seed=<N> --resume)")
    from dataclasses import replace

    for offset in range(args.seeds):
        seed = cfg.seed + offset
        train(replace(cfg, seed=seed, run_name=f"{cfg.run_name}-seed{seed}"), overwrite=args.overwrite, verbose=verbose)
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """``evaluate``: metrics, intervals, baselines and the Markdown/HTML report."""
    from .evaluation.report import evaluate_runs

    out_dir = Path(args.out) if args.out else Path(args.model[0]) / "report"
    evaluate_runs([Path(m) for m in args.model], [Path(d) for d in args.data], out_dir,
                  n_resamples=args.bootstrap, baselines=not args.no_baselines, backend=args.backend)
    return 0


def run_compare(args: argparse.Namespace) -> int:
    """``compare``: one table of several runs."""
    from .evaluation.compare import compare_runs

    compare_runs(args.model, [Path(d) for d in args.data], Path(args.out), n_resamples=args.bootstrap,
                 backend=args.backend, baseline_train=Path(args.baseline_train) if args.baseline_train else None)
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    """``calibrate``: fit and store the temperatures."""
    from .evaluation.calibrate import calibrate_run

    calibrate_run(Path(args.model), Path(args.data), backend=args.backend)
    return 0


def run_export(args: argparse.Namespace) -> int:
    """``export``: ONNX models, validation and the recipe table in RUN/onnx/export.json."""
    from .inference.export import export_run, format_manifest

    # ONNX Runtime's quantizer and fusions log every tensor at INFO on the root logger; keep our own lines only.
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.WARNING))
    manifest = export_run(args.model, data=args.data, recipes=args.recipes, trim=not args.no_trim, words=args.words,
                          budget=args.budget)
    print(format_manifest(manifest))
    return 0


def run_bundle(args: argparse.Namespace) -> int:
    """``bundle``: the predict-only files of an exported run in a new folder."""
    from .inference.bundle import bundle_run

    files = bundle_run(args.model, args.out)
    megabytes = sum(path.stat().st_size for path in files) / 1e6
    print(f"wrote {len(files)} files ({megabytes:.1f} MB) to {args.out}; label with "
          f"`german-stance predict --model {args.out} ARTICLE`")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    """``predict``: read inputs, label sentences, write the chosen format."""
    from .inference.command import predict_command

    return predict_command(args)


def run_predict_batch(args: argparse.Namespace, verbose: bool = False) -> int:
    """``predict-batch``: label a corpus on Ray; 0 when every row was read, 1 when some went to errors.jsonl."""
    from .inference.batch import BatchOptions, run_batch

    for name in ("actors", "batch_size", "shard_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if args.cpus_per_actor <= 0 or args.gpus_per_actor < 0:
        raise ValueError(f"expected --cpus-per-actor > 0 and --gpus-per-actor >= 0, found {args.cpus_per_actor} and "
                         f"{args.gpus_per_actor}")
    options = BatchOptions(model=args.model, inputs=args.inputs, output_dir=args.output_dir, actors=args.actors,
                           cpus_per_actor=args.cpus_per_actor, gpus_per_actor=args.gpus_per_actor,
                           shard_size=args.shard_size, batch_size=args.batch_size, ray_address=args.ray_address)
    summary = run_batch(options, verbose=verbose)
    rate = summary["articles"] / summary["seconds"] if summary["labelled"] and summary["seconds"] else 0.0
    logger.info("labelled %d shard(s) (%d skipped as done): %d articles, %d sentences in %.1f s (%.1f articles/s); "
                "%d error(s) -> %s", summary["labelled"], summary["skipped"], summary["articles"], summary["sentences"],
                summary["seconds"], rate, summary["errors"], args.output_dir)
    if summary["errors_in_folder"]:
        logger.warning("%d input row(s) could not be labelled; see %s", summary["errors_in_folder"],
                       Path(args.output_dir) / "errors.jsonl")
    return 1 if summary["errors_in_folder"] else 0


def describe_error(error: BaseException) -> str:
    """One line: what was expected, what was found, and the fix (our own errors already say all three)."""
    import errno

    if isinstance(error, (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
                          PermissionError, TypeError, ImportError)) and str(error):
        message = str(error)
    elif isinstance(error, OSError) and error.errno == errno.ENOSPC:
        message = (f"expected room on the disk, found it full ({error.filename or 'while writing'}); free space "
                   "or write elsewhere (existing outputs were left as they were)")
    elif isinstance(error, OSError):
        message = (f"expected to read or write {error.filename or 'a file'}, found {error.strerror or error}; "
                   "check the path and its permissions")
    elif type(error).__name__ == "SafetensorError":
        message = (f"expected readable model weights, found a damaged model.safetensors ({error}); retrain the run "
                   "or copy the run folder again")
    else:
        message = f"{type(error).__name__}: {error} (run again with --debug for the traceback)"
    return " ".join(message.split())


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``german-stance`` command; returns the exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "train":
        parser.error(f"unrecognised arguments: {' '.join(extra)}")
    quiet, verbose, debug = (getattr(args, name, False) for name in ("quiet", "verbose", "debug"))
    # Under torchrun only the main process (RANK 0) logs; the others report warnings and errors only.
    quiet = quiet or os.environ.get("RANK", "0") != "0"
    configure_logging(quiet, verbose)
    from .files import catch_interrupts

    previous = catch_interrupts()
    try:
        if args.command == "train":
            return run_train(args, extra, verbose)
        if args.command == "evaluate":
            return run_evaluate(args)
        if args.command == "compare":
            return run_compare(args)
        if args.command == "calibrate":
            return run_calibrate(args)
        if args.command == "export":
            return run_export(args)
        if args.command == "bundle":
            return run_bundle(args)
        if args.command == "predict-batch":
            return run_predict_batch(args, verbose)
        return run_predict(args)
    except KeyboardInterrupt:
        # Training keeps its finished epochs' checkpoints; say how to use them.
        hint = "; epoch checkpoints, if any, are kept for --resume" if args.command == "train" else ""
        print(f"german-stance {args.command}: interrupted; existing files were left as they were{hint}", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the one error boundary: one line, no traceback unless --debug
        if debug:
            raise
        print(f"german-stance {args.command}: error: {describe_error(error)}", file=sys.stderr)
        return 2
    finally:
        if previous is not None:
            import signal

            signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
