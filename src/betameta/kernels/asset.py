"""ASSET's subset search (Bhattacharjee et al. 2012, Am J Hum Genet 90:821) for ``(k, m)`` arrays.

With its DLM p-values.

**Statistic.** For a non-empty subset ``S`` of the studies a variant has,
``Z(S) = Σ_{i∈S} wᵢzᵢ / √(Σ_{i,j∈S} wᵢwⱼrᵢⱼ)``, ``zᵢ = yᵢ/√vᵢ``, ``wᵢ = 1/√vᵢ`` and ``r`` the
studies' null z correlation (identity without sample overlap). ASSET weights by √(effective
sample size); for studies of one trait that is proportional to 1/SE, and with it ``Z(S)`` is
the fixed-effect z of the studies in ``S``, whose estimate ``β̂(S) = Σ_S yᵢ/vᵢ / Σ_S 1/vᵢ``
and standard error ``β̂(S)/Z(S)`` are reported with it.

* **One-sided search** (ASSET's ``Subset.1sided``, two-tailed): ``S* = argmax_S |Z(S)|`` over
  all 2ⁿ − 1 subsets, exactly (Gray-code order: each subset from the last by one study).
* **Two-sided search** (``Subset.2sided``): the studies with ``yᵢ ≥ 0`` and those with
  ``yᵢ < 0`` are searched apart, ``S₊ = argmax Z(S)`` and ``S₋ = argmax −Z(S)``, each with its
  one-tailed p given the studies' signs; the two are combined by Fisher's method,
  ``−2 log(p₊p₋)`` on 4 df (2 when one side has no study).

**DLM p-value** (discrete local maxima). The maximum exceeds ``t`` only if some subset is a
local maximum above ``t`` (no subset that differs by one study, other than the empty one, is
larger), so ``P(max ≥ t) ≤ Σ_S P(Z(S) ≥ t, S a local maximum)`` and in the tail the two are
close. Each term is ``∫_t^∞ φ(s) P(local max | Z(S) = s) ds``, estimated as ASSET does by
simulation, here from one seeded set of draws shared by every subset and variant: ``s`` from
an exponential above ``t`` (rate ``max(t, 1)``, weight ``φ(s)/density``), the z-scores given
``Z(S) = s`` as ``x + r u (s − uᵀx)`` with ``x ~ N(0, r)`` and ``u`` the subset's unit weights.
For the one-sided search a local maximum is in ``|Z|`` and the sum is doubled; for each side of
the two-sided search the event also requires that side's z-scores to have its sign, and the
sum is divided by the probability of those signs (``2⁻ⁿ`` without overlap; the normal orthant
probability otherwise). Cost per variant ∝ 2ⁿ · n · ``samples``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .._results import ArrayResult
from ..errors import InputError
from .classical import usable

__all__ = ["AssetArrays", "asset_arrays", "best_subsets"]


@dataclass(frozen=True, repr=False)
class AssetArrays(ArrayResult):
    """Per-column results of :func:`asset_arrays` (NaN without studies).

    Parameters
    ----------
    k : numpy.ndarray
        ``(m,)``: the studies used.
    subset : numpy.ndarray
        ``(k, m)`` booleans: the one-sided search's best subset.
    z, beta, se, p_value, neg_log_10_p_value : numpy.ndarray
        ``(m,)``: its fixed-effect z, estimate and SE, and the DLM p-value with its −log10.
    subset_positive, subset_negative : numpy.ndarray
        ``(k, m)`` booleans: the two-sided search's subsets.
    beta_positive, beta_negative : numpy.ndarray
        ``(m,)``: their fixed effects.
    p_positive, p_negative : numpy.ndarray
        ``(m,)``: their one-tailed p-values (1 for a side with no study).
    p_value_two_sided : numpy.ndarray
        ``(m,)``: the two combined by Fisher's method.
    samples : numpy.ndarray
        ``(m,)``: the draws each variant's DLM sums rest on.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.asset import asset_arrays
    >>> y = np.array([[0.30, 0.1], [0.28, -0.2], [0.02, 0.0], [0.35, 0.05]])
    >>> a = asset_arrays(y, np.full((4, 2), 0.01))
    >>> a.subset_positive[:, 1].tolist(), a.subset_negative[:, 1].tolist()
    ([True, False, False, True], [False, True, False, False])
    """

    k: np.ndarray
    subset: np.ndarray
    z: np.ndarray
    beta: np.ndarray
    se: np.ndarray
    p_value: np.ndarray
    neg_log_10_p_value: np.ndarray
    subset_positive: np.ndarray
    subset_negative: np.ndarray
    beta_positive: np.ndarray
    beta_negative: np.ndarray
    p_positive: np.ndarray
    p_negative: np.ndarray
    p_value_two_sided: np.ndarray
    samples: np.ndarray


def _subsets(n: int) -> np.ndarray:
    """(2ⁿ − 1, n) booleans of the non-empty subsets, in increasing bitmask order."""
    return ((np.arange(1, 2**n)[:, None] >> np.arange(n)) & 1).astype(bool)


def best_subsets(z: np.ndarray, w: np.ndarray, r: np.ndarray, sign: int = 0) -> tuple[np.ndarray, float]:
    """Return the best subset of one variant's studies by brute force (the reference).

    Parameters
    ----------
    z : numpy.ndarray
        The studies' z-scores (n,).
    w : numpy.ndarray
        Their weights (n,).
    r : numpy.ndarray
        Their null correlation (n, n).
    sign : int
        0 to maximise ``|Z(S)|``, ±1 to maximise ``sign·Z(S)``.

    Returns
    -------
    (numpy.ndarray, float)
        The chosen subset as booleans (n,) and its ``Z``.

    Notes
    -----
    Every non-empty subset S, ``Z(S) = Σ_S wᵢzᵢ / √(Σ_{i,j∈S} wᵢwⱼrᵢⱼ)`` (module docstring).

    References
    ----------
    Bhattacharjee et al. (2012), Am J Hum Genet 90:821.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.asset import best_subsets
    >>> s, z = best_subsets(np.array([3.0, 2.5, 0.2, 3.5]), np.ones(4), np.eye(4))
    >>> s.tolist(), round(z, 4)
    ([True, True, False, True], 5.1962)
    """
    sets = _subsets(len(z)).astype(float)
    num = sets @ (w * z)
    den = np.sqrt(np.einsum("si,ij,sj->s", sets * w, r, sets * w))
    zs = num / den
    score = np.abs(zs) if sign == 0 else sign * zs
    i = int(np.argmax(score))
    return sets[i].astype(bool), float(zs[i])


def _dlm_reference(t: float, w: np.ndarray, r: np.ndarray, x: np.ndarray, e: np.ndarray,
                   one_tail: bool) -> float:
    """NumPy reference of the DLM sum for one variant.

    The sum of the module docstring over the studies of ``w`` with correlation ``r``: two-tailed, or
    (``one_tail``) for the positive side of the two-sided search (the z-scores all ≥ 0; the negative side is
    this for −z), before doubling or dividing by the signs' probability. ``x`` (N, n) are the correlated null
    draws, ``e`` (N,) the exponentials.
    """
    n = len(w)
    lam = max(t, 1.0)
    s = t + e / lam
    dens = np.exp(-0.5 * s * s - 0.5 * np.log(2 * np.pi) + e) / lam  # φ(s)/proposal
    total = 0.0
    sets = _subsets(n)
    for S in sets:
        ws = np.where(S, w, 0.0)
        u = ws / np.sqrt(ws @ r @ ws)
        ru = r @ u
        z = x + np.outer(s - x @ u, ru)  # z | Z(S) = s
        ok = np.ones(len(s), bool)
        for j in range(n):
            T = S.copy()
            T[j] = ~T[j]
            if not T.any():
                continue
            wt = np.where(T, w, 0.0)
            zt = z @ wt / np.sqrt(wt @ r @ wt)
            ok &= (zt <= s) if one_tail else (np.abs(zt) <= s)
        if one_tail:
            ok &= (z >= 0).all(axis=1)
        total += (dens * ok).mean()
    return total


def _draws(k: int, r: np.ndarray, samples: int, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Return the common draws.

    ``e`` (samples,) ~ Exp(1), then ``g`` (samples, k) standard normal, drawn study by study so that the
    first n columns do not depend on k. A search over n studies with correlation ``r_S`` uses ``x = g[:,
    :n] L_Sᵀ`` (``L_S L_Sᵀ = r_S``): the same draws as the study-level call on those studies alone,
    whatever else a variant has.
    """
    try:
        np.linalg.cholesky(r)
    except np.linalg.LinAlgError:
        raise InputError("the studies' correlation matrix is not positive definite") from None
    rng = np.random.default_rng(seed)
    e = rng.standard_exponential(samples)
    return rng.standard_normal((k, samples)).T, e


#: Orthant probabilities already integrated, by the bytes of their correlation matrix (a genome-wide
#: run asks for the same few hundred sign patterns in every chunk).
_ORTHANT_CACHE: dict[bytes, float] = {}
_ORTHANT_CACHE_MAX = 100_000
#: Relative accuracy of Genz's integration: far below the DLM sums' own Monte Carlo error (≥ 1e-2
#: relative at the default 2,000 draws), which the orthant probability divides.
ORTHANT_RELEPS = 1e-4


def _orthant(r: np.ndarray, members: np.ndarray) -> float:
    """P(z_G ≥ 0) for z ~ N(0, r) on the studies ``members``.

    ``2⁻ⁿ`` without correlation, Sheppard's closed forms for two and three studies (``1/4 + asin ρ/2π``,
    ``1/8 + Σ asin ρᵢⱼ/4π``), else Genz's integration (SciPy's, seeded) to :data:`ORTHANT_RELEPS`
    relative, each correlation matrix integrated once per process.
    """
    idx = np.flatnonzero(members)
    if idx.size == 0:
        return 1.0
    sub = r[np.ix_(idx, idx)]
    if np.allclose(sub, np.eye(idx.size)):
        return 0.5**idx.size
    if idx.size <= 3:
        pairs = np.arcsin(sub[np.triu_indices(idx.size, 1)]).sum()
        return 0.25 + pairs / (2 * np.pi) if idx.size == 2 else 0.125 + pairs / (4 * np.pi)
    key = np.ascontiguousarray(sub).tobytes()
    prob = _ORTHANT_CACHE.get(key)
    if prob is None:
        zero = np.zeros(idx.size)
        # The probability is at most 1/2 and about 2⁻ⁿ: an absolute tolerance on that scale.
        prob = float(stats.multivariate_normal.cdf(
            zero, mean=zero, cov=sub, releps=ORTHANT_RELEPS, abseps=ORTHANT_RELEPS * 0.5**idx.size,
            maxpts=200_000 * idx.size, rng=np.random.default_rng(0)))
        if len(_ORTHANT_CACHE) < _ORTHANT_CACHE_MAX:
            _ORTHANT_CACHE[key] = prob
    return prob


def asset_arrays(y: np.ndarray, v: np.ndarray, *, r: np.ndarray | None = None,
                 samples: int = 200, samples_large: int = 2000, refine_below: float = 1e-3,
                 seed: int | None = 20261203, compiled: bool = True) -> AssetArrays:
    """ASSET's one- and two-sided subset searches with DLM p-values (module docstring).

    Parameters
    ----------
    y, v : numpy.ndarray
        ``(k, m)`` effects and variances (NaN for a missing study).
    r : numpy.ndarray, optional
        The studies' null z correlation (k, k); none (the identity) by default.
    samples, samples_large, refine_below
        Draws per DLM sum, and ``samples_large`` again where either p is below
        ``refine_below``.
    seed
        Seed of the common draws (made study by study: a variant's p is its study-level one).
    compiled
        ``False`` runs the NumPy reference (slow: for tests).

    Returns
    -------
    AssetArrays
        ``(m,)`` arrays (``z``, ``beta``, ``se``, ``p_value``, ``neg_log_10_p_value``, the
        two-sided fields) and ``(k, m)`` boolean masks of the chosen subsets.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.asset import asset_arrays
    >>> y = np.array([[0.30, 0.1], [0.28, -0.2], [0.02, 0.0], [0.35, 0.05]])
    >>> a = asset_arrays(y, np.full((4, 2), 0.01))
    >>> a.z.round(2).tolist(), a.subset[:, 0].tolist()
    ([5.37, -2.0], [True, True, False, True])
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    if y.ndim == 1:
        y, v = y[:, None], v[:, None]
    k, m = y.shape
    r = np.eye(k) if r is None else np.asarray(r, dtype=float)
    if r.shape != (k, k) or not np.allclose(r, r.T) or not np.allclose(np.diag(r), 1.0):
        raise InputError(f"the correlation matrix must be symmetric ({k} x {k}) with unit diagonal")
    if not (samples >= 1 and samples_large >= samples):
        raise InputError("samples must be at least 1 and samples_large at least samples")
    ok = usable(y, v)
    w = np.where(ok, 1.0 / np.sqrt(np.where(ok, v, 1.0)), 0.0)
    z = np.where(ok, y, 0.0) * w
    g, e = _draws(k, r, samples_large, seed)
    identity = bool(np.array_equal(r, np.eye(k)))
    subset, pos, neg = (np.zeros((k, m), bool) for _ in range(3))
    best = np.full((3, m), np.nan)  # Z of the one-sided search, of S₊ and of S₋ (as −Z)
    dlm = np.full((3, m), np.nan)

    def run(cols: np.ndarray, s: int) -> None:
        parts = [a[:, cols] for a in (subset, pos, neg, best, dlm)]
        if compiled:
            from .asset_loops import asset_columns

            asset_columns(np.ascontiguousarray(z[:, cols]), np.ascontiguousarray(w[:, cols]),
                          np.ascontiguousarray(ok[:, cols]), r, identity, np.ascontiguousarray(g[:s]),
                          e[:s], *parts)
        else:
            for j in range(cols.size):
                _reference_column(j, z[:, cols], w[:, cols], ok[:, cols], r, g[:s], e[:s], *parts)
        for a, part in zip((subset, pos, neg, best, dlm), parts, strict=True):
            a[:, cols] = part

    run(np.arange(m), samples)
    used = np.full(m, samples)
    if samples_large > samples:
        p = _p_values(z, ok, r, pos, neg, dlm)
        again = np.flatnonzero(np.fmin(p[0], p[1]) < refine_below)
        if again.size:
            run(again, samples_large)
            used[again] = samples_large
    n = ok.sum(axis=0)
    p1, p2, p_pos, p_neg = _p_values(z, ok, r, pos, neg, dlm)
    with np.errstate(divide="ignore", invalid="ignore"):
        ww = np.where(subset, w * w, 0.0)
        beta = (np.where(subset, w * z, 0.0)).sum(axis=0) / ww.sum(axis=0)
        se = beta / best[0]
        bp = np.where(pos, w * z, 0.0).sum(axis=0) / np.where(pos, w * w, 0.0).sum(axis=0)
        bn = np.where(neg, w * z, 0.0).sum(axis=0) / np.where(neg, w * w, 0.0).sum(axis=0)
        lg = -np.log10(p1)
    return AssetArrays(n, subset, best[0], beta, se, p1, lg, pos, neg, bp, bn, p_pos, p_neg, p2, used)


def _p_values(z, ok, r, pos, neg, dlm) -> tuple[np.ndarray, ...]:
    """Return the one-sided search's p (its DLM sum doubled: two tails), the two-sided search's combined p.

    And its sides' p: each side's DLM sum over the probability of its studies' signs, 1 for a side without
    studies; Fisher's combination on 4 df (2 with one side).
    """
    m = z.shape[1]
    n = ok.sum(axis=0)
    p_side = np.ones((2, m))
    groups = []
    for side in (0, 1):
        group = _side_members(z, ok, side)
        groups.append(group.any(axis=0))
        patterns, inverse = np.unique(group.T, axis=0, return_inverse=True)
        prob = np.array([_orthant(r, pat) for pat in patterns])[inverse.ravel()]
        with np.errstate(invalid="ignore"):
            p_side[side] = np.where(groups[-1], np.minimum(dlm[1 + side] / prob, 1.0), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = np.where(n > 0, np.minimum(2.0 * dlm[0], 1.0), np.nan)
        fisher = -2.0 * (np.log(p_side[0]) + np.log(p_side[1]))
        p2 = np.where(n > 0, stats.chi2.sf(fisher, np.where(groups[0] & groups[1], 4, 2)), np.nan)
    return p1, p2, p_side[0], p_side[1]


def _side_members(z: np.ndarray, ok: np.ndarray, side: int) -> np.ndarray:
    """Return the studies on one side of the two-sided search: z ≥ 0 (side 0) or z < 0 (side 1)."""
    return ok & ((z >= 0) if side == 0 else (z < 0))


def _reference_column(j, z, w, ok, r, g, e, subset, pos, neg, best, dlm) -> None:
    """NumPy reference of :func:`betameta.kernels.asset_loops.asset_columns` for column j."""
    for slot, side in enumerate((None, 0, 1)):
        members = ok[:, j] if side is None else _side_members(z[:, [j]], ok[:, [j]], side)[:, 0]
        idx = np.flatnonzero(members)
        if idx.size == 0:
            continue
        zz = z[idx, j] if side != 1 else -z[idx, j]  # the negative side as a positive one
        sub_r = r[np.ix_(idx, idx)]
        S, zb = best_subsets(zz, w[idx, j], sub_r, 0 if side is None else 1)
        target = (subset, pos, neg)[slot]
        target[idx[S], j] = True
        best[slot, j] = zb
        x = g[:, :idx.size] @ np.linalg.cholesky(sub_r).T
        dlm[slot, j] = _dlm_reference(abs(zb) if side is None else zb, w[idx, j], sub_r, x, e,
                                      side is not None)
