"""german-stance: sentence stance toward the Russia-North Korea cooperation in German news text."""

from .config import LABELS

__version__ = "0.1.0"
__all__ = ["LABELS", "__version__"]
