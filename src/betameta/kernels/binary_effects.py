"""METASOFT's binary-effects test (BE; Han & Eskin 2012, PLoS Genet 8:e1002555) for ``(k, m)`` arrays.

**Statistic.** Each study's weight is its *h-value*, METASOFT's quick stand-in for the m-value:
with ``β̂₋ᵢ``, ``v₋ᵢ`` the fixed effect of the other studies and its variance,

``hᵢ = f₁/(f₀ + f₁)``, ``f₁ = exp(−(yᵢ − β̂₋ᵢ)²/(2(vᵢ + v₋ᵢ)))``, ``f₀ = exp(−yᵢ²/(2vᵢ))``

(the two Gaussian kernels without their normalising constants, as METASOFT computes them), and

``Z_BE = Σ hᵢwᵢzᵢ / √Σ(hᵢwᵢ)²``, ``zᵢ = yᵢ/√vᵢ``, ``wᵢ = 1/√vᵢ``.

**p-value.** The weights depend on the data, so ``Z_BE`` is not normal under the null; its tail
``P(Z_BE ≥ |z_obs|)`` is estimated by importance sampling and doubled (the null is symmetric).
The proposal is METASOFT's: draw the number ``a`` of studies with an effect uniformly from
``1..n``; each study independently has one with probability ``a/n``, its z then drawn from
``N(μₐ, σₐ²)`` instead of ``N(0, 1)``. METASOFT averages the shift ``|z_obs|wᵢ/√(Σ_A w²)`` over
random subsets ``A`` of size ``a``; here it is taken in closed form with ``Σ_A w²`` at its mean
``a·mean(w²)``: ``μₐ = |z_obs|·mean(w)/√(a·mean(w²))``,
``σₐ² = 1 + z_obs²·var(w)/(a·mean(w²))``. Any proposal that covers the tail gives an unbiased
estimate; this one puts about half its draws there. Each draw that reaches ``|z_obs|``
contributes ``φ(z)/q(z)`` (the null density over the mixture's), computed in logs.

The draws are common to every variant (one seeded set, used in order over a variant's
studies present), so a variant's p-value does not depend on the chunk it is computed in,
and the compiled loop (:func:`betameta.kernels.loops.binary_effects_p`) is held equal to
the NumPy reference here. ``samples`` draws first; where that p is below ``refine_below``
it is estimated again from ``samples_large`` draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from .._results import ArrayResult
from ..errors import InputError
from .classical import usable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BinaryEffectsArrays", "be_draws", "be_statistic", "binary_effects_arrays"]


@dataclass(frozen=True, repr=False)
class BinaryEffectsArrays(ArrayResult):
    """Per-column BE results of :func:`binary_effects_arrays` (NaN with fewer than 2 studies).

    Parameters
    ----------
    k : numpy.ndarray
        ``(m,)``: the studies used.
    stat : numpy.ndarray
        ``(m,)``: the statistic Z_BE.
    p_value, neg_log_10_p_value : numpy.ndarray
        ``(m,)``: its two-sided p-value and −log10.
    samples : numpy.ndarray
        ``(m,)``: the importance-sampling draws the p-value rests on.
    h_value : numpy.ndarray
        ``(k, m)``: each study's weight.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.binary_effects import binary_effects_arrays
    >>> y = np.array([[0.30, 0.10], [0.25, -0.05], [0.02, 0.00], [0.35, 0.08]])
    >>> be = binary_effects_arrays(y, np.full((4, 2), 0.01))
    >>> be.h_value.shape, be.k.tolist()
    ((4, 2), [4, 4])
    """

    k: np.ndarray
    stat: np.ndarray
    p_value: np.ndarray
    neg_log_10_p_value: np.ndarray
    samples: np.ndarray
    h_value: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """Return the results as a table.

        Returns
        -------
        pandas.DataFrame
            One row per variant: the ``(m,)`` fields, then ``h_value_<i>`` per study (0-based).

        Examples
        --------
        >>> import numpy as np
        >>> from betameta.kernels.binary_effects import binary_effects_arrays
        >>> y = np.array([[0.30, 0.10], [0.25, -0.05], [0.02, 0.00], [0.35, 0.08]])
        >>> binary_effects_arrays(y, np.full((4, 2), 0.01)).to_frame().columns.tolist()[4:]
        ['samples', 'h_value_0', 'h_value_1', 'h_value_2', 'h_value_3']
        """
        return super().to_frame().assign(**{f"h_value_{i}": row for i, row in enumerate(self.h_value)})


def be_statistic(z: np.ndarray, w: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return Z_BE and the h-values of each column.

    Parameters
    ----------
    z : numpy.ndarray
        ``(k, …)`` z-scores.
    w : numpy.ndarray
        Their weights ``1/SE``.
    ok : numpy.ndarray
        Which studies are used.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Z_BE per column and the h-values ``(k, …)``; NaN with fewer than 2 studies (and for a study not
        used).

    Notes
    -----
    The module docstring has the statistic: the weighted z of the studies, each weighted by its posterior
    probability of an effect (its h-value) under METASOFT's binary-effects model.

    References
    ----------
    Han & Eskin (2012), PLoS Genet 8:e1002555.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.binary_effects import be_statistic
    >>> y = np.array([[0.30, 0.10], [0.25, -0.05], [0.02, 0.00], [0.35, 0.08]])
    >>> v = np.full((4, 2), 0.01)
    >>> z_be, h = be_statistic(y / np.sqrt(v), 1 / np.sqrt(v), np.isfinite(y))
    >>> z_be.round(3).tolist()
    [5.21, 0.772]
    """
    w = np.where(ok, w, 0.0)
    z = np.where(ok, z, 0.0)
    w2 = w * w
    sw, swb = w2.sum(axis=0), (w * z).sum(axis=0)  # Σw², Σβw² (β = z/w)
    with np.errstate(divide="ignore", invalid="ignore"):
        rest_w = sw - w2  # Σ_{j≠i} wⱼ²: the other studies' fixed effect and its variance
        rest_b = (swb - w * z) / rest_w
        beta = z / w
        log_f1 = -((beta - rest_b) ** 2) / (2.0 * (1.0 / w2 + 1.0 / rest_w))
        h = special.expit(log_f1 + 0.5 * z * z)  # f₁/(f₀ + f₁), f₀ = exp(−z²/2)
        h = np.where(ok, h, 0.0)
        stat = (h * w * z).sum(axis=0) / np.sqrt(((h * w) ** 2).sum(axis=0))
    two = ok.sum(axis=0) >= 2
    return np.where(two, stat, np.nan), np.where(ok & two, h, np.nan)


def be_draws(k: int, samples: int, seed: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the common draws of the binary-effects test.

    Parameters
    ----------
    k : int
        Studies.
    samples : int
        Draws.
    seed : int or None
        Seed.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        Per draw a uniform (samples,), and per draw and study a standard normal and a uniform (samples,
        k).

    Notes
    -----
    The uniform per draw sets how many studies have an effect; per study the normal is its z and the uniform
    whether it has one. Each comes from its own stream, study by study, so the first n studies' draws do not
    depend on k: a variant with n of the k studies gets the draws of the study-level call on those n.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.binary_effects import be_draws
    >>> [a.shape for a in be_draws(4, 1000, seed=1)]
    [(1000,), (1000, 4), (1000, 4)]
    """
    rng_u, rng_g, rng_b = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    return (rng_u.random(samples), np.ascontiguousarray(rng_g.standard_normal((k, samples)).T),
            np.ascontiguousarray(rng_b.random((k, samples)).T))


def _proposal(zabs: np.ndarray, w: np.ndarray, ok: np.ndarray, n: np.ndarray):
    """μₐ, σₐ (n_max, m) for a = 1..n_max (module docstring)."""
    nn = np.maximum(n, 1).astype(float)
    mw = np.where(ok, w, 0.0).sum(axis=0) / nn
    mw2 = np.where(ok, w * w, 0.0).sum(axis=0) / nn
    a = np.arange(1, w.shape[0] + 1, dtype=float)[:, None]
    mu = zabs * mw / np.sqrt(a * mw2)
    sd = np.sqrt(1.0 + zabs**2 * np.maximum(mw2 - mw * mw, 0.0) / (a * mw2))
    return mu, sd


def _tail_reference(zabs, w, ok, draws, samples):
    """NumPy reference of the importance-sampling tail P(Z_BE ≥ |z_obs|), vectorised over variants and draws.

    Each variant's present studies take the draws' first n columns.
    """
    k, m = w.shape
    order = np.argsort(~ok, axis=0, kind="stable")  # present studies first, in order
    wc = np.take_along_axis(np.where(ok, w, 0.0), order, axis=0)
    okc = np.take_along_axis(ok, order, axis=0)
    n = okc.sum(axis=0)
    mu, sd = _proposal(zabs, wc, okc, n)
    u, g, b = (d[:samples] for d in draws)
    nn = np.maximum(n, 1)
    a = np.minimum(np.floor(u[:, None] * nn).astype(int) + 1, nn)  # (S, m)
    cols = np.arange(m)
    mu_a, sd_a = mu[a - 1, cols], sd[a - 1, cols]  # (S, m)
    gt = g.T[:, :, None]  # (k, S, 1): study, draw
    shifted = b.T[:, :, None] <= (a / nn)[None]  # (k, S, m)
    zs = np.where(shifted, gt * sd_a[None] + mu_a[None], gt)
    okb = np.broadcast_to(okc[:, None, :], zs.shape)
    stat = be_statistic(zs, np.broadcast_to(wc[:, None, :], zs.shape), okb)[0]
    # log q(z) − log φ(z) = log Σₐ (1/n) Πᵢ [(1 − a/n) + (a/n)/σₐ · exp(zᵢ²/2 − (zᵢ − μₐ)²/(2σₐ²))]
    terms = []
    for aa in range(1, k + 1):
        frac = aa / nn
        ma, sa = mu[aa - 1], sd[aa - 1]
        with np.errstate(over="ignore", invalid="ignore"):
            r = frac / sa * np.exp(0.5 * zs**2 - (zs - ma) ** 2 / (2 * sa**2))
            lt = np.where(okb, np.log((1 - frac) + r), 0.0).sum(axis=0) - np.log(nn)
        terms.append(np.where(aa <= n, lt, -np.inf))
    log_ratio = -special.logsumexp(np.stack(terms), axis=0)  # log φ/q, (S, m)
    hit = stat >= zabs
    with np.errstate(over="ignore"):
        return np.where(hit, np.exp(log_ratio), 0.0).sum(axis=0) / samples


def binary_effects_arrays(y: np.ndarray, v: np.ndarray, *, samples: int = 1000,
                          samples_large: int = 100_000, refine_below: float = 1e-4,
                          seed: int | None = 20261203, compiled: bool = True) -> BinaryEffectsArrays:
    """Return METASOFT's binary-effects test of every column of ``(k, m)`` arrays.

    Parameters
    ----------
    y, v : numpy.ndarray
        ``(k, m)`` effects and variances (NaN for a missing study).
    samples, samples_large : int
        Importance-sampling draws per variant, and again where that p is below ``refine_below``
        (METASOFT's two-stage scheme).
    refine_below : float
        Where to draw ``samples_large``.
    seed : int or None
        Seed of the common draws.
    compiled : bool
        ``False`` runs the NumPy reference (memory ∝ samples × k × m: for tests).

    Returns
    -------
    BinaryEffectsArrays
        ``(m,)`` arrays ``k``, ``stat``, ``p_value``, ``neg_log_10_p_value``, ``samples``, and the
        h-values ``(k, m)``.

    References
    ----------
    Han & Eskin (2012), PLoS Genet 8:e1002555.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.binary_effects import binary_effects_arrays
    >>> y = np.array([[0.30, 0.10], [0.25, -0.05], [0.02, 0.00], [0.35, 0.08]])
    >>> v = np.full((4, 2), 0.01)
    >>> binary_effects_arrays(y, v).p_value[1].round(4)
    np.float64(0.5603)
    """
    if not (samples >= 1 and samples_large >= samples):
        raise InputError("samples must be at least 1 and samples_large at least samples")
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    if y.ndim == 1:
        y, v = y[:, None], v[:, None]
    ok = usable(y, v)
    k_used = ok.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(ok, 1.0 / np.sqrt(np.where(ok, v, 1.0)), 0.0)
        z = np.where(ok, y, 0.0) * w
    stat, h = be_statistic(z, w, ok)
    zabs = np.abs(stat)
    draws = be_draws(y.shape[0], samples_large, seed)
    tail = np.full(y.shape[1], np.nan)
    used = np.zeros(y.shape[1])
    fit = np.isfinite(stat)
    if compiled:
        from .loops import binary_effects_tail

        def run(cols, s):
            out = np.empty(cols.size)
            binary_effects_tail(zabs[cols], np.ascontiguousarray(w[:, cols]),
                                np.ascontiguousarray(ok[:, cols]), draws[0], draws[1], draws[2], s, out)
            return out
    else:
        def run(cols, s):
            return _tail_reference(zabs[cols], w[:, cols], ok[:, cols], draws, s)

    cols = np.flatnonzero(fit)
    tail[cols], used[cols] = run(cols, samples), samples
    again = cols[2 * tail[cols] < refine_below]
    if again.size and samples_large > samples:
        tail[again], used[again] = run(again, samples_large), samples_large
    p = np.minimum(2.0 * tail, 1.0)
    with np.errstate(divide="ignore"):
        lg = -np.log10(p)
    return BinaryEffectsArrays(k_used, stat, p, lg, used, h)
