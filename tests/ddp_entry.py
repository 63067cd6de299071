"""Entry point for the torchrun test: ``german-stance`` with every run-folder write recorded by rank.

Usage: ``torchrun --nproc_per_node=2 tests/ddp_entry.py WRITES.log train --config tiny.yaml``
"""

import os
import sys

from german_stance.cli import main
from german_stance.training import trainer

record, argv = sys.argv[1], sys.argv[2:]
write_run_folder = trainer.write_run_folder


def recorded(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201 - passes everything through
    """Note which process writes the run folder, then write it."""
    with open(record, "a", encoding="utf-8") as handle:
        handle.write(f"rank {os.environ.get('RANK')} of {os.environ.get('WORLD_SIZE')}\n")
    return write_run_folder(*args, **kwargs)


trainer.write_run_folder = recorded
sys.exit(main(argv))
