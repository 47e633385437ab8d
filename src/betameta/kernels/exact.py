"""Array kernels of the exact normal–normal posterior.

Shapes: ``y`` and ``v`` are ``(k, m)`` (k studies, m independent meta-analyses;
NaN marks a missing study); τ-nodes are ``(n, m)``.

Given τ everything is Gaussian (Röver 2020, bayesmeta): with a normal prior
``µ ~ N(m₀, ψ²)`` treated as one more observation ``(m₀, ψ²)``,

``log p(y|τ) = −½[(n′−1) log 2π + Σ log v′ + Σ (y′ − µ̂_τ)²/v′ + log Σ 1/v′]``,

``v′ = (vᵢ + τ², ψ²)``, ``µ̂_τ = Σ(y′/v′)/Σ(1/v′)``, ``V_τ = 1/Σ(1/v′)``; a flat µ
drops the pseudo-observation. The one-dimensional posterior of τ is integrated
in ``u = log τ`` (where its tails decay exponentially) by composite
Gauss–Legendre quadrature on a range found by a coarse scan, with a panel
edge on every end of the prior's support. Cumulative probabilities use the
Legendre interpolant of the integrand on each panel, integrated exactly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial import legendre
from scipy import special

from ..bayes.priors import MuPrior, TauPrior, data_scale
from ..errors import InputError
from .classical import COMPILED_FROM

_LOG2PI = np.log(2 * np.pi)
_SCAN_HALF_WIDTH = 40.0  # the coarse scan covers log τ within ±40 of the data's scale
_DROP = 40.0  # the integrand is followed down to e^-40 of its maximum
_EPS = 1e-6
_W_MIN = 1e-17  # mixture components lighter than this are left out of quantiles


@dataclass(frozen=True)
class CoefficientPrior:
    """Prior of the coefficients of a Bayesian meta-regression.

    The prior of the coefficients β of a meta-regression ``yᵢ ~ N(xᵢ'β, vᵢ + τ²)`` on the
    design ``X`` (k, p), in the place of µ's: flat (every ``sd`` inf) or independent normals
    ``βⱼ ~ N(meanⱼ, sdⱼ²)``. :func:`conditional` integrates β out given τ
    (:func:`regression_coefficients`); the intercept-only model with ``X = 1`` is µ's.
    """

    X: np.ndarray
    mean: np.ndarray
    sd: np.ndarray

    @property
    def proper(self) -> bool:
        """Whether every coefficient's prior is proper."""
        return bool(np.all(np.isfinite(self.sd)))

    @property
    def scale(self) -> float:
        """The largest prior sd.

        Where the tail scan must look beyond, as :attr:`~betameta.bayes.priors.MuPrior.scale`.
        """
        return float(np.max(self.sd))

    @property
    def name(self) -> str:
        """The prior as written."""
        if not self.proper:
            return "flat"
        return "normal(" + ", ".join(f"{m:g}±{s:g}" for m, s in zip(self.mean, self.sd, strict=True)) + ")"


def regression_coefficients(tau: np.ndarray, y: np.ndarray, v: np.ndarray, prior: CoefficientPrior
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``log p(y|τ)`` (n, m), and β | τ, y ~ N(b, C).

    ``b`` (n, m, p) and ``C`` (n, m, p, p), for τ (n, m) and y, v (k, m) (no missing studies).

    With ``W = diag(1/(vᵢ + τ²))`` and a normal prior ``N(b₀, S₀)`` as p pseudo-observations:
    ``A = X'WX + S₀⁻¹``, ``b = A⁻¹(X'Wy + S₀⁻¹b₀)``, ``C = A⁻¹``,
    ``log p(y|τ) = −½[(k − p_flat) log 2π + Σ log(vᵢ + τ²) + log|S₀| + log|A| + RSS]``,
    ``RSS = Σwᵢ(yᵢ − xᵢ'b)² + (b − b₀)'S₀⁻¹(b − b₀)``; a flat prior drops the S₀ terms and
    has ``p_flat = p`` (0 for a proper one). For ``X = 1`` this is µ's formula
    (:func:`conditional_numpy`).
    """
    X = prior.X
    k, p = X.shape
    vt = v[:, None, :] + tau[None] ** 2  # (k, n, m)
    w = 1.0 / vt
    A = np.einsum("knm,kp,kq->nmpq", w, X, X)
    r = np.einsum("knm,kp,km->nmp", w, X, y)
    const = (k - p) * _LOG2PI
    if prior.proper:
        prec = 1.0 / prior.sd**2
        A = A + np.diag(prec)
        r = r + prec * prior.mean
        const = k * _LOG2PI + float(np.log(prior.sd**2).sum())
    C = np.linalg.inv(A)
    b = np.einsum("nmpq,nmq->nmp", C, r)
    resid = y[:, None, :] - np.einsum("kp,nmp->knm", X, b)
    rss = (w * resid**2).sum(axis=0)
    if prior.proper:
        rss = rss + (((b - prior.mean) / prior.sd) ** 2).sum(axis=2)
    ll = -0.5 * (const + np.log(vt).sum(axis=0) + np.linalg.slogdet(A)[1] + rss)
    return ll, b, C


def conditional(
    tau: np.ndarray, y: np.ndarray, v: np.ndarray, mu: MuPrior | CoefficientPrior
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``log p(y|τ)``, ``µ̂_τ`` and ``V_τ`` at τ of shape (n, m) (module docstring).

    For a meta-regression (a :class:`CoefficientPrior`) the first coefficient's mean and variance.

    From :data:`~betameta.kernels.classical.COMPILED_FROM` columns on, the compiled loop of
    :mod:`.exact_loops` (tested equal to the array code below).
    """
    if isinstance(mu, CoefficientPrior):
        ll, b, C = regression_coefficients(tau, y, v, mu)
        return ll, b[..., 0], C[..., 0, 0]
    if tau.shape[1] >= COMPILED_FROM and np.shape(y) == np.shape(v) and np.shape(y)[1] == tau.shape[1]:
        from .exact_loops import conditional as loop

        ll, mu_hat, var = (np.empty(tau.shape) for _ in range(3))
        loop(np.ascontiguousarray(tau, dtype=float), np.ascontiguousarray(y, dtype=float),
             np.ascontiguousarray(v, dtype=float), float(mu.mean), float(mu.sd), ll, mu_hat, var)
        return ll, mu_hat, var
    return conditional_numpy(tau, y, v, mu)


def conditional_numpy(
    tau: np.ndarray, y: np.ndarray, v: np.ndarray, mu: MuPrior
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NumPy reference of :func:`conditional`."""
    present = np.isfinite(y) & np.isfinite(v)
    k = present.sum(axis=0)
    y0 = np.where(present, y, 0.0)[:, None, :]
    vt = np.where(present, v, 1.0)[:, None, :] + tau[None] ** 2
    w = np.where(present[:, None, :], 1.0 / vt, 0.0)
    sum_logv = np.where(present[:, None, :], np.log(vt), 0.0).sum(axis=0)
    if mu.sd == 0:  # µ known: no integration over µ
        mu_hat = np.full(tau.shape, mu.mean)
        ll = -0.5 * (k * _LOG2PI + sum_logv + (w * (y0 - mu.mean) ** 2).sum(axis=0))
        return ll, mu_hat, np.zeros(tau.shape)
    sw = w.sum(axis=0)
    swy = (w * y0).sum(axis=0)
    n_obs = k.astype(float)
    extra = 0.0
    if mu.proper:
        p0 = 1.0 / mu.sd**2
        sw = sw + p0
        swy = swy + p0 * mu.mean
        n_obs = n_obs + 1.0
    mu_hat = swy / sw
    rss = (w * (y0 - mu_hat[None]) ** 2).sum(axis=0)
    if mu.proper:
        extra = np.log(mu.sd**2) + (mu.mean - mu_hat) ** 2 / mu.sd**2
    ll = -0.5 * ((n_obs - 1) * _LOG2PI + sum_logv + extra + rss + np.log(sw))
    if not mu.proper:  # no study: nothing to integrate a flat µ against
        none = (k == 0)[None]
        return np.where(none, np.nan, ll), np.where(none, np.nan, mu_hat), np.where(none, np.inf, 1.0 / sw)
    return ll, mu_hat, 1.0 / sw


def theta_conditionals(
    tau: np.ndarray, y: np.ndarray, v: np.ndarray, mu_hat: np.ndarray, var: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the normal conditionals of the study effects θᵢ and of βF = Σaᵢθᵢ given τ.

    With ``cᵢ = σᵢ²/(σᵢ² + τ²)``, ``rᵢ = 1 − cᵢ = τ²/(σᵢ² + τ²)`` (computed as such, not as
    ``1 − c``, which is 0 where σᵢ² ≫ τ²) and ``aᵢ = wᵢ/Σw``:
    ``θᵢ | τ, y ~ N(rᵢyᵢ + cᵢµ̂_τ, σᵢ²rᵢ + cᵢ²V_τ)`` and
    ``βF | τ, y ~ N(Σaᵢ E θᵢ, Σaᵢ²σᵢ²rᵢ + (Σaᵢcᵢ)² V_τ)``.
    Shapes: ``tau``, ``mu_hat``, ``var`` (n, m); ``y``, ``v`` (k, m), NaN for a missing
    study (which then gets weight 0). Returns θ means and variances (k, n, m) and βF's (n, m).
    """
    present = np.isfinite(y) & np.isfinite(v)
    vz = np.where(present, v, 1.0)[:, None, :]
    vt = vz + tau[None] ** 2
    c, r = vz / vt, tau[None] ** 2 / vt
    th_mean = r * np.where(present, y, 0.0)[:, None, :] + c * mu_hat[None]
    within = vz * r
    th_var = within + c**2 * var[None]
    w = np.where(present, 1.0 / vz[:, 0, :], 0.0)
    a = (w / w.sum(axis=0))[:, None, :]
    bf_mean = (a * th_mean).sum(axis=0)
    bf_var = (a**2 * within).sum(axis=0) + (a * c).sum(axis=0) ** 2 * var
    return th_mean, th_var, bf_mean, bf_var


def zeta2_conditional_mean(
    tau: np.ndarray, y: np.ndarray, v: np.ndarray, mu_hat: np.ndarray, var: np.ndarray
) -> np.ndarray:
    """``E[ζ² | τ, y]``, ``ζ² = Σaᵢ(θᵢ − βF)²``.

    As a sum of non-negative terms (no difference of second moments, which cancels to nothing where the θᵢ
    are far from 0 or σᵢ² ≫ τ²):

    ``Σaᵢσᵢ²rᵢ(1 − aᵢ) + V_τ Σaᵢ(rᵢ − r̄)² + Σaᵢ(rᵢyᵢ − Σaⱼrⱼyⱼ − (rᵢ − r̄)µ̂_τ)²``, ``r̄ = Σaᵢrᵢ``,

    from ``θᵢ − βF = Σⱼ(δᵢⱼ − aⱼ)θⱼ`` with the θⱼ independent given µ (notation of
    :func:`theta_conditionals`). Shapes as there; returns (n, m).
    """
    present = np.isfinite(y) & np.isfinite(v)
    vz = np.where(present, v, 1.0)[:, None, :]
    vt = vz + tau[None] ** 2
    r = tau[None] ** 2 / vt
    w = np.where(present, 1.0 / vz[:, 0, :], 0.0)
    a = (w / w.sum(axis=0))[:, None, :]
    ry = r * np.where(present, y, 0.0)[:, None, :]
    r_bar = (a * r).sum(axis=0)
    d = ry - (a * ry).sum(axis=0) - (r - r_bar) * mu_hat[None]
    return ((a * vz * r * (1 - a)).sum(axis=0) + var * (a * (r - r_bar) ** 2).sum(axis=0)
            + (a * d * d).sum(axis=0))


def _log_post(tau: np.ndarray, y, v, prior: TauPrior, mu: MuPrior,
              ll: np.ndarray | None = None) -> np.ndarray:
    """Unnormalised ``log p(τ) + log p(y|τ)`` (−inf off the prior's support).

    ``ll`` is ``log p(y|τ)`` when the caller has it already.
    """
    lo, hi = prior.support
    if ll is None:
        ll = conditional(tau, y, v, mu)[0]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lp = prior.logpdf(tau, v) + ll
    inside = (tau >= lo) & (tau <= hi) & np.isfinite(lp)
    return np.where(inside, lp, -np.inf)


@functools.lru_cache(maxsize=16)
def gauss_legendre(order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the ``order``-point Gauss–Legendre nodes and weights on [−1, 1] and ``P_j(x_g)`` (G, G).

    Computed once per order (NumPy's ``leggauss`` solves an eigenproblem each call); read-only.
    """
    x, w = legendre.leggauss(order)
    vander = legendre.legvander(x, order - 1)
    for a in (x, w, vander):
        a.setflags(write=False)
    return x, w, vander


@dataclass(frozen=True)
class QuadratureRule:
    """The size of :func:`tau_grid`'s quadrature.

    ``panels`` panels of ``order`` Gauss–Legendre nodes, after a coarse scan of log τ at spacing ``step``.

    :data:`STUDY_RULE` (24 × 12 nodes after a scan at spacing 1) is the one every
    function uses by default, study level and genome-wide alike: worst error 1.2e-10 on
    the accuracy grid (tests/bayes/test_exact_grid.py). Smaller rules trade accuracy for
    speed; measured against STUDY_RULE on 20,000 GWAS-like variants (k = 5, SEs 1e-4…2,
    half of them heterogeneous) and on the grid: 16 × 10 is 1.7× faster, worst 7e-9
    (GWAS-like) and 1.3e-6 (grid, k = 100 and heavy tails); 12 × 8 is 1.9× faster, worst
    3e-6 and 2e-4.
    """

    panels: int = 24
    order: int = 12
    step: float = 1.0

    @property
    def scan(self) -> np.ndarray:
        """The offsets of the coarse scan in log τ."""
        return np.arange(-_SCAN_HALF_WIDTH, _SCAN_HALF_WIDTH + 1e-9, self.step)


STUDY_RULE = QuadratureRule()


@dataclass(frozen=True)
class MomentExistence:
    """Which posterior moments are finite, per column.

    E τ, E τ² (= Var τ finite), Var τ², E µ, Var µ and Var θ_new. An infinite mean of µ means no mean at
    all (E|µ| = ∞).
    """

    tau_mean: np.ndarray
    tau2_mean: np.ndarray
    tau2_var: np.ndarray
    mu_mean: np.ndarray
    mu_var: np.ndarray
    theta_new_var: np.ndarray


@dataclass(frozen=True)
class TauGrid:
    """Quadrature of the posterior of τ for m meta-analyses.

    ``tau`` and ``weight`` are (n, m): nodes and normalised posterior weights, so
    ``E[g(τ)|y] = Σ weight·g(tau)``. ``log_z`` is ``log ∫ p(τ) p(y|τ) dτ`` (the log
    marginal likelihood when both priors are proper). ``slope_lo``/``slope_hi``
    are the exponents ``d log p(τ|y)/d log τ`` as τ → 0 and τ → ∞ (±inf where the
    prior's support ends first); they decide properness and which moments exist.
    """

    tau: np.ndarray
    weight: np.ndarray
    log_z: np.ndarray
    slope_lo: np.ndarray
    slope_hi: np.ndarray
    edges: np.ndarray | None = None  # (P+1, m) panel edges in log τ
    cum_coef: np.ndarray | None = None  # (G+1, P, m) Legendre coefficients of the panel CDFs
    panel_cdf: np.ndarray | None = None  # (P+1, m) CDF at the panel edges
    log_f_end: np.ndarray | None = None  # (m,) log of the normalised integrand at the last edge
    tail_tau: np.ndarray | None = None  # (2, m) τ at the last edge and a decade beyond
    #: µ̂_τ and V_τ at :attr:`nodes_and_probes` ((n + 2, m)), from the evaluation that gave
    #: the weights (so :func:`mixtures` does not compute them again).
    mu_hat: np.ndarray | None = field(default=None, repr=False)
    var: np.ndarray | None = field(default=None, repr=False)

    @property
    def nodes_and_probes(self) -> np.ndarray:
        """The nodes, then the two tail probes :attr:`tail_tau`.

        ``(n + 2, m)``, where the conditionals of a quantity are evaluated for :class:`Mixture`.
        """
        probes = self.tau[-1:].repeat(2, axis=0) if self.tail_tau is None else self.tail_tau
        return np.concatenate([self.tau, probes])

    def tail_integral(self, log_g: np.ndarray) -> np.ndarray:
        """``∫ g(τ) p(τ|y) dτ`` beyond the last edge ``b``.

        For ``g ≥ 0`` given by its log at the two probes (2, m).

        Beyond ``b`` the integrand in u = log τ follows its power law ``e^((s+1)u)``
        (s = ``slope_hi``: :func:`tail_slopes` makes sure of it where the tail matters) and
        ``g`` its own, ``e^(ρu)`` with ρ from the probes a decade apart, so the tail is
        ``f(b) g(b) / −(s + 1 + ρ)``: negligible unless the integral barely converges, when it
        dominates (e.g. E τ² for k = 2 under L1). inf where it diverges.
        """
        if self.log_f_end is None:
            return np.zeros(self.tau.shape[1])
        log_g = np.asarray(log_g, dtype=float)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            rho = (log_g[1] - log_g[0]) / np.log(10.0)
            rate = -(self.slope_hi + 1 + rho)
            tail = np.exp(self.log_f_end + log_g[0]) / rate
        none = np.isneginf(self.log_f_end) | np.isneginf(log_g[0])
        return np.where(none, 0.0, np.where(rate > _EPS, tail, np.inf))

    def moment(self, r: float) -> np.ndarray:
        """``E[τ^r | y]`` (with :meth:`tail_integral`), inf where it diverges."""
        body = (self.weight * self.tau**r).sum(axis=0)
        if self.log_f_end is None:
            return body
        tail = self.tail_integral(r * np.log(self.tail_tau))
        return np.where(self.finite_moment(r), body + tail, np.inf)

    @property
    def proper(self) -> np.ndarray:
        """Whether each column's posterior of τ is proper."""
        return (self.slope_hi < -1 - _EPS) & (self.slope_lo > -1 + _EPS)

    def finite_moment(self, r: float) -> np.ndarray:
        """Whether ``E[τ^r | y]`` is finite."""
        return self.slope_hi + r < -1 - _EPS

    def existence(self, mu_proper: bool) -> MomentExistence:
        """Which posterior moments exist, per column (the one home of these rules)."""
        tau_mean, tau2_mean = self.finite_moment(1), self.finite_moment(2)
        # µ | τ has variance V_τ ~ τ²/k with a flat µ prior, but at most ψ² with a normal one.
        return MomentExistence(tau_mean, tau2_mean, self.finite_moment(4),
                               tau_mean | mu_proper, tau2_mean | mu_proper, tau2_mean)

    def existence_notes(self, mu_proper: bool, col: int = 0, mean: str = "mu") -> list[str]:
        """Say what :meth:`existence` means for column ``col``, in words.

        ``mean`` names what stands for µ (``the coefficients`` of a meta-regression).
        """
        e = self.existence(mu_proper)
        decay = f"its density decays like tau^{self.slope_hi[col]:.4g}"
        if not e.tau_mean[col]:
            return [f"the posterior mean and sd of tau and tau2 are infinite ({decay})"
                    + ("" if mu_proper else f"; the mean of {mean} and theta_new does not exist")]
        if not e.tau2_mean[col]:
            return [f"the posterior sd of tau and the mean of tau2 are infinite ({decay}), "
                    + ("and so is the sd of theta_new" if mu_proper
                       else f"and so are the sds of {mean} and theta_new")]
        if not e.tau2_var[col]:
            return [f"the posterior sd of tau2 is infinite ({decay})"]
        return []

    def cdf(self, t: np.ndarray) -> np.ndarray:
        """``P(τ ≤ t | y)`` for t of shape (m,) or (j, m)."""
        t = np.asarray(t, dtype=float)
        if self.edges is None:
            return (t >= self.tau[0]).astype(float)
        u = np.log(np.maximum(t, 1e-300))
        edges = self.edges
        shape = u.shape
        u2 = np.atleast_2d(u)
        out = np.empty_like(u2)
        for row in range(u2.shape[0]):
            uu = u2[row]
            idx = np.clip((uu[None] >= edges[1:-1]).sum(axis=0), 0, edges.shape[0] - 2)
            cols = np.arange(uu.size)
            a, b = edges[idx, cols], edges[idx + 1, cols]
            x = np.clip((2 * uu - a - b) / (b - a), -1, 1)
            part = legendre.legval(x, self.cum_coef[:, idx, cols], tensor=False)
            val = self.panel_cdf[idx, cols] + part
            val = np.where(uu <= edges[0], 0.0, np.where(uu >= edges[-1], 1.0, val))
            out[row] = np.clip(val, 0.0, 1.0)
        return out.reshape(shape)

    def quantile(self, q: np.ndarray | float, cols: np.ndarray | None = None) -> np.ndarray:
        """τ with ``P(τ ≤ t | y) = q`` (bisection on the panel interpolants).

        ``q`` is one probability per column, or, with ``cols``, any number of
        probabilities each for the column given in ``cols`` (used for sampling).
        """
        if cols is None:
            cols = np.arange(self.tau.shape[1])
        q = np.broadcast_to(np.asarray(q, dtype=float), cols.shape)
        if self.edges is None:
            return self.tau[0, cols].copy()
        idx = np.clip((q[None] > self.panel_cdf[1:-1, cols]).sum(axis=0), 0,
                      self.edges.shape[0] - 2)
        base = self.panel_cdf[idx, cols]
        coef = self.cum_coef[:, idx, cols]
        lo, hi = -np.ones(q.shape), np.ones(q.shape)
        # Bisection to 1/256 of the panel, then Newton steps on the interpolant (its
        # derivative is the panel's density series) kept inside the bracket: converged to
        # rounding in 8 + 6 evaluations where bisection alone needs 55.
        for _ in range(8):
            mid = 0.5 * (lo + hi)
            below = base + legendre.legval(mid, coef, tensor=False) < q
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        dcoef = legendre.legder(coef, axis=0)
        x = 0.5 * (lo + hi)
        for _ in range(6):
            f = base + legendre.legval(x, coef, tensor=False) - q
            lo = np.where(f < 0, x, lo)
            hi = np.where(f < 0, hi, x)
            with np.errstate(divide="ignore", invalid="ignore"):
                step = x - f / legendre.legval(x, dcoef, tensor=False)
            x = np.where((step >= lo) & (step <= hi), step, 0.5 * (lo + hi))
        a, b = self.edges[idx, cols], self.edges[idx + 1, cols]
        return np.exp(0.5 * (a + b) + 0.5 * (b - a) * x)


def tail_slopes(y, v, prior: TauPrior, mu: MuPrior, lo_u: np.ndarray | None = None,
                hi_u: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power-law exponents of the unnormalised posterior of τ at 0 and at ∞.

    And log τ where the upper one was measured.

    Measured between two points a decade apart, below ``1e-9 ×`` the data's scale and
    ``e⁻²⁰`` below ``lo_u`` (log τ where the posterior's bulk begins), and above ``1e8 ×``
    the data's scale, ``1e4 ×`` a normal µ prior's sd and ``e²⁰`` above ``hi_u``: far out on
    every count, so a prior on a scale far from the data's (τ ~ half-normal(1) with variances
    of 1e300) is measured in its own tail, not in the middle of its decay. Upwards the point
    moves out by factors of 1e10 until two exponents 1e10 apart agree to 1e-11: from there
    on the density is its power law to that accuracy, which :meth:`TauGrid.moment` relies on.
    """
    scale = np.log(data_scale(v))
    lo, hi = prior.support
    u_lo = scale + np.log(1e-9) if lo_u is None else np.minimum(scale + np.log(1e-9), lo_u - 20.0)
    u_hi = scale + np.log(1e8) if hi_u is None else np.maximum(scale + np.log(1e8), hi_u + 20.0)
    if mu.proper and mu.scale > 0:
        u_hi = np.maximum(u_hi, np.log(mu.scale) + np.log(1e4))
    dec = np.log(10.0)

    def slope_at(u1, step, low_end):
        tau = np.exp(np.stack([u1, u1 + step]))
        lp = _log_post(tau, y, v, prior, mu)
        with np.errstate(invalid="ignore"):
            slope = (lp[1] - lp[0]) / step
        # A density that vanishes faster than any power (e.g. exp(-1/τ²) at 0).
        return np.where(np.isneginf(lp[1]), np.inf if low_end else -np.inf, slope)

    if lo == 0:
        slope_lo = slope_at(np.maximum(u_lo, -700.0), -dec, True)
    else:
        slope_lo = np.full(scale.shape, np.inf)
    far = np.minimum(u_hi, 680.0)
    if np.isfinite(hi):
        return slope_lo, np.full(scale.shape, -np.inf), far
    batch = scale.size <= _BATCH_PROBES
    if batch:  # a few columns: every upper probe in one evaluation (the same numbers)
        probes = np.empty((7, *far.shape))
        probes[0] = far
        for i in range(1, 7):  # (added one step at a time, as the loop below moves them)
            probes[i] = np.minimum(probes[i - 1] + 10 * dec, 680.0)
        lp = _log_post(np.exp(np.concatenate([probes, probes + dec])), y, v, prior, mu)
        with np.errstate(invalid="ignore"):
            slopes = np.where(np.isneginf(lp[7:]), -np.inf, (lp[7:] - lp[:7]) / dec)
    slope_hi = slopes[0] if batch else slope_at(far, dec, False)
    settled = np.zeros(scale.shape, dtype=bool)
    for i in range(1, 7):
        further = np.minimum(far + 10 * dec, 680.0)
        s2 = slopes[i] if batch else slope_at(further, dec, False)
        with np.errstate(invalid="ignore"):
            settled = settled | (np.abs(s2 - slope_hi) <= 1e-11 * np.maximum(1.0, np.abs(s2))) | (
                np.isneginf(s2) & np.isneginf(slope_hi)) | (further == far)
        if settled.all():
            break
        far = np.where(settled, far, further)
        slope_hi = np.where(settled, slope_hi, s2)
    return slope_lo, slope_hi, far


#: Up to this many columns :func:`tail_slopes` evaluates all its upper probes at once (a study-level
#: fit); beyond, one probe at a time for the columns still moving.
_BATCH_PROBES = 64

#: The highest power r of τ whose posterior moment the quadrature range is made to cover
#: (E τ⁴ is the variance of τ²); moments that diverge are left to the existence rules.
_MAX_POWER = 4.0


def _spread(D: np.ndarray, width: np.ndarray, n: int) -> np.ndarray:
    """Panel edges at distances ``D sinh(c j/n)/sinh(c)``, j = 0…n, from the mode (n+1, m).

    The first panel ``width`` wide (or D/n, when that is narrower), then growing by the constant factor
    e^(c/n); ``c ≥ 0`` by Newton's method on the log of the first width, which is concave in c (converged
    to 1e-6 in ≤ 12 steps from the large-c guess).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.log(np.minimum(width, D / n) / D)
    uniform = ~(target < -np.log(n) - 1e-9)  # the panels are as narrow as asked for already

    def log_sinh(x):
        return x + np.log1p(-np.exp(-2 * x)) - np.log(2.0)

    c = np.where(uniform, 1.0, np.maximum(-target * n / (n - 1), 1e-3))
    done = uniform.copy()  # each column stops at its own convergence: its edges do not depend on the others
    for _ in range(12):
        h = log_sinh(c / n) - log_sinh(c) - target
        dh = 1 / (n * np.tanh(c / n)) - 1 / np.tanh(c)
        new = np.where(done, c, np.clip(c - h / dh, 1e-6, 700.0))
        done = done | (np.abs(new - c) <= 1e-15 * c)
        c = new
        if done.all():
            break
    j = np.arange(n + 1)[:, None] / n
    frac = np.where(uniform, j, np.sinh(c * j) / np.sinh(c))
    return D * frac


def tau_grid(
    y: np.ndarray,
    v: np.ndarray,
    prior: TauPrior,
    mu: MuPrior,
    *,
    rule: QuadratureRule = STUDY_RULE,
) -> TauGrid:
    """Quadrature nodes and weights for the posterior of τ (see :class:`TauGrid`).

    The integrand in u = log τ, ``f(u) = p(τ) p(y|τ) τ``, is scanned on a coarse grid; the
    range runs from where ``f`` falls e^-40 below its peak to where ``f τ^r`` does, r the
    highest power ≤ 4 whose moment is finite (or, where that one decays too slowly, to where
    the power law of the tail is reached, the rest following analytically). From the mode
    (a parabola through the top of the scan) half the panels go each way, the first as
    wide as the posterior's sd in u and the next ones growing geometrically to the ends, so
    that a sharp peak (k = 100) and a long tail (k = 2) are resolved alike.
    """
    m = y.shape[1]
    if prior.fixed is not None:
        tau = np.full((1, m), prior.fixed)
        ll = conditional(tau, y, v, mu)[0][0]
        inf = np.full(m, np.inf)
        return TauGrid(tau, np.ones((1, m)), ll, inf, -inf)
    order = rule.order
    edges, slope_lo, slope_hi = panel_edges(y, v, prior, mu, rule)
    nv = node_values(edges, y, v, prior, mu, order)
    _, gw, vander = gauss_legendre(order)
    lf, half, n = nv.lf, nv.half, nv.tau.shape[0]
    with np.errstate(divide="ignore"):
        logw = lf + np.log(gw)[:, None, None] + np.log(half)[None]
    log_z = special.logsumexp(logw.reshape(-1, m), axis=0)
    weight = np.exp(logw - log_z)  # (G, P, m)
    # Legendre coefficients of the normalised integrand on each panel, then its integral.
    g = np.exp(lf - log_z) * half[None]  # density in the local coordinate
    coef = np.einsum("j,jn,jpm->npm", gw, vander, g) * ((2 * np.arange(order) + 1) / 2)[:, None, None]
    cum_coef = legendre.legint(coef, lbnd=-1, axis=0)
    panel_mass = weight.sum(axis=0)
    panel_cdf = np.concatenate([np.zeros((1, m)), np.cumsum(panel_mass, axis=0)])
    return TauGrid(nv.tau, weight.reshape(n, m), log_z, slope_lo, slope_hi, edges, cum_coef,
                   panel_cdf, nv.log_f_end - log_z, nv.tail_tau, nv.mu_hat, nv.var)


def panel_edges(y: np.ndarray, v: np.ndarray, prior: TauPrior, mu: MuPrior,
                rule: QuadratureRule = STUDY_RULE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the first stage of :func:`tau_grid`.

    Panel edges in log τ ((P + 1, m)) and the tail exponents of :func:`tail_slopes` (slope_lo, slope_hi).
    """
    m = y.shape[1]
    lo, hi = prior.support
    log_lo = np.log(lo) if lo > 0 else -np.inf
    log_hi = np.log(hi) if np.isfinite(hi) else np.inf
    center = np.log(data_scale(v))
    # Coarse scan on u = log τ: the integrand there is p(τ|y)·τ.
    coarse = rule.scan
    u = center[None] + coarse[:, None]
    for bound in (log_lo, log_hi):
        if np.isfinite(bound):  # make sure the scan sees the support's own range
            near = bound + np.array([-1e-9, 1e-9, 0.25, -0.25])[:, None]
            u = np.concatenate([u, np.broadcast_to(near, (4, m))])
    u = np.sort(u, axis=0)
    lf = _log_post(np.exp(u), y, v, prior, mu) + u
    # Where the peak lies at an end of the scan, the posterior's bulk lies beyond it (a
    # prior on a scale far from the data's, e.g. half-normal(1) with variances of 1e300):
    # the scan is extended that way, a window at a time, to e^±700 at most.
    width = coarse[-1] - coarse[0]
    for _ in range(int(1400 // width) + 1):
        top = np.argmax(lf, axis=0)
        ends = u[top, np.arange(m)]
        down = (top == 0) & (ends > max(log_lo, -700.0)) & np.isfinite(lf.max(axis=0))
        up = (top == u.shape[0] - 1) & (ends < min(log_hi, 700.0)) & np.isfinite(lf.max(axis=0))
        if not (down.any() or up.any()):
            break
        more = np.where(down, u[0] - width - rule.step, np.where(up, u[-1] + rule.step, u[0]))[None] + (
            coarse - coarse[0])[:, None]
        more = np.clip(more, max(log_lo, -700.0), min(log_hi, 700.0))
        u = np.concatenate([u, more])
        lf = np.concatenate([lf, _log_post(np.exp(more), y, v, prior, mu) + more])
        order_u = np.argsort(u, axis=0)
        u, lf = np.take_along_axis(u, order_u, 0), np.take_along_axis(lf, order_u, 0)
    peak = lf.max(axis=0)
    if not np.all(np.isfinite(peak)):
        raise InputError("the posterior of tau vanishes everywhere the prior allows")
    cols = np.arange(m)
    n_scan = u.shape[0]

    def span(values):  # first and last scan index within _DROP of the maximum, one step out
        keep = values >= values.max(axis=0) - _DROP
        first = np.maximum(np.argmax(keep, axis=0) - 1, 0)
        last = np.minimum(n_scan - 1 - np.argmax(keep[::-1], axis=0) + 1, n_scan - 1)
        return first, last

    first, last = span(lf)
    a = np.maximum(u[first, cols], log_lo)
    b0 = np.minimum(u[last, cols], log_hi)
    slope_lo, slope_hi, far = tail_slopes(y, v, prior, mu, a, b0)
    # The highest moment the range must hold: f τ^r falls off where f itself has not yet.
    r = np.zeros(m)
    for power in (1.0, 2.0, _MAX_POWER):
        r = np.where(slope_hi + power < -1 - _EPS, power, r)
    with np.errstate(invalid="ignore"):
        lfr = lf + r[None] * u
    _, last_r = span(np.where(np.isfinite(lfr), lfr, -np.inf))
    still = (last_r == n_scan - 1) & (r > 0) & (not np.isfinite(log_hi))
    b = np.where(still, far, np.maximum(b0, u[last_r, cols]))
    b = np.minimum(b, log_hi)
    # The mode and the sd of u from the parabola through the top of the scan.
    i = np.clip(np.argmax(lf, axis=0), 1, n_scan - 2)
    f0, f1, f2 = lf[i - 1, cols], lf[i, cols], lf[i + 1, cols]
    h0, h1 = u[i, cols] - u[i - 1, cols], u[i + 1, cols] - u[i, cols]
    with np.errstate(invalid="ignore", divide="ignore"):
        d1, d2 = (f1 - f0) / h0, (f2 - f1) / h1
        curv = 2 * (d2 - d1) / (h0 + h1)
        mode = 0.5 * (u[i, cols] + u[i - 1, cols]) - d1 / curv  # the parabola's vertex
    good = np.isfinite(curv) & (curv < 0) & np.isfinite(mode)
    # The first panels at most 0.5 wide: a panel's Legendre interpolant of the CDF (used for
    # quantiles) needs more resolution than its Gauss sum does.
    sd_u = np.minimum(np.where(good, 1.0 / np.sqrt(np.where(good, -curv, 1.0)), 0.5), 0.5)
    mode = np.where(good, mode, u[np.argmax(lf, axis=0), cols])
    span_ab = b - a
    mode = np.clip(mode, a + 0.02 * span_ab, b - 0.02 * span_ab)
    half_p = rule.panels // 2
    left = mode[None] - _spread(mode - a, sd_u, half_p)[::-1]
    right = mode[None] + _spread(b - mode, sd_u, half_p)[1:]
    edges = np.concatenate([left, right])
    edges[0], edges[-1] = a, b
    return edges, slope_lo, slope_hi


@dataclass(frozen=True)
class NodeValues:
    """What :func:`node_values` evaluates.

    ``tau`` (G·P, m) the nodes (node g of panel p at g·P + p), ``lf`` (G, P, m) the log integrand ``log
    p(τ) + log p(y|τ) + log τ`` there, ``half`` (P, m) the panels' half widths, ``tail_tau`` (2, m) the
    probes at the last edge and a decade beyond, ``log_f_end`` (m,) the unnormalised log integrand at the
    last edge (−inf where the support ends there), ``mu_hat``/``var`` (G·P + 2, m) at nodes and probes.
    """

    tau: np.ndarray
    lf: np.ndarray
    half: np.ndarray
    tail_tau: np.ndarray
    log_f_end: np.ndarray
    mu_hat: np.ndarray
    var: np.ndarray


def gauss_nodes(edges: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """τ at the Gauss–Legendre nodes and the two tail probes.

    τ at the ``order`` Gauss–Legendre nodes of every panel (G·P, m; node g of panel p at
    g·P + p) and the two tail probes (2, m): the last edge and a decade beyond.
    """
    m = edges.shape[1]
    x = gauss_legendre(order)[0]
    half = 0.5 * (edges[1:] - edges[:-1])  # (P, m)
    mid = 0.5 * (edges[1:] + edges[:-1])
    tau = np.exp(mid[None] + half[None] * x[:, None, None]).reshape(order * (edges.shape[0] - 1), m)
    b = edges[-1]
    return tau, np.exp(np.minimum(np.stack([b, b + np.log(10.0)]), 700.0))


def node_values(edges: np.ndarray, y: np.ndarray, v: np.ndarray, prior: TauPrior, mu: MuPrior,
                order: int) -> NodeValues:
    """Return the second stage of :func:`tau_grid`.

    One evaluation of the conditionals at the Gauss–Legendre nodes of every panel and at the two tail
    probes beyond the last edge.
    """
    m = edges.shape[1]
    tau, tail_tau = gauss_nodes(edges, order)
    n = tau.shape[0]
    ll, mu_hat, var = conditional(np.concatenate([tau, tail_tau]), y, v, mu)
    lf = (_log_post(tau, y, v, prior, mu, ll[:n]) + np.log(tau)).reshape(order, -1, m)
    b = edges[-1]
    hi = prior.support[1]
    open_end = b < (np.log(hi) if np.isfinite(hi) else np.inf)
    log_f_end = np.where(open_end, _log_post(tail_tau[:1], y, v, prior, mu, ll[n:n + 1])[0] + b,
                         -np.inf)
    return NodeValues(tau, lf, 0.5 * (edges[1:] - edges[:-1]), tail_tau, log_f_end, mu_hat, var)


def log_bf_tau0(log_z: np.ndarray, y: np.ndarray, v: np.ndarray, mu: MuPrior) -> np.ndarray:
    """``log p(y | τ = 0)/p(y)`` per column, ``log_z`` = log p(y) (:attr:`TauGrid.log_z`).

    Bayesmeta's Bayes factor for homogeneity, defined for a proper τ prior (a flat µ prior's constant
    cancels).
    """
    return conditional(np.zeros((1, np.shape(log_z)[0])), y, v, mu)[0][0] - log_z


def log_bf_mu0(log_z: np.ndarray, y: np.ndarray, v: np.ndarray, tau_prior: TauPrior, *,
               rule: QuadratureRule = STUDY_RULE) -> np.ndarray:
    """Log Bayes factor of µ = 0 per column.

    ``log p(y | µ = 0)/p(y)`` per column (bayesmeta's Bayes factor for no effect; defined
    when both priors are proper): the same integral over τ, on the same rule, with µ known
    to be 0.
    """
    return tau_grid(y, v, tau_prior, MuPrior(0.0, 0.0), rule=rule).log_z - log_z


def normal_mixture_quantile(
    w: np.ndarray, mean: np.ndarray, sd: np.ndarray, q: float, tol: float = 1e-13
) -> np.ndarray:
    """Quantile of a normal mixture per column.

    Quantile of ``Σ wⱼ N(meanⱼ, sdⱼ²)`` per column (safeguarded Newton; compiled from
    :data:`~betameta.kernels.classical.COMPILED_FROM` columns on).
    """
    z = special.ndtri(q)
    if w.shape[1] >= COMPILED_FROM:
        from .exact_loops import mixture_quantile

        out = np.empty(w.shape[1])
        mixture_quantile(*(np.ascontiguousarray(a, dtype=float) for a in (w, mean, sd)),
                         float(z), float(q), float(tol), _W_MIN, out)
        return out
    return normal_mixture_quantile_numpy(w, mean, sd, q, tol)


def normal_mixture_quantile_numpy(
    w: np.ndarray, mean: np.ndarray, sd: np.ndarray, q: float, tol: float = 1e-13
) -> np.ndarray:
    """NumPy reference of :func:`normal_mixture_quantile`.

    Components of weight below 1e-17 are left out (together under 3e-15 of the mass). The
    start is the Cornish–Fisher expansion from the mixture's mean M, sd S, skewness and
    kurtosis, inside the bracket of the components' own quantiles; then Halley steps
    (Newton where Halley's leaves the bracket, bisection where both do or where the steps
    stop shrinking), stopping at a step below ``tol × (|x| + S)``, or at a
    Halley step whose predicted error ``K·step³`` (``K = |f″²/4f′² − f‴/6f′|``, Halley's
    error constant from the derivatives at x) is below a hundredth of that: on the
    posteriors of µ this takes 3 evaluations of the mixture where Newton from the normal
    start took 5–6.
    """
    z = special.ndtri(q)
    w = np.where(w >= _W_MIN, w, 0.0)
    use = w > 0
    comp = np.where(use, mean + sd * z, np.nan)
    lo, hi = np.nanmin(comp, axis=0), np.nanmax(comp, axis=0)
    big = (w * mean).sum(axis=0)
    d = mean - big
    s2 = sd * sd
    m2 = (w * (s2 + d * d)).sum(axis=0)
    spread = np.sqrt(m2)
    x = np.clip(big + spread * _cornish_fisher(z, (w * d * (d * d + 3 * s2)).sum(axis=0), (
        w * (d**4 + 6 * d * d * s2 + 3 * s2 * s2)).sum(axis=0), m2), lo, hi)
    sd_safe = np.where(sd > 0, sd, 1.0)
    steps = np.full((3, x.size), np.inf)
    finished = np.zeros(x.size, dtype=bool)
    for it in range(200):
        zz = (x[None] - mean) / sd_safe
        cdf = np.where(sd > 0, special.ndtr(zz), (x[None] >= mean).astype(float))
        pdf = np.where(sd > 0, np.exp(-0.5 * zz * zz) / (np.sqrt(2 * np.pi) * sd_safe), 0.0)
        f = (w * cdf).sum(axis=0) - q
        dens = (w * pdf).sum(axis=0)
        slope = -(w * pdf * zz / sd_safe).sum(axis=0)
        curve = (w * pdf * (zz * zz - 1) / sd_safe**2).sum(axis=0)
        finished = finished | (np.abs(f) < 1e-15)
        lo = np.where(f < 0, x, lo)
        hi = np.where(f >= 0, x, hi)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            halley = x - 2 * f * dens / (2 * dens * dens - f * slope)
            newton = x - f / dens
        h_ok = np.isfinite(halley) & (halley >= lo) & (halley <= hi)
        n_ok = np.isfinite(newton) & (newton >= lo) & (newton <= hi)
        new = np.where(h_ok, halley, np.where(n_ok, newton, 0.5 * (lo + hi)))
        # Bisection where the steps do not shrink (a staircase of narrow components, where
        # the density between them is ~0): a step over half the one two iterations back.
        new = np.where(np.abs(new - x) > 0.5 * steps[(it + 1) % 3], 0.5 * (lo + hi), new)
        step = np.abs(new - x)
        steps[it % 3] = step
        # Halley's error after the step is ~K·step³ (K from the derivatives at x): a small
        # enough step is final without another evaluation of the mixture.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            err_k = np.abs(slope * slope / (4 * dens * dens) - curve / (6 * dens))
            final = (new == halley) & (step <= 1e-3 * spread) & (
                err_k * step**3 <= 0.01 * tol * (np.abs(x) + spread))
        converged = (step <= tol * (np.abs(x) + spread)) | final
        x = np.where(finished, x, new)  # each column stops where the loop of one column does
        finished = finished | converged
        if np.all(finished):
            break
    return x


def _cornish_fisher(z, m3, m4, m2):
    """Cornish–Fisher quantile in sd units.

    The Cornish–Fisher quantile in sd units from the second to fourth central moments
    (0 skewness and excess kurtosis where the variance is 0).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        g1 = np.where(m2 > 0, m3 / m2**1.5, 0.0)
        g2 = np.where(m2 > 0, m4 / (m2 * m2) - 3.0, 0.0)
    return z + (z * z - 1) * g1 / 6 + (z**3 - 3 * z) * g2 / 24 - (2 * z**3 - 5 * z) * g1 * g1 / 36


def normal_mixture_cdf(x: np.ndarray, w: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """CDF of a normal mixture at points x (j, m) → (j, m)."""
    x = np.atleast_2d(x)
    sd_safe = np.where(sd > 0, sd, 1.0)
    zz = (x[:, None, :] - mean[None]) / sd_safe[None]
    cdf = np.where(sd[None] > 0, special.ndtr(zz), (zz >= 0).astype(float))
    return (w[None] * cdf).sum(axis=1)


def normal_mixture_pdf(x: np.ndarray, w: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Density of a normal mixture at points x (j, m) → (j, m) (components with sd 0 are skipped)."""
    x = np.atleast_2d(x)
    sd_safe = np.where(sd > 0, sd, 1.0)
    zz = (x[:, None, :] - mean[None]) / sd_safe[None]
    pdf = np.where(sd[None] > 0, np.exp(-0.5 * zz * zz) / (np.sqrt(2 * np.pi) * sd_safe[None]), 0.0)
    return (w[None] * pdf).sum(axis=1)


@dataclass(frozen=True)
class Mixture:
    """The posterior of a quantity that is normal given τ — µ, θ_new, θᵢ, βF — for m meta-analyses.

    ``Σⱼ weightⱼ N(meansⱼ, sdsⱼ²)`` over the τ nodes of ``grid``, plus the tail beyond its last edge
    (:meth:`TauGrid.tail_integral`, from the conditionals at the two probes ``tail_means``/``tail_sds``).
    The one summariser of these quantities: the study level
    (:class:`~betameta.bayes.marginals.NormalMixture`) is its ``m = 1`` view.

    ``mean_exists``/``var_finite`` (m,) come from :meth:`TauGrid.existence`: a mean that does
    not exist is NaN, an infinite sd inf.
    """

    grid: TauGrid
    means: np.ndarray  # (n, m)
    sds: np.ndarray  # (n, m)
    tail_means: np.ndarray  # (2, m)
    tail_sds: np.ndarray  # (2, m)
    mean_exists: np.ndarray
    var_finite: np.ndarray

    @classmethod
    def at_nodes(cls, grid: TauGrid, means: np.ndarray, sds: np.ndarray,
                 mean_exists: np.ndarray | bool = True, var_finite: np.ndarray | bool = True
                 ) -> Mixture:
        """From conditionals evaluated at :attr:`TauGrid.nodes_and_probes` ((n + 2, m))."""
        n, m = grid.tau.shape
        return cls(grid, means[:n], sds[:n], means[n:], sds[n:],
                   np.broadcast_to(mean_exists, (m,)), np.broadcast_to(var_finite, (m,)))

    def _mean(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            pos = self.grid.tail_integral(np.log(np.maximum(self.tail_means, 0.0)))
            neg = self.grid.tail_integral(np.log(np.maximum(-self.tail_means, 0.0)))
        return (self.grid.weight * self.means).sum(axis=0) + pos - neg

    def mean(self) -> np.ndarray:
        """Return the mean of each column (NaN where it does not exist)."""
        return np.where(self.mean_exists, self._mean(), np.nan)

    def sd(self) -> np.ndarray:
        """Two passes (E[x²] − E[x]² cancels where the means are large), with the tail."""
        c = self._mean()
        body = (self.grid.weight * (self.sds**2 + (self.means - c) ** 2)).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            tail = self.grid.tail_integral(np.log(self.tail_sds**2 + (self.tail_means - c) ** 2))
        return np.where(self.var_finite, np.sqrt(body + tail), np.inf)

    def quantile(self, q: float) -> np.ndarray:
        """Return the ``q`` quantile of each column.

        The ``q`` quantile of each column (the mass beyond the last edge, below e^-40 of
        the peak's, is left out).
        """
        if q <= 0:
            return np.min(np.where(self.grid.weight > 0, self.means - 40 * self.sds, np.inf), axis=0)
        return normal_mixture_quantile(self.grid.weight, self.means, self.sds, q)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """CDF at points x (j, m)."""
        return normal_mixture_cdf(x, self.grid.weight, self.means, self.sds)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Density at points x (j, m)."""
        return normal_mixture_pdf(x, self.grid.weight, self.means, self.sds)


@dataclass(frozen=True)
class Mixtures:
    """Every normal-given-τ posterior of m meta-analyses on one grid (see :func:`mixtures`)."""

    mu: Mixture
    theta_new: Mixture
    beta_f: Mixture
    theta: tuple[Mixture, ...]
    zeta2_mean: np.ndarray


def mixtures(grid: TauGrid, y: np.ndarray, v: np.ndarray, mu: MuPrior, *,
             studies: bool = False) -> Mixtures:
    """µ, θ_new, βF (and, with ``studies``, each θᵢ) of m meta-analyses as :class:`Mixture` objects.

    And the exact mean of ζ², with the existence rules of :meth:`TauGrid.existence` applied (the one place
    they are).
    """
    exist = grid.existence(mu.proper)
    t = grid.nodes_and_probes
    if grid.mu_hat is not None:
        mu_hat, var = grid.mu_hat, grid.var
    else:  # a point-mass prior's grid
        _, mu_hat, var = conditional(t, y, v, mu)
    n = grid.tau.shape[0]
    if studies or t.shape[1] < COMPILED_FROM:
        th_mean, th_var, bf_mean, bf_var = theta_conditionals(t, y, v, mu_hat, var)
        z2 = zeta2_conditional_mean(grid.tau, y, v, mu_hat[:n], var[:n])
    else:  # βF and ζ² without the (k, n, m) θ arrays
        from .exact_loops import beta_f_zeta2

        bf_mean, bf_var, z2 = (np.empty(t.shape) for _ in range(3))
        beta_f_zeta2(np.ascontiguousarray(t), np.ascontiguousarray(y), np.ascontiguousarray(v),
                     mu_hat, var, bf_mean, bf_var, z2)
        z2 = z2[:n]
    zeta2 = (grid.weight * z2).sum(axis=0)  # bounded given τ (θᵢ → yᵢ as τ → ∞): always finite
    theta = tuple(Mixture.at_nodes(grid, th_mean[i], np.sqrt(th_var[i]))
                  for i in range(y.shape[0])) if studies else ()
    return Mixtures(
        Mixture.at_nodes(grid, mu_hat, np.sqrt(var), exist.mu_mean, exist.mu_var),
        Mixture.at_nodes(grid, mu_hat, np.sqrt(var + t**2), exist.mu_mean, exist.theta_new_var),
        Mixture.at_nodes(grid, bf_mean, np.sqrt(bf_var)),
        theta, zeta2)
