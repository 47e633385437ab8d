"""Exact Bayesian random-effects meta-analysis (the normal–normal hierarchical model).

Names are loaded on first use (PEP 562), so the array kernels (:mod:`betameta.kernels`) can
use :mod:`.priors` without importing the study-level layer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import priors
    from .posterior import BayesMeta, bayes_meta
    from .priors import MuPrior, TauPrior, parse_mu_prior, parse_tau_prior
    from .sensitivity import SensitivityAnalysis, sensitivity_analysis

__all__ = [
    "BayesMeta",
    "MuPrior",
    "SensitivityAnalysis",
    "TauPrior",
    "bayes_meta",
    "parse_mu_prior",
    "parse_tau_prior",
    "priors",
    "sensitivity_analysis",
]

_LAZY = {"BayesMeta": "posterior", "bayes_meta": "posterior", "MuPrior": "priors",
         "TauPrior": "priors", "parse_mu_prior": "priors", "parse_tau_prior": "priors",
         "SensitivityAnalysis": "sensitivity", "sensitivity_analysis": "sensitivity"}


def __getattr__(name: str) -> Any:
    if name == "priors":
        return importlib.import_module(".priors", __name__)
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
