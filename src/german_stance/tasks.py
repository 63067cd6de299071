"""Task definitions: the one place where label sets, their colours and their "sides" are defined.

A task is data, not code: adding a task means one new ``Task`` here plus a labelled field in the data.
Usage: ``STANCE.labels`` -> ``("critical", "neutral", "supportive")``; ``get_tasks(["stance", "sentiment"])``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Task:
    """One sentence-classification task: its labels, the data field that holds them, and how to show them."""

    name: str
    labels: tuple[str, ...]
    field: str  # the JSONL key with the gold label ("label" for stance, for backward compatibility)
    sides: tuple[str, str]  # the two opposed labels whose balance summarises an article
    colours: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # RGB per label
    terminal: dict[str, str] = field(default_factory=dict)  # ANSI style per label
    description: str = ""

    def __post_init__(self) -> None:
        """Reject definitions that the rest of the code could not render or summarise."""
        missing = [side for side in self.sides if side not in self.labels]
        if missing or len(set(self.labels)) != len(self.labels):
            raise ValueError(f"task {self.name!r}: expected unique labels containing the sides {self.sides}, "
                             f"found labels {self.labels}")

    @property
    def label2id(self) -> dict[str, int]:
        """Label -> index in the model's output."""
        return {label: index for index, label in enumerate(self.labels)}

    @property
    def id2label(self) -> dict[int, str]:
        """Index in the model's output -> label."""
        return dict(enumerate(self.labels))

    @property
    def rest(self) -> tuple[str, ...]:
        """Labels that are neither side (``neutral``)."""
        return tuple(label for label in self.labels if label not in self.sides)

    def colour(self, label: str) -> tuple[int, int, int]:
        """RGB of a label (grey when the task defines none)."""
        return self.colours.get(label, (136, 136, 136))


# Okabe-Ito colours: the two sides stay distinguishable for red-green colour-blind readers.
STANCE = Task(
    name="stance", labels=("critical", "neutral", "supportive"), field="label", sides=("critical", "supportive"),
    colours={"critical": (213, 94, 0), "neutral": (136, 136, 136), "supportive": (0, 114, 178)},
    terminal={"critical": "\033[1;31m", "neutral": "\033[2m", "supportive": "\033[1;34m"},
    description="stance toward the Russia-North Korea cooperation (ANNOTATION.md)",
)
SENTIMENT = Task(
    name="sentiment", labels=("negative", "neutral", "positive"), field="sentiment", sides=("negative", "positive"),
    colours={"negative": (204, 121, 167), "neutral": (136, 136, 136), "positive": (0, 158, 115)},
    terminal={"negative": "\033[35m", "neutral": "\033[2m", "positive": "\033[32m"},
    description="sentiment of the sentence's wording and of what it reports (ANNOTATION.md, second task)",
)
TASKS: dict[str, Task] = {task.name: task for task in (STANCE, SENTIMENT)}


def get_tasks(names: Sequence[str]) -> tuple[Task, ...]:
    """The task definitions for ``names``, in that order; unknown names raise with the valid ones."""
    unknown = [name for name in names if name not in TASKS]
    if unknown or not names:
        raise ValueError(f"expected task names from {list(TASKS)}, found {list(names)}; "
                         "set tasks: [stance] or tasks: [stance, sentiment]")
    if len(set(names)) != len(names):
        raise ValueError(f"expected each task once, found {list(names)}")
    return tuple(TASKS[name] for name in names)


def task_from_dict(data: dict) -> Task:
    """Rebuild a task saved in a model config (name and labels); known tasks keep their colours."""
    known = TASKS.get(data["name"])
    labels = tuple(data["labels"])
    if known and known.labels == labels:
        return known
    sides = tuple(data.get("sides") or (labels[0], labels[-1]))
    return Task(name=data["name"], labels=labels, field=data.get("field", data["name"]), sides=sides)  # type: ignore[arg-type]
