"""Reference posterior summaries of the normal–normal model by high-precision integration.

Writes ``exact_grid/reference.json``: for a committed grid of cases (k = 2 … 100 studies,
standard errors from 1e-3 to 1e2, every prior of the catalogue, µ flat or normal with ψ² up
to 1e4) the posterior moments and quantiles of τ, µ and θ_new and the Bayes factors, to be
compared with the exact engine in ``tests/bayes/test_exact_grid.py``.

Independent of the engine: the priors are written here from their textbook densities, the
likelihood of τ with µ integrated out uses the matrix determinant lemma for a normal µ prior
(the engine treats that prior as one more observation), and the integrals over u = log τ are
double-exponential trapezoidal sums in mpmath at 30 significant digits (the engine: composite
Gauss–Legendre in float64), refined by halving the step until every quantity moves by less
than 1e-13 relative. Quantiles are roots of the reference CDFs found by Newton's method in
mpmath. Run from the repository root (about 5 minutes on 2 cores):

    python tests/data/make_exact_grid.py
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import mpmath as mp
import numpy as np

mp.mp.dps = 30
OUT = Path(__file__).parent / "exact_grid" / "reference.json"
LEVELS = (0.025, 0.5, 0.975)

# -- priors, from their densities on τ (support, density, proper) ------------------------

INF = mp.inf


def _prior(spec: str, v: list[mp.mpf]):
    """(lower, upper, log density of τ, proper) for a prior spec of the catalogue."""
    name, _, args = spec.partition(":")
    a = [mp.mpf(x) for x in args.split(",")] if args else []
    s0 = 1 / mp.sqrt(mp.fsum(1 / x for x in v) / len(v))  # bayesmeta's reference scale
    lambert = {"L1": "gamma-precision:0.001,0.001", "L3": f"loguniform:{mp.e**-5},{mp.e**5}",
               "L5": "uniform-precision:0.001,1000", "L7": "pareto-precision:1,0.001",
               "L9": "uniform:0,100", "L11": "halfnormal:10"}
    if spec in lambert:
        return _prior(lambert[spec], v)
    if name == "halfnormal":
        (s,) = a
        return 0, INF, lambda t: mp.log(2 / (s * mp.sqrt(2 * mp.pi))) - t * t / (2 * s * s), True
    if name == "halfcauchy":
        (s,) = a
        return 0, INF, lambda t: mp.log(2 / (mp.pi * s * (1 + (t / s) ** 2))), True
    if name == "halft":
        s, nu = a
        c = mp.log(2 * mp.gamma((nu + 1) / 2) / (mp.gamma(nu / 2) * mp.sqrt(nu * mp.pi) * s))
        return 0, INF, lambda t: c - (nu + 1) / 2 * mp.log(1 + (t / s) ** 2 / nu), True
    if name == "exponential":
        (r,) = a
        return 0, INF, lambda t: mp.log(r) - r * t, True
    if name == "lognormal":
        m, sg = a
        return 0, INF, lambda t: (-mp.log(t * sg * mp.sqrt(2 * mp.pi))
                                  - (mp.log(t) - m) ** 2 / (2 * sg * sg)), True
    if name == "uniform":
        lo, hi = a
        return lo, hi, lambda t: -mp.log(hi - lo), True
    if name == "uniform-tau2":
        lo, hi = a
        return mp.sqrt(lo), mp.sqrt(hi), lambda t: mp.log(2 * t / (hi - lo)), True
    if name == "loguniform":
        lo, hi = a
        return lo, hi, lambda t: -mp.log(t * mp.log(hi / lo)), True
    if name == "gamma-precision":  # λ = 1/τ² ~ Gamma(shape, rate); |dλ/dτ| = 2/τ³
        sh, rate = a
        c = sh * mp.log(rate) - mp.loggamma(sh) + mp.log(2)
        return 0, INF, lambda t: c + (sh - 1) * mp.log(1 / t**2) - rate / t**2 - 3 * mp.log(t), True
    if name == "uniform-precision":
        lo, hi = a
        return 1 / mp.sqrt(hi), 1 / mp.sqrt(lo), lambda t: mp.log(2 / (hi - lo)) - 3 * mp.log(t), True
    if name == "pareto-precision":  # λ ≥ scale, density α scale^α λ^(−α−1)
        al, sc = a
        c = mp.log(al) + al * mp.log(sc) + mp.log(2)
        return 0, 1 / mp.sqrt(sc), lambda t: c + (al + 1) * mp.log(t**2) - 3 * mp.log(t), True
    if name == "invgamma-tau2":  # τ² ~ IG(shape, scale); |dτ²/dτ| = 2τ
        sh, sc = a
        c = sh * mp.log(sc) - mp.loggamma(sh) + mp.log(2)
        return 0, INF, lambda t: c - (sh + 1) * mp.log(t**2) - sc / t**2 + mp.log(t), True
    if name == "dumouchel":
        return 0, INF, lambda t: mp.log(s0) - 2 * mp.log(s0 + t), True
    if name == "shrinkage":
        return 0, INF, lambda t: mp.log(2 * s0**2 * t) - 2 * mp.log(s0**2 + t * t), True
    if name == "jeffreys":
        return 0, INF, lambda t: mp.log(mp.fsum((t / (x + t * t)) ** 2 for x in v)) / 2, False
    if name == "flat":
        return 0, INF, lambda t: mp.mpf(0), False
    raise ValueError(spec)


# -- the model given τ -------------------------------------------------------------------

def _given_tau(t, y, v, mu):
    """log p(y|τ) with µ integrated out, and µ | τ, y ~ N(mean, var); ``mu`` is None (flat),
    or (m0, ψ²). For the normal prior: y ~ N(m0·1, D + ψ²11ᵀ), D = diag(vᵢ + τ²), whose
    log-determinant and inverse come from the determinant lemma and Sherman–Morrison."""
    d = [x + t * t for x in v]
    w = [1 / x for x in d]
    sw = mp.fsum(w)
    logdet = mp.fsum(mp.log(x) for x in d)
    if mu is None:
        mean = mp.fsum(wi * yi for wi, yi in zip(w, y, strict=True)) / sw
        rss = mp.fsum(wi * (yi - mean) ** 2 for wi, yi in zip(w, y, strict=True))
        ll = -((len(y) - 1) * mp.log(2 * mp.pi) + logdet + mp.log(sw) + rss) / 2
        return ll, mean, 1 / sw
    m0, psi2 = mu
    r = [yi - m0 for yi in y]
    swr = mp.fsum(wi * ri for wi, ri in zip(w, r, strict=True))
    quad = mp.fsum(wi * ri * ri for wi, ri in zip(w, r, strict=True)) - psi2 * swr**2 / (1 + psi2 * sw)
    ll = -(len(y) * mp.log(2 * mp.pi) + logdet + mp.log(1 + psi2 * sw) + quad) / 2
    var = psi2 / (1 + psi2 * sw)
    return ll, m0 + var * swr, var


def _known_mu(t, y, v, m0):
    """log p(y | τ, µ = m0)."""
    return -mp.fsum(mp.log(2 * mp.pi * (x + t * t)) + (yi - m0) ** 2 / (x + t * t)
                    for yi, x in zip(y, v, strict=True)) / 2


# -- double-exponential trapezoidal sums over u = log τ ------------------------------------

def _map(lo_u, hi_u, centre):
    """u(s) and du/ds for a double-exponential map of the real line onto (lo_u, hi_u)."""
    if lo_u == -INF and hi_u == INF:
        return lambda s: (centre + mp.sinh(s), mp.cosh(s))
    def exp_sinh(s):  # e^(π/2 sinh s): double-exponential at both ends of (0, ∞)
        e = mp.exp(mp.pi / 2 * mp.sinh(s))
        return e, e * mp.pi / 2 * mp.cosh(s)

    if lo_u == -INF:
        return lambda s: (lambda e, d: (hi_u - e, d))(*exp_sinh(s))
    if hi_u == INF:
        return lambda s: (lambda e, d: (lo_u + e, d))(*exp_sinh(s))
    c, r = (lo_u + hi_u) / 2, (hi_u - lo_u) / 2
    return lambda s: (c + r * mp.tanh(mp.pi / 2 * mp.sinh(s)),
                      r * mp.pi / 2 * mp.cosh(s) / mp.cosh(mp.pi / 2 * mp.sinh(s)) ** 2)


class Nodes:
    """The integrand's log value and the conditionals of µ at the trapezoid nodes."""

    def __init__(self, case, mu_known=None):
        self.y = [mp.mpf(x) for x in case["y"]]
        self.v = [mp.mpf(x) for x in case["v"]]
        self.mu = None if case["mu_sd"] is None else (mp.mpf(case["mu_mean"]),
                                                      mp.mpf(case["mu_sd"]) ** 2)
        lo, hi, self.logp, self.proper = _prior(case["tau_prior"], self.v)
        self.lo_u = mp.log(lo) if lo > 0 else -INF
        self.hi_u = mp.log(hi) if hi < INF else INF
        self.mu_known = mu_known
        self.centre = mp.mpf(case["centre_u"])
        self.map = _map(self.lo_u, self.hi_u, self.centre)
        self.rows: dict = {}

    def row(self, s):
        if s not in self.rows:
            u, du = self.map(s)
            t = mp.exp(u)
            if self.mu_known is None:
                ll, mean, var = _given_tau(t, self.y, self.v, self.mu)
            else:
                ll, mean, var = _known_mu(t, self.y, self.v, self.mu_known), mp.mpf(0), mp.mpf(0)
            self.rows[s] = (self.logp(t) + ll + u + mp.log(du), t, mean, var, u)
        return self.rows[s]

    def sweep(self, h, power=0):
        """All nodes s = j·h out to where the integrand, times τ^power for u > 0 (the highest
        moment computed), is below e^-80 of its largest value."""
        nodes = [self.row(mp.mpf(0))]
        top = nodes[0][0]
        for sign in (1, -1):
            j = 1
            while True:
                r = self.row(sign * j * h)
                nodes.append(r)
                top = max(top, r[0])
                if r[0] + power * max(r[4], 0) < top - 80 and j * h > 2:
                    break
                if j * h > 40:
                    raise RuntimeError("the integrand does not decay")
                j += 1
        return nodes


def _moments(nodes, h, power):
    top = max(n[0] for n in nodes)
    out = {"z": mp.mpf(0), "t1": mp.mpf(0), "t2": mp.mpf(0), "m1": mp.mpf(0), "m2": mp.mpf(0)}
    for lf, t, mean, var, _ in nodes:
        w = mp.exp(lf - top) * h
        out["z"] += w
        out["t1"] += w * t
        out["t2"] += w * t * t
        out["m1"] += w * mean
        out["m2"] += w * (var + mean * mean)
    z = out["z"]
    keep = ("t1", "m1") if power >= 1 else ()
    keep += ("t2", "m2") if power >= 2 else ()
    return {"log_z": mp.log(z) + top, **{k: out[k] / z for k in keep}}


def _converged(nodes_of, quantities, power=0):
    """Halve the step until every quantity moves by less than 1e-13 relative."""
    h = mp.mpf(1) / 8
    prev = quantities(nodes_of(h, power), h)
    while True:
        h /= 2
        cur = quantities(nodes_of(h, power), h)
        if all(abs(cur[k] - prev[k]) <= 1e-13 * abs(cur[k]) for k in cur):
            return cur, nodes_of(h, power), h
        if h < mp.mpf(1) / 1024:
            raise RuntimeError(f"no convergence: {prev} -> {cur}")
        prev = cur


def tail_exponent(n: Nodes) -> mp.mpf:
    """d log p(τ|y) / d log τ far out (τ = e^2000 … e^4000), or −inf on a bounded support."""
    if n.hi_u < INF:
        return -INF
    lf = []
    for u in (mp.mpf(2000), mp.mpf(4000)):
        t = mp.exp(u)
        lf.append(n.logp(t) + _given_tau(t, n.y, n.v, n.mu)[0])
    return (lf[1] - lf[0]) / 2000


def reference(case: dict) -> dict:
    """The reference summaries of one case (see the module docstring). A moment that is
    infinite is recorded as ``inf``, a mean that does not exist as ``nan``."""
    if case["tau_prior"].startswith("fixed-tau:"):
        return _fixed(case)
    n = Nodes(case)
    slope = tail_exponent(n)
    # E τ^r is finite where the integrand in u, e^((slope + 1 + r)u), decays.
    t1_ok, t2_ok = slope + 2 < -1e-6, slope + 3 < -1e-6
    power = 2 if t2_ok else (1 if t1_ok else 0)
    mom, nodes, h = _converged(n.sweep, lambda nd, hh: _moments(nd, hh, power), power)
    top = max(x[0] for x in nodes)
    wts = [mp.exp(x[0] - top) * h for x in nodes]
    z = mp.fsum(wts)
    wts = [w / z for w in wts]
    inf, nan = float("inf"), float("nan")
    out: dict = {"step": float(h), "nodes": len(nodes), "tail_exponent": float(slope)}
    out["tau_mean"] = mom["t1"] if t1_ok else inf
    out["tau_sd"] = mp.sqrt(mom["t2"] - mom["t1"] ** 2) if t2_ok else inf
    proper_mu = n.mu is not None
    if t2_ok:
        out["mu_mean"] = mom["m1"]
        out["mu_sd"] = mp.sqrt(mom["m2"] - mom["m1"] ** 2)
        out["theta_new_sd"] = mp.sqrt(mom["m2"] - mom["m1"] ** 2 + mom["t2"])
    else:
        # Needs E|µ̂_τ| and E V_τ only (V_τ ≤ ψ² under a normal prior): computed separately.
        extra = _converged(n.sweep, lambda nd, hh: _mu_moments(nd, hh), 0)[0] if proper_mu else {}
        out["mu_mean"] = extra.get("m1", mom.get("m1", nan)) if (proper_mu or t1_ok) else nan
        out["mu_sd"] = (mp.sqrt(extra["m2"] - extra["m1"] ** 2) if proper_mu else inf)
        out["theta_new_sd"] = inf
    for q in LEVELS:
        out[f"tau_q{q}"] = _tau_quantile(n, q, nodes, wts, mom["log_z"])
    for q in LEVELS:
        out[f"mu_q{q}"] = _mixture_quantile(nodes, wts, q, tau2=False)
        out[f"theta_new_q{q}"] = _mixture_quantile(nodes, wts, q, tau2=True)
    if n.proper:
        out["log_z"] = mom["log_z"]
        ll0 = _given_tau(mp.mpf(0), n.y, n.v, n.mu)[0]
        out["log10_bf_tau0"] = (ll0 - mom["log_z"]) / mp.log(10)
        if n.mu is not None:
            n0 = Nodes(case, mu_known=mp.mpf(0))
            mom0 = _converged(n0.sweep, lambda nd, hh: {"log_z": _moments(nd, hh, 0)["log_z"]})[0]
            out["log10_bf_mu0"] = (mom0["log_z"] - mom["log_z"]) / mp.log(10)
    return {k: (float(x) if not isinstance(x, int) else x) for k, x in out.items()}


def _fixed(case: dict) -> dict:
    """τ known: µ | y and θ_new | y are normal (no integral)."""
    y, v = [mp.mpf(x) for x in case["y"]], [mp.mpf(x) for x in case["v"]]
    mu = None if case["mu_sd"] is None else (mp.mpf(case["mu_mean"]), mp.mpf(case["mu_sd"]) ** 2)
    t = mp.mpf(case["tau_prior"].partition(":")[2])
    ll, mean, var = _given_tau(t, y, v, mu)
    out = {"tau_mean": t, "tau_sd": mp.mpf(0), "mu_mean": mean, "mu_sd": mp.sqrt(var),
           "theta_new_sd": mp.sqrt(var + t * t)}
    for q in LEVELS:
        z = mp.sqrt(2) * mp.erfinv(2 * mp.mpf(q) - 1)
        out[f"tau_q{q}"] = t
        out[f"mu_q{q}"] = mean + z * mp.sqrt(var)
        out[f"theta_new_q{q}"] = mean + z * mp.sqrt(var + t * t)
    out["log10_bf_tau0"] = (_given_tau(mp.mpf(0), y, v, mu)[0] - ll) / mp.log(10)
    if mu is not None:
        out["log_z"] = ll
        out["log10_bf_mu0"] = (_known_mu(t, y, v, mp.mpf(0)) - ll) / mp.log(10)
    return {k: float(x) for k, x in out.items()}


def _mu_moments(nodes, h):
    """E µ and E µ² alone (bounded conditionals under a normal µ prior)."""
    top = max(x[0] for x in nodes)
    z = m1 = m2 = mp.mpf(0)
    for lf, _, mean, var, _ in nodes:
        w = mp.exp(lf - top) * h
        z, m1, m2 = z + w, m1 + w * mean, m2 + w * (var + mean * mean)
    return {"m1": m1 / z, "m2": m2 / z}


def _tau_cdf(n: Nodes, u, log_z):
    """P(log τ ≤ u | y) by a double-exponential sum over (lo_u, u)."""
    sub = Nodes.__new__(Nodes)
    sub.__dict__.update(n.__dict__)
    sub.hi_u = u
    sub.map = _map(n.lo_u, u, n.centre)
    sub.rows = {}
    return _converged(sub.sweep, lambda nodes, h: {
        "m": mp.fsum(mp.exp(x[0] - log_z) for x in nodes) * h})[0]["m"]


def _tau_density_u(n: Nodes, u, log_z):
    t = mp.exp(u)
    return mp.exp(n.logp(t) + _given_tau(t, n.y, n.v, n.mu)[0] + u - log_z)


def _tau_quantile(n: Nodes, q, nodes, wts, log_z):
    """Newton's method in u = log τ from where the trapezoid weights, in order of u, reach
    q; the CDF is one double-exponential sum at the start, then carried from iterate to
    iterate by Gauss–Legendre integrals of the density over the short steps."""
    acc = mp.mpf(0)
    for w, x in sorted(zip(wts, nodes, strict=True), key=lambda p: p[1][4]):
        acc += w
        if acc >= q:
            u = x[4]
            break
    u = min(max(u, n.lo_u + mp.mpf(10) ** -12), n.hi_u - mp.mpf(10) ** -12)
    cdf = _tau_cdf(n, u, log_z)
    for _ in range(60):
        step = -(cdf - q) / _tau_density_u(n, u, log_z)
        new = min(max(u + step, (u + n.lo_u) / 2 if n.lo_u > -INF else u - 2),
                  (u + n.hi_u) / 2 if n.hi_u < INF else u + 2)
        cdf += mp.quad(lambda x: _tau_density_u(n, x, log_z), [u, new], method="gauss-legendre")
        if abs(new - u) < mp.mpf(10) ** -20:
            return mp.exp(new)
        u = new
    raise RuntimeError("tau quantile did not converge")


def _mixture_quantile(nodes, wts, q, tau2):
    """Quantile of µ (or θ_new) = Σ wⱼ N(meanⱼ, varⱼ [+ τⱼ²]) by Newton's method, started
    from a float64 bisection."""
    comps = [(w, x[2], mp.sqrt(x[3] + (x[1] ** 2 if tau2 else 0))) for w, x in zip(wts, nodes, strict=True)
             if w > mp.mpf(10) ** -40]
    from scipy import special

    w = np.array([float(c[0]) for c in comps])
    m = np.array([float(c[1]) for c in comps])
    sd = np.array([float(c[2]) for c in comps])
    lo, hi = float(np.min(m - 40 * sd)), float(np.max(m + 40 * sd))
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if w @ special.ndtr((mid - m) / sd) < q:
            lo = mid
        else:
            hi = mid
    x = mp.mpf(0.5 * (lo + hi))
    for _ in range(30):
        f = mp.fsum(w * mp.ncdf((x - m) / s) for w, m, s in comps) - q
        d = mp.fsum(w * mp.npdf((x - m) / s) / s for w, m, s in comps)
        new = x - f / d
        if abs(new - x) <= mp.mpf(10) ** -20 * (1 + abs(x)):
            return new
        x = new
    raise RuntimeError("mixture quantile did not converge")


# -- the grid -----------------------------------------------------------------------------

PRIORS = ("halfnormal:0.5", "halfcauchy:1", "halft:1,3", "exponential:2", "lognormal:-1,1",
          "uniform:0,10", "uniform-tau2:0,100", "loguniform:0.001,100", "gamma-precision:1,0.5",
          "uniform-precision:0.01,1000", "pareto-precision:1,0.01", "invgamma-tau2:2,0.5",
          "dumouchel", "shrinkage", "jeffreys", "flat", "fixed-tau:0.3", "L1", "L3", "L5", "L7", "L9", "L11")
#: (k, standard errors between 10^lo and 10^hi, µ prior sd or None for flat)
DESIGNS = ((2, -1.0, 0.0, 100.0), (3, -1.0, -0.3, None), (5, -3.0, 2.0, 1.0),
           (20, 1.0, 2.0, None), (50, -1.5, -0.5, 100.0), (100, -1.0, 0.0, None))


def cases() -> list[dict]:
    rng = np.random.default_rng(20261202)
    out = []
    for k, lo, hi, mu_sd in DESIGNS:
        se = 10 ** rng.uniform(lo, hi, k)
        if k == 5:  # the full span of standard errors, 1e-3 to 1e2, in one meta-analysis
            se = np.logspace(lo, hi, k)
        scale = float(np.sqrt(1 / np.mean(se**-2)))
        y = 0.3 + rng.normal(0, scale, k) + rng.normal(0, 1, k) * se
        for prior in PRIORS:
            flat_both = mu_sd is None and prior in ("flat", "jeffreys")
            if prior == "flat" and ((mu_sd is None and k < 4) or k < 3):
                continue  # improper posterior: flat τ needs k ≥ 3 (flat µ: k ≥ 4)
            if flat_both and k < 3:
                continue
            out.append({"k": k, "y": y.tolist(), "v": (se**2).tolist(), "tau_prior": prior,
                        "mu_mean": 0.0 if mu_sd is not None else None, "mu_sd": mu_sd,
                        "centre_u": float(np.log(scale))})
    # Heavy posterior tails (issue 20): k = 2 under L1 with µ ~ N(0, 1000); k = 3, flat µ.
    y2, v2 = [0.10, 0.60], [0.04, 0.09]
    out.append({"k": 2, "y": y2, "v": v2, "tau_prior": "L1", "mu_mean": 0.0,
                "mu_sd": float(np.sqrt(1000)), "centre_u": float(np.log(0.25))})
    out.append({"k": 3, "y": [0.10, 0.60, -0.20], "v": [0.04, 0.09, 0.02], "tau_prior": "L1",
                "mu_mean": None, "mu_sd": None, "centre_u": float(np.log(0.2))})
    return out


def _one(case: dict) -> dict:
    try:
        return reference(case)
    except Exception as exc:  # reported, and the run fails at the end
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def main() -> None:
    grid = cases()
    with ProcessPoolExecutor(int(sys.argv[1]) if len(sys.argv) > 1 else 2) as pool:
        refs = []
        for i, r in enumerate(pool.map(_one, grid, chunksize=1)):
            refs.append(r)
            print(i, grid[i]["k"], grid[i]["tau_prior"], grid[i]["mu_sd"], r.get("error", "ok"),
                  file=sys.stderr, flush=True)
    failed = [(c["k"], c["tau_prior"], c["mu_sd"], r["error"]) for c, r in zip(grid, refs, strict=True)
              if "error" in r]
    if failed:
        raise SystemExit("reference failed for:\n" + "\n".join(map(str, failed)))
    OUT.parent.mkdir(exist_ok=True)
    rows = [{**c, "reference": r} for c, r in zip(grid, refs, strict=True)]
    OUT.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"{len(grid)} cases -> {OUT}")


if __name__ == "__main__":
    main()
