"""Hierarchical models sampled with PyMC (optional extra ``betameta[mcmc]``).

Nothing here is imported by ``import betameta``; PyMC loads on first use.
"""

from .normal_normal import normal_normal_model
from .sampling import Sampler, sample

__all__ = ["Sampler", "normal_normal_model", "sample"]
