"""betameta: meta-analysis of effect estimates, classical and exact Bayesian."""

from .classical import MetaAnalysis, meta_analysis
from .errors import InputError, InputNote
from .escalc import escalc
from .studies import StudyTable, load_studies
from .tables import read_table

__all__ = [
    "InputError",
    "InputNote",
    "MetaAnalysis",
    "StudyTable",
    "escalc",
    "load_studies",
    "meta_analysis",
    "read_table",
]
__version__ = "0.1.0"
