"""Array kernels.

Every estimator for ``(k, m)`` arrays of effects and variances (k studies by m meta-analyses, NaN for a
missing study), returning arrays of shape ``(m,)``. The study-level functions are their ``m = 1`` view.

* :mod:`.classical`: fixed effect, Q, I², H², ζ², DerSimonian–Laird, the Z² total test and
  the χ² and normal tails (compiled loops in :mod:`.loops`);
* :mod:`.random_effects`: every τ² estimator, z and HKSJ tests, prediction and Q-profile
  intervals, for the random-effects model and meta-regression;
* :mod:`.exact` and :mod:`.bayes`: the exact posterior of the normal–normal model and of the
  meta-regression (the quadrature over τ, its size :class:`.exact.QuadratureRule`, the one
  summariser :class:`.exact.Mixture`, ``bayes_arrays``; compiled loops in :mod:`.exact_loops`);
* :mod:`.partition`: the trans-ancestry partition model (compiled loops in
  :mod:`.partition_loops`);
* :mod:`.mrmega`: MR-MEGA, the fixed-effect meta-regression on axes of genetic variation;
* :mod:`.metasoft`: METASOFT's RE2 (with its simulated small-k correction) and m-values;
* :mod:`.binary_effects`: METASOFT's binary-effects test (p by importance sampling; compiled
  loop in :mod:`.loops`);
* :mod:`.asset`: ASSET's one- and two-sided subset search with DLM p-values (compiled loops
  in :mod:`.asset_loops`);
* :mod:`.overlap`: the studies' null z correlation (sample overlap) and the fixed effect
  corrected for it (GLS; METAL's sample-size variance).

Where to add: a τ² estimator in :mod:`.random_effects` (``_estimate``, and its name in
``_options.Tau2Method``); a prior in :mod:`betameta.bayes.priors` (the catalogue); a genome-wide
method column in :func:`betameta.gwas.compute.compute_chunk`.

:mod:`.exact`, :mod:`.bayes`, :mod:`.partition`, :mod:`.mrmega`, :mod:`.metasoft`,
:mod:`.binary_effects`, :mod:`.asset` and :mod:`.overlap` are imported on use, not with this package.
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
