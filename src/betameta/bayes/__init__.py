"""Exact Bayesian random-effects meta-analysis (the normal–normal hierarchical model).

Names are loaded on first use (PEP 562), so the array kernels (:mod:`betameta.kernels`) can
use :mod:`.priors` without importing the study-level layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

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

_LAZY = {"priors": "priors", "BayesMeta": "posterior", "bayes_meta": "posterior", "MuPrior": "priors",
         "TauPrior": "priors", "parse_mu_prior": "priors", "parse_tau_prior": "priors",
         "SensitivityAnalysis": "sensitivity", "sensitivity_analysis": "sensitivity"}


__getattr__, __dir__ = lazy_names(__name__, _LAZY, __all__, globals())
