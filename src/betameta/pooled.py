"""Mantel–Haenszel and Peto pooling of 2×2 tables (metafor's ``rma.mh`` and ``rma.peto``).

Tables are ``(ai, bi, ci, di)`` per study: events and non-events in group 1, then group 2;
``n1 = ai + bi``, ``n2 = ci + di``, ``m1 = ai + ci``, ``N = n1 + n2``.

* Mantel–Haenszel OR: ``ψ = Σ(ad/N) / Σ(bc/N)`` with the Robins–Breslow–Greenland
  variance of ``log ψ`` (Robins, Breslow & Greenland 1986); RR: ``Σ(a n2/N) / Σ(c n1/N)``
  with Greenland & Robins' (1985) variance; RD: ``δ = Σ(a n2 − c n1)/N / R``, ``R = Σ n1 n2/N``,
  with the variance of Sato, Greenland & Robins (1989), valid in sparse data:
  ``(δP + Q)/R²``, ``P = Σ(n1²c − n2²a + n1n2(n2 − n1)/2)/N²``,
  ``Q = Σ(a(n2 − c) + c(n1 − a))/(2N)``. The pooled estimate
  uses the counts as they are (no continuity correction).
* Cochran–Mantel–Haenszel test of OR = 1, with continuity correction (metafor's default
  ``correct=TRUE``): ``(|Σa − ΣE a| − ½)² / ΣVar a``, ``E a = n1 m1/N``,
  ``Var a = n1 n2 m1 (N − m1) / (N²(N − 1))``; Tarone's test of homogeneity of the OR.
* Peto's one-step OR: ``log ψ = Σ(a − E a) / ΣVar a``, variance ``1/ΣVar a``.
* Heterogeneity: Cochran's Q of the individual outcomes about the pooled one, with the
  outcomes of escalc (½ added to tables with a zero cell; double-zero tables left out,
  metafor's ``drop00=TRUE`` for the individual outcomes), on their count less one df;
  ``I² = max(0, (Q − df)/Q)``, ``H² = Q/df``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, special

from ._options import check_probability
from ._results import Result, Summary
from .errors import InputError
from .kernels.classical import chi2_sf
from .studies import StudyTable

__all__ = ["PooledTables", "mantel_haenszel", "mantel_haenszel_rates", "peto"]


@dataclass(frozen=True, repr=False)
class PooledTables(Result):
    """A Mantel–Haenszel or Peto fit.

    Estimates on the log scale for OR, RR and IRR; ``cmh``: the Cochran–Mantel–Haenszel test for
    OR, the Mantel–Haenszel test of rates for IRR.

    Parameters
    ----------
    method : str
        ``"MH"`` or ``"PETO"``.
    measure : str
        ``OR``, ``RR``, ``RD``, ``IRR`` or ``IRD``.
    k : int
        The number of tables.
    estimate, se, ci_low, ci_high : float
        The pooled effect (log scale for ratios), its SE and interval.
    z, p : float
        The Wald test of no effect.
    q, q_df, q_p : float
        Cochran's Q of the study effects about the pooled one, on ``k − 1`` df.
    i2, h2 : float
        ``(Q − df)/Q`` (a fraction, at least 0) and ``Q/df``.
    cmh, cmh_p : float or None
        The Cochran–Mantel–Haenszel test (OR) or the Mantel–Haenszel test of rates (IRR).
    tarone, tarone_p : float or None
        Tarone's test of homogeneous odds ratios (MH OR only).
    level : float
        The level of the interval.

    Examples
    --------
    >>> import betameta as bm
    >>> from betameta.pooled import mantel_haenszel
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = mantel_haenszel(studies, measure="RR")
    >>> fit.method, fit.k, round(fit.estimate, 4)
    ('MH', 13, -0.4537)
    """

    method: str
    measure: str
    k: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p: float
    q: float
    q_df: int
    q_p: float
    i2: float
    h2: float
    cmh: float | None = None
    cmh_p: float | None = None
    tarone: float | None = None
    tarone_p: float | None = None
    level: float = 0.95

    _title = "Pooled 2x2 tables"

    def summary(self) -> Summary:
        """Return the fit as a readable report.

        Returns
        -------
        Summary
            Its table is the fields; its text the estimate on the log scale and, for ratios, as
            a ratio, heterogeneity and the CMH and Tarone tests where computed.

        Examples
        --------
        >>> import betameta as bm
        >>> from betameta.pooled import mantel_haenszel
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = mantel_haenszel(studies, measure="RR")
        >>> print(fit.summary().text.splitlines()[2])
        as a ratio: 0.6353 [0.5881, 0.6862]
        """
        name = {"MH": "Mantel-Haenszel", "PETO": "Peto"}[self.method]
        pct = f"{100 * self.level:g}% CI"
        lines = [f"{name} meta-analysis, k = {self.k}, measure {self.measure}",
                 f"estimate {self.estimate:.4f} (se {self.se:.4f}), {pct} [{self.ci_low:.4f}, "
                 f"{self.ci_high:.4f}], z = {self.z:.4f}, p = {self.p:.4g}"]
        if self.measure in ("OR", "RR", "IRR"):
            lines.append(f"as a ratio: {np.exp(self.estimate):.4f} [{np.exp(self.ci_low):.4f}, "
                         f"{np.exp(self.ci_high):.4f}]")
        lines.append(f"heterogeneity: Q = {self.q:.4f} (df {self.q_df}, p = {self.q_p:.4g}), "
                     f"I2 = {100 * self.i2:.1f}%, H2 = {self.h2:.4f}")
        if self.cmh is not None:
            test = "Cochran-Mantel-Haenszel" if self.measure == "OR" else "Mantel-Haenszel"
            line = f"{test} test: X2 = {self.cmh:.4f} (df 1, p = {self.cmh_p:.4g})"
            if self.tarone is not None:
                line += f"; Tarone's test: X2 = {self.tarone:.4f} (p = {self.tarone_p:.4g})"
            lines.append(line)
        return Summary(lines[0], self.to_frame(), text="\n".join(lines))


def _tables(tables: np.ndarray | StudyTable) -> tuple[np.ndarray, ...]:
    if isinstance(tables, StudyTable):
        if tables.tables is None:
            raise InputError("these studies were not computed from 2x2 tables (ai, bi, ci, di): "
                             "Mantel-Haenszel and Peto pool the tables themselves")
        tables = tables.tables
    try:
        t = np.asarray(tables, dtype=float)
    except (TypeError, ValueError) as err:
        raise InputError(f"2x2 tables must be numeric counts of shape (4, k): {err}") from None
    if t.ndim != 2 or t.shape[0] != 4:
        raise InputError(f"2x2 tables must be an array of shape (4, k): ai, bi, ci, di; got {t.shape}")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise InputError("2x2 table cells must be finite counts >= 0")
    a, b, c, d = t
    if np.any(a + b == 0) or np.any(c + d == 0):
        raise InputError("every table needs participants in both groups")
    return a, b, c, d


def _individual(a, b, c, d, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """Escalc's outcomes for Q (:func:`~betameta.effect_sizes.table_effects`), double-zero tables left out."""
    from .effect_sizes import table_effects

    keep = ~((a == 0) & (c == 0) | (b == 0) & (d == 0))
    return table_effects(np.stack([a, b, c, d])[:, keep], measure)


def _finish(method, measure, k, est, var, yi, vi, level, **tests) -> PooledTables:
    se = float(np.sqrt(var))
    crit = float(special.ndtri(0.5 + level / 2))
    z = est / se
    q = float(np.sum((yi - est) ** 2 / vi))
    df = int(yi.size - 1)
    q_p = float(chi2_sf(np.array(q), np.array(float(df)))[0]) if df >= 1 else float("nan")
    i2 = max(0.0, (q - df) / q) if df >= 1 and q > 0 else 0.0
    h2 = q / df if df >= 1 else float("nan")
    return PooledTables(method, measure, k, float(est), se, float(est - crit * se),
                        float(est + crit * se), float(z), float(2 * special.ndtr(-abs(z))), q, df,
                        q_p, float(i2), float(h2), level=level, **tests)


def mantel_haenszel(tables: np.ndarray | StudyTable, *, measure: Literal["OR", "RR", "RD"] = "OR",
                    level: float = 0.95) -> PooledTables:
    """Mantel–Haenszel pooling of 2×2 tables (see the module docstring for the formulas).

    Parameters
    ----------
    tables
        ``(4, k)`` counts: ai, bi, ci, di; or a :class:`~betameta.StudyTable` computed from
        2×2 tables (its ``tables``; ``measure`` is still chosen here).
    measure
        ``OR``, ``RR`` or ``RD``.
    level
        Confidence level.

    Returns
    -------
    PooledTables
        With the Cochran–Mantel–Haenszel and Tarone tests for OR.

    Notes
    -----
    For OR, ψ_MH = Σ aᵢdᵢ/nᵢ / Σ bᵢcᵢ/nᵢ with the Robins–Breslow–Greenland variance of
    log ψ; for RR, Σ aᵢ(cᵢ + dᵢ)/nᵢ / Σ cᵢ(aᵢ + bᵢ)/nᵢ with Greenland and Robins' variance;
    for RD, the Sato–Greenland–Robins variance (module docstring).

    References
    ----------
    Mantel & Haenszel (1959); Robins, Breslow & Greenland (1986); Greenland & Robins (1985);
    Sato, Greenland & Robins (1989); Tarone (1985).

    Examples
    --------
    The BCG trials (metafor's ``rma.mh(measure="RR", …)`` gives −0.4537):

    >>> import pandas as pd
    >>> from betameta.pooled import mantel_haenszel
    >>> bcg = pd.read_csv("examples/bcg.csv")
    >>> fit = mantel_haenszel(bcg[["tpos", "tneg", "cpos", "cneg"]].to_numpy().T, measure="RR")
    >>> round(fit.estimate, 4), fit.k
    (-0.4537, 13)
    """
    if measure not in ("OR", "RR", "RD"):
        raise InputError(f"measure={measure!r} is not one of OR, RR, RD")
    check_probability("level", level)
    a, b, c, d = _tables(tables)
    n1, n2 = a + b, c + d
    n = n1 + n2
    yi, vi = _individual(a, b, c, d, measure)
    if measure == "RD":
        big_r = np.sum(n1 * n2 / n)
        est = np.sum((a * n2 - c * n1) / n) / big_r
        big_p = np.sum((n1 * n1 * c - n2 * n2 * a + n1 * n2 * (n2 - n1) / 2) / (n * n))
        big_q = np.sum((a * (n2 - c) + c * (n1 - a)) / (2 * n))
        var = (est * big_p + big_q) / big_r**2
        return _finish("MH", measure, a.size, est, var, yi, vi, level)
    if measure == "RR":
        r, s = a * n2 / n, c * n1 / n
        if r.sum() == 0 and s.sum() == 0:
            raise InputError("no table has an event: the Mantel–Haenszel risk ratio is 0/0")
        est = np.log(r.sum() / s.sum())
        var = np.sum(n1 * n2 * (a + c) / n**2 - a * c / n) / (r.sum() * s.sum())
        return _finish("MH", measure, a.size, est, var, yi, vi, level)
    r, s = a * d / n, b * c / n
    p, q = (a + d) / n, (b + c) / n
    sr, ss = r.sum(), s.sum()
    if sr == 0 and ss == 0:
        raise InputError("no table informs the odds ratio (each has a zero in both ai·di and bi·ci, e.g. no "
                         "events in either group): the Mantel–Haenszel odds ratio is 0/0")
    est = np.log(sr / ss)
    var = (np.sum(p * r) / (2 * sr**2) + np.sum(p * s + q * r) / (2 * sr * ss)
           + np.sum(q * s) / (2 * ss**2))
    m1 = a + c
    ea = n1 * m1 / n
    va = n1 * n2 * m1 * (n - m1) / (n * n * (n - 1))
    cmh = (abs(a.sum() - ea.sum()) - 0.5) ** 2 / va.sum()
    tarone, tarone_df = _tarone(a, n1, n2, m1, float(np.exp(est)))
    return _finish("MH", measure, a.size, est, var, yi, vi, level, cmh=float(cmh),
                   cmh_p=float(chi2_sf(np.array(cmh), np.array(1.0))[0]), tarone=tarone,
                   tarone_p=float(chi2_sf(np.array(tarone), np.array(float(tarone_df)))[0]))


def _tarone(a, n1, n2, m1, psi) -> tuple[float, int]:
    """Breslow–Day statistic with Tarone's correction, on the informative tables."""
    lo, hi = np.maximum(0.0, m1 - n2), np.minimum(n1, m1)
    inform = hi > lo
    stat_a, stat_e, stat_v = [], [], []
    for ai, n1i, n2i, m1i, l, h in zip(a[inform], n1[inform], n2[inform], m1[inform], lo[inform],
                                        hi[inform], strict=True):
        def g(x, n1i=n1i, n2i=n2i, m1i=m1i):
            return x * (n2i - m1i + x) - psi * (n1i - x) * (m1i - x)
        e = optimize.brentq(g, l, h, xtol=1e-14, rtol=1e-15) if g(l) * g(h) < 0 else (l if g(l) == 0 else h)
        v = 1 / (1 / e + 1 / (n1i - e) + 1 / (m1i - e) + 1 / (n2i - m1i + e))
        stat_a.append(ai)
        stat_e.append(e)
        stat_v.append(v)
    aa, ee, vv = map(np.array, (stat_a, stat_e, stat_v))
    if aa.size < 2:  # no heterogeneity to test with fewer than two informative tables
        return float("nan"), max(int(aa.size) - 1, 0)
    bd = np.sum((aa - ee) ** 2 / vv)
    return float(bd - (aa.sum() - ee.sum()) ** 2 / vv.sum()), int(aa.size - 1)


def peto(tables: np.ndarray | StudyTable, *, level: float = 0.95) -> PooledTables:
    """Peto's one-step odds ratio (metafor's ``rma.peto``; Yusuf et al. 1985).

    Parameters
    ----------
    tables
        ``(4, k)`` counts: ai, bi, ci, di; or a :class:`~betameta.StudyTable` computed from
        2×2 tables.
    level
        Confidence level.

    Returns
    -------
    PooledTables
        The pooled log odds ratio, its SE, interval and test, and Q, I², H².

    Notes
    -----
    ``log ψ = Σ(a − E a) / ΣVar a``, variance ``1/ΣVar a`` (module docstring); Q from the
    individual Peto outcomes ``(a − E a)/Var a`` with variance ``1/Var a`` (tables with
    ``Var a = 0``, double zeros, left out).

    References
    ----------
    Yusuf, S. et al. (1985). Beta blockade during and after myocardial infarction. Prog
    Cardiovasc Dis 27:335–371.

    Examples
    --------
    The BCG trials (metafor's ``rma.peto`` gives −0.4744):

    >>> import pandas as pd
    >>> from betameta.pooled import peto
    >>> bcg = pd.read_csv("examples/bcg.csv")
    >>> round(peto(bcg[["tpos", "tneg", "cpos", "cneg"]].to_numpy().T).estimate, 4)
    -0.4744
    """
    check_probability("level", level)
    a, b, c, d = _tables(tables)
    n1, n2 = a + b, c + d
    n, m1 = n1 + n2, a + c
    ea = n1 * m1 / n
    va = n1 * n2 * m1 * (n - m1) / (n * n * (n - 1))
    if not va.sum() > 0:
        raise InputError("no table informs Peto's odds ratio (each has no events, or only events): "
                         "its estimate is 0/0")
    est = np.sum(a - ea) / va.sum()
    keep = va > 0
    return _finish("PETO", "OR", a.size, est, 1 / va.sum(), (a - ea)[keep] / va[keep],
                   1 / va[keep], level)


def mantel_haenszel_rates(counts: np.ndarray, *, measure: Literal["IRR", "IRD"] = "IRR",
                          level: float = 0.95) -> PooledTables:
    """Mantel–Haenszel pooling of incidence rates (metafor's ``rma.mh`` with person-time).

    ``counts`` ``(4, k)``: events ``x1``, person-time ``t1``, events ``x2``, person-time ``t2``
    per study; ``T = t1 + t2``. IRR: ``log(R/S)``, ``R = Σx1t2/T``, ``S = Σx2t1/T``, with
    Greenland & Robins' (1985) variance ``Σ(t1t2(x1 + x2)/T²)/(RS)``, and the
    Mantel–Haenszel test of IRR = 1 (continuity corrected): ``(|Σx1 − ΣE| − ½)²/ΣV``,
    ``E = (x1 + x2)t1/T``, ``V = (x1 + x2)t1t2/T²``. IRD: ``Σw(x1/t1 − x2/t2)/Σw``,
    ``w = t1t2/T``, variance ``Σw²(x1/t1² + x2/t2²)/(Σw)²``. Q about the pooled outcome
    from escalc's IRR/IRD (½ added where a group has no events; studies without events in
    both groups left out of Q).

    Parameters
    ----------
    counts
        ``(4, k)``: events ``x1``, person-time ``t1``, events ``x2``, person-time ``t2``.
    measure
        ``IRR`` (log incidence-rate ratio) or ``IRD`` (rate difference).
    level
        Confidence level.

    Returns
    -------
    PooledTables
        The pooled estimate, its SE, interval and test, Q, and for IRR the Mantel–Haenszel
        test of IRR = 1 (``cmh``).

    References
    ----------
    Greenland & Robins (1985); Rothman, Greenland & Lash (2008), ch. 15.

    Examples
    --------
    >>> import numpy as np
    >>> counts = np.array([[10, 20, 5], [1000.0, 1500, 800], [5, 12, 2], [1100.0, 1400, 900]])
    >>> round(mantel_haenszel_rates(counts).estimate, 4)
    0.6102
    """
    import pandas as pd

    from .effect_sizes import escalc

    if measure not in ("IRR", "IRD"):
        raise InputError(f"measure={measure!r} is not one of IRR, IRD")
    check_probability("level", level)
    c = np.asarray(counts, dtype=float)
    if c.ndim != 2 or c.shape[0] != 4:
        raise InputError(f"counts must be an array of shape (4, k): x1, t1, x2, t2; got {c.shape}")
    x1, t1, x2, t2 = c
    if not np.all(np.isfinite(c)) or np.any(x1 < 0) or np.any(x2 < 0) or np.any(t1 <= 0) or np.any(t2 <= 0):
        raise InputError("events must be counts >= 0 and person-times > 0")
    big_t = t1 + t2
    keep = ~((x1 == 0) & (x2 == 0))
    yi, vi = escalc(measure, pd.DataFrame({"x1": x1[keep], "t1": t1[keep], "x2": x2[keep],
                                           "t2": t2[keep]}))
    if measure == "IRD":
        w = t1 * t2 / big_t
        est = np.sum(w * (x1 / t1 - x2 / t2)) / w.sum()
        var = np.sum(w * w * (x1 / t1**2 + x2 / t2**2)) / w.sum() ** 2
        return _finish("MH", measure, x1.size, est, var, yi, vi, level)
    r, s = x1 * t2 / big_t, x2 * t1 / big_t
    if r.sum() == 0 and s.sum() == 0:
        raise InputError("no study has an event: the Mantel–Haenszel rate ratio is 0/0")
    est = np.log(r.sum() / s.sum())
    var = np.sum(t1 * t2 * (x1 + x2) / big_t**2) / (r.sum() * s.sum())
    e = (x1 + x2) * t1 / big_t
    v = (x1 + x2) * t1 * t2 / big_t**2
    mh = (abs(x1.sum() - e.sum()) - 0.5) ** 2 / v.sum()
    return _finish("MH", measure, x1.size, est, var, yi, vi, level, cmh=float(mh),
                   cmh_p=float(chi2_sf(np.array(mh), np.array(1.0))[0]))
