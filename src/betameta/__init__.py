"""betameta: meta-analysis of effect estimates, classical and exact Bayesian.

The names below are loaded on first use (PEP 562), so ``import betameta`` itself imports
nothing heavy: SciPy, pandas and numba come with the functions that need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
