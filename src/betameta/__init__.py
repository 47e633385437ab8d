"""betameta: meta-analysis of effect estimates, classical and exact Bayesian.

The names below are loaded on first use (PEP 562), so ``import betameta`` itself imports
nothing heavy: SciPy, pandas and numba come with the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_names
from .errors import InputError, InputNote

if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from .classical import MetaAnalysis, meta_analysis
    from .effect_sizes import escalc
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

_LAZY = {"MetaAnalysis": "classical", "meta_analysis": "classical", "escalc": "effect_sizes",
         "StudyTable": "studies", "load_studies": "studies", "read_table": "tables"}


__getattr__, __dir__ = lazy_names(__name__, _LAZY, __all__, globals())
