"""Exact Bayesian random-effects meta-analysis (the normal–normal hierarchical model)."""

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
