"""Array kernels: every estimator for ``(k, m)`` arrays of effects and variances (k studies
by m meta-analyses, NaN for a missing study), returning arrays of shape ``(m,)``. The
study-level functions are their ``m = 1`` view.

* :mod:`.classical`: fixed effect, Q, I², H², ζ², DerSimonian–Laird, the Z² total test and
  the χ² and normal tails (compiled loops in :mod:`.loops`);
* :mod:`.random_effects`: every τ² estimator, z and HKSJ tests, prediction and Q-profile
  intervals, for the random-effects model and meta-regression;
* :mod:`.exact` and :mod:`.bayes`: the exact posterior of the normal–normal model (the
  quadrature over τ, the one summariser :class:`.exact.Mixture`, ``bayes_arrays``; compiled
  loops in :mod:`.exact_loops`);
* :mod:`.partition`: the trans-ancestry partition model (compiled loops in
  :mod:`.partition_loops`).

:mod:`.exact`, :mod:`.bayes` and :mod:`.partition` are imported on use, not with this package.
"""

from .classical import ClassicalArrays, chi2_sf, classical_kernel, log10_chi2_sf, log10_norm_sf2, usable
from .random_effects import RandomEffectsArrays, random_effects_kernel

__all__ = [
    "ClassicalArrays",
    "RandomEffectsArrays",
    "chi2_sf",
    "classical_kernel",
    "log10_chi2_sf",
    "log10_norm_sf2",
    "random_effects_kernel",
    "usable",
]
