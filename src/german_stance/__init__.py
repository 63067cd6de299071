"""german-stance: sentence stance (and sentiment) toward the Russia-North Korea cooperation in German news text.

Usage::

    from german_stance import StanceClassifier
    classifier = StanceClassifier.from_run("runs/default")
    classifier.predict(["Seoul verurteilte das Abkommen."])
"""

from .config import LABELS
from .inference.classifier import StanceClassifier
from .tasks import SENTIMENT, STANCE, TASKS, Task

__version__ = "0.2.0"
__all__ = ["LABELS", "SENTIMENT", "STANCE", "TASKS", "StanceClassifier", "Task", "__version__"]
