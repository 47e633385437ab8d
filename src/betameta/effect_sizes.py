"""Effect sizes from raw study summaries, following metafor's ``escalc``.

Conventions match ``escalc`` (metafor 3.8) with its defaults ``vtype="LS"``,
``add=1/2``, ``to="only0"``:

* MD: ``yi = m1 - m2``, ``vi = sd1²/n1 + sd2²/n2``.
* SMD: Hedges' g, ``yi = J · (m1 - m2) / sp`` with the exact correction
  ``J = Γ(m/2) / (√(m/2) Γ((m-1)/2))``, ``m = n1 + n2 - 2`` (Hedges 1981), and
  ``vi = 1/n1 + 1/n2 + yi² / (2 (n1 + n2))``. SMDH (Bonett 2009, variances not assumed
  equal): ``yi = J(m) (m1 − m2)/s̄``, ``s̄² = (sd1² + sd2²)/2``, and ``vi = J² [yi² (sd1⁴/(n1−1) +
  sd2⁴/(n2−1)) / (2 (sd1² + sd2²)²) + (sd1²/(n1−1) + sd2²/(n2−1)) / s̄²]`` (escalc's, with
  the corrected yi inside); SMD1 (Glass's Δ, standardised by group 2's sd):
  ``yi = J(n2 − 1) (m1 − m2)/sd2``, ``vi = 1/n1 + 1/n2 + yi²/(2 n2)``.
* OR, RR, RD from 2×2 tables (``ai, bi, ci, di`` or ``ai, n1, ci, n2``): a table
  with a zero cell gets 1/2 added to each of its cells, for RD too (as escalc does: a
  double-zero study then has RD 0 with a positive variance).
* ZCOR: Fisher's ``yi = atanh(ri)``, ``vi = 1 / (ni - 3)``; COR: ``ri`` with
  ``vi = (1 − ri²)²/(ni − 1)``.
* ROM: ``log(m1/m2)``, ``vi = sd1²/(n1 m1²) + sd2²/(n2 m2²)``; CVR: the log ratio of the
  coefficients of variation with the small-sample terms ``1/(2(nⱼ − 1))`` (Nakagawa et al.
  2015); VR: ``log(sd1/sd2) + 1/(2(n1 − 1)) − 1/(2(n2 − 1))``, ``vi = Σ 1/(2(nⱼ − 1))``.
* MN: ``mi``, ``sdi²/ni``; MNLN: ``log mi``, ``sdi²/(ni mi²)``.
* Standardised mean change of one group measured twice (``m1, m2, sd1, sd2, ni, ri``, ri
  the pre–post correlation): SMCR ``J(n−1)(m1 − m2)/sd1`` with ``vi = 2(1 − ri)/ni +
  yi²/(2ni)``; SMCC on the sd of the change scores ``√(sd1² + sd2² − 2 ri sd1 sd2)`` with
  ``vi = 1/ni + yi²/(2ni)``.
* PETO: Peto's log odds ratio ``(a − E a)/Var a``, ``vi = 1/Var a`` (½ added to tables with
  a zero cell, as escalc does); UCOR: the unbiased correlation
  ``ri ₂F₁(½, ½; (ni − 2)/2; 1 − ri²)`` (Olkin & Pratt 1958) with ``vi = (1 − yi²)²/(ni − 1)``.
* Proportions from ``xi`` events in ``ni``: PR ``xi/ni``, PLO its logit, PAS
  ``asin √p`` (``1/(4ni)``), PFT the Freeman–Tukey double arcsine (``1/(4ni + 2)``); PR and
  PLO get ½ added to events and non-events where either is 0.
* Incidence from ``xi`` events in ``ti`` person-time: IR ``xi/ti`` (``xi/ti²``), IRLN its
  log (``1/xi``), IRS ``√(xi/ti)`` and IRFT ``(√(xi/ti) + √((xi+1)/ti))/2`` (both
  ``1/(4ti)``); IRR ``log`` of the ratio of two rates (``1/x1 + 1/x2``) and IRD their
  difference (``x1/t1² + x2/t2²``). IR and IRLN add ½ to zero events; IRR and IRD add ½
  to both groups' events where either is 0 (escalc's ``to="only0"``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ._options import MEASURES, Measure, check_option
from .errors import InputError

__all__ = ["RAW_COLUMNS", "TABLE_MEASURES", "escalc", "table_effects", "two_by_two"]

#: Default raw column names: escalc's argument names without the trailing ``i``.
RAW_COLUMNS: dict[str, tuple[str, ...]] = {
    "MD": ("n1", "m1", "sd1", "n2", "m2", "sd2"),
    "SMD": ("n1", "m1", "sd1", "n2", "m2", "sd2"),
    "SMDH": ("n1", "m1", "sd1", "n2", "m2", "sd2"),
    "SMD1": ("n1", "m1", "n2", "m2", "sd2"),
    "OR": ("ai", "bi", "ci", "di"),
    "RR": ("ai", "bi", "ci", "di"),
    "RD": ("ai", "bi", "ci", "di"),
    "ZCOR": ("ri", "ni"),
    "COR": ("ri", "ni"),
    "ROM": ("n1", "m1", "sd1", "n2", "m2", "sd2"),
    "CVR": ("n1", "m1", "sd1", "n2", "m2", "sd2"),
    "VR": ("n1", "sd1", "n2", "sd2"),
    "MN": ("mi", "sdi", "ni"),
    "MNLN": ("mi", "sdi", "ni"),
    **{m: ("xi", "ni") for m in ("PR", "PLO", "PAS", "PFT")},
    **{m: ("xi", "ti") for m in ("IR", "IRLN", "IRS", "IRFT")},
    "IRR": ("x1", "t1", "x2", "t2"),
    "IRD": ("x1", "t1", "x2", "t2"),
    "SMCR": ("m1", "sd1", "m2", "ni", "ri"),
    "SMCC": ("m1", "sd1", "m2", "sd2", "ni", "ri"),
    "PETO": ("ai", "bi", "ci", "di"),
    "UCOR": ("ri", "ni"),
}
_TABLE_ALT = ("ai", "n1", "ci", "n2")  # 2x2 tables given by events and group sizes



def _hedges_j(df: np.ndarray) -> np.ndarray:
    """Hedges' exact small-sample correction factor.

    Hedges' exact small-sample factor J(df) = Γ(df/2) / (√(df/2) Γ((df − 1)/2)) (SciPy
    imported here: study-level use of the other measures does not pay for it).
    """
    from scipy.special import gammaln

    return np.exp(gammaln(df / 2) - 0.5 * np.log(df / 2) - gammaln((df - 1) / 2))

def _column(
    data: pd.DataFrame, name: str, key: str, source: str, *, nonneg: bool = False,
    whole: bool = False,
) -> np.ndarray:
    """Column ``name`` (logical ``key``) as finite floats, with row-level errors; ``whole``.

    Counts, which must be whole numbers.
    """
    if name not in data.columns:
        raise InputError(
            f"{source}: column {name!r} (for {key}) not found; columns are {list(data.columns)}"
        )
    raw = data[name]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    for i, (value, orig) in enumerate(zip(values, raw, strict=True)):
        if not np.isfinite(value):
            what = "missing" if pd.isna(orig) else f"{orig!r} is not a finite number"
            raise InputError(f"{source}: row {i + 1}, column {name!r}: {what}")
        if nonneg and value < 0:
            raise InputError(f"{source}: row {i + 1}, column {name!r}: negative value {value:g}")
        if whole and value != np.floor(value):
            raise InputError(f"{source}: row {i + 1}, column {name!r}: {orig!r} is not a whole "
                             f"number ({key} counts participants or events)")
    return values


def _positive(values: np.ndarray, name: str, source: str) -> None:
    bad = np.flatnonzero(values <= 0)
    if bad.size:
        i = bad[0]
        raise InputError(
            f"{source}: row {i + 1}, column {name!r}: must be > 0, got {values[i]:g}"
        )


def two_by_two(data: pd.DataFrame, columns: Mapping[str, str] | None = None,
               source: str = "data") -> np.ndarray:
    """Return the studies' 2×2 tables ``(4, k)``: ai, bi, ci, di.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per study, with columns ``ai, bi, ci, di`` or ``ai, n1, ci, n2``.
    columns : mapping, optional
        The column names, where they differ (``{"ai": "tpos", ...}``).
    source : str
        How errors name the table (a file name).

    Returns
    -------
    numpy.ndarray
        The cells, (4, k).

    Raises
    ------
    InputError
        A cell that is not a whole count ≥ 0, more events than participants, or an empty group; the
        error names the row and the column.

    Examples
    --------
    >>> import pandas as pd
    >>> from betameta.effect_sizes import two_by_two
    >>> two_by_two(pd.DataFrame({"ai": [10], "n1": [100], "ci": [20], "n2": [100]})).ravel().tolist()
    [10.0, 90.0, 20.0, 80.0]
    """
    cols = dict(columns or {})

    def col(key: str, **kw: bool) -> np.ndarray:
        return _column(data, cols.get(key, key), key, source, **kw)

    use_n = cols.get("bi", "bi") not in data.columns and all(
        cols.get(k, k) in data.columns for k in _TABLE_ALT
    )
    ai, ci = col("ai", nonneg=True, whole=True), col("ci", nonneg=True, whole=True)
    if use_n:
        n1, n2 = col("n1", nonneg=True, whole=True), col("n2", nonneg=True, whole=True)
        for a, n, key in ((ai, n1, "ai"), (ci, n2, "ci")):
            bad = np.flatnonzero(a > n)
            if bad.size:
                raise InputError(
                    f"{source}: row {bad[0] + 1}, column {cols.get(key, key)!r}: "
                    f"more events ({a[bad[0]]:g}) than participants ({n[bad[0]]:g})"
                )
        bi, di = n1 - ai, n2 - ci
    else:
        bi, di = col("bi", nonneg=True, whole=True), col("di", nonneg=True, whole=True)
    cells = np.stack([ai, bi, ci, di])
    empty = np.flatnonzero((cells[:2].sum(0) == 0) | (cells[2:].sum(0) == 0))
    if empty.size:
        raise InputError(f"{source}: row {empty[0] + 1}: a group has no participants")
    return cells


#: The measures computed from 2×2 tables.
TABLE_MEASURES = ("OR", "RR", "RD", "PETO")


#: escalc's ``to``: which tables get ``add`` added to each cell.
CORRECTIONS = ("only0", "all", "if0all", "none")


def table_effects(cells: np.ndarray, measure: str, *, add: float = 0.5, to: str = "only0",
                  drop00: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Return ``yi`` and ``vi`` of a 2×2 measure from ``(4, k)`` tables (ai, bi, ci, di).

    Parameters
    ----------
    cells : numpy.ndarray
        The tables (4, k).
    measure : str
        ``OR``, ``RR``, ``RD`` or ``PETO``… (the 2×2 measures of :func:`betameta.escalc`).
    add : float
        The continuity correction added to the cells of the tables ``to`` names.
    to : {"only0", "all", "if0all", "none"}
        ``only0`` the tables with a zero cell (the default), ``all`` every table, ``if0all`` every
        table when any has a zero cell, ``none`` none (zero cells then give infinite log ratios).
    drop00 : bool
        Whether tables with no events, or only events, in both groups give NaN (escalc's NA),
        uncorrected.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The effects and their sampling variances (k,).

    Raises
    ------
    InputError
        An unknown correction or a negative or non-finite ``add``.

    Notes
    -----
    metafor's ``escalc`` formulas: e.g. the log odds ratio ``log(ai·di/(bi·ci))`` with variance
    ``1/ai + 1/bi + 1/ci + 1/di``.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.effect_sizes import table_effects
    >>> yi, vi = table_effects(np.array([[10.0], [90.0], [20.0], [80.0]]), "OR")
    >>> yi.round(4).tolist(), vi.round(5).tolist()
    ([-0.8109], [0.17361])
    """
    to = check_option("to", to, CORRECTIONS)
    if not (np.isfinite(add) and add >= 0):
        raise InputError(f"add must be a finite number >= 0, got {add}")
    cells = np.asarray(cells, dtype=float)
    zero = (cells == 0).any(axis=0)
    double = ((cells[0] == 0) & (cells[2] == 0)) | ((cells[1] == 0) & (cells[3] == 0))
    fix = {"only0": zero, "all": np.ones_like(zero), "if0all": np.full_like(zero, zero.any()),
           "none": np.zeros_like(zero)}[to]
    if drop00:
        fix = fix & ~double
    ai, bi, ci, di = cells + add * fix
    with np.errstate(divide="ignore", invalid="ignore"):
        yi, vi = _table_outcome(ai, bi, ci, di, measure)
    if drop00:
        yi, vi = np.where(double, np.nan, yi), np.where(double, np.nan, vi)
    return yi, vi


def _table_outcome(ai, bi, ci, di, measure):
    n1, n2 = ai + bi, ci + di
    if measure == "PETO":
        n, m1 = n1 + n2, ai + ci
        var = n1 * n2 * m1 * (n - m1) / (n * n * (n - 1))
        return (ai - n1 * m1 / n) / var, 1 / var
    if measure == "RD":
        p1, p2 = ai / n1, ci / n2
        return p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    if measure == "OR":
        return np.log(ai * di / (bi * ci)), 1 / ai + 1 / bi + 1 / ci + 1 / di
    return np.log(ai / n1) - np.log(ci / n2), 1 / ai - 1 / n1 + 1 / ci - 1 / n2


def escalc(
    measure: Measure,
    data: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    source: str = "data",
) -> tuple[np.ndarray, np.ndarray]:
    """Effect sizes ``yi`` and sampling variances ``vi`` from raw summaries.

    Parameters
    ----------
    measure
        One of ``MD, SMD, OR, RR, RD, ZCOR, COR, ROM, CVR, VR, MN, MNLN, PR, PLO, PAS, PFT,
        IR, IRLN, IRS, IRFT, IRR, IRD, SMCR, SMCC, PETO, UCOR`` (see the module docstring).
    data
        One row per study.
    columns
        Map from logical names (``n1, m1, sd1, ..., ai, bi, ci, di, ri, ni, xi, ti, mi, sdi,
        x1, t1, x2, t2``) to the
        column names in ``data``; unmapped names are looked up as they are.
    source
        Name of the input used in error messages (a file name).

    Returns
    -------
    yi, vi : numpy.ndarray
        The effect of each row and its sampling variance, on the measure's analysis scale
        (logs for the ratio measures), as metafor's ``escalc`` gives them.

    Raises
    ------
    InputError
        An unknown measure, a missing column, or a value the measure cannot take (a
        non-positive SD or group size, a count above its total, …), naming the row and
        column.

    Notes
    -----
    For example ``MD``: yᵢ = m1ᵢ − m2ᵢ, vᵢ = sd1ᵢ²/n1ᵢ + sd2ᵢ²/n2ᵢ; ``SMD`` (Hedges' g):
    yᵢ = J(n1ᵢ + n2ᵢ − 2)·(m1ᵢ − m2ᵢ)/sᵢ with sᵢ the pooled SD and J(df) =
    Γ(df/2)/(√(df/2)·Γ((df − 1)/2)), vᵢ = 1/n1ᵢ + 1/n2ᵢ + yᵢ²/(2(n1ᵢ + n2ᵢ)); the others are
    in the module docstring.

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. J Stat
    Softw 36(3); Hedges, L. V. (1981). J Educ Stat 6:107–128.

    Examples
    --------
    >>> import pandas as pd
    >>> from betameta import escalc
    >>> raw = pd.DataFrame({"n1": [20, 30], "m1": [5.0, 6.0], "sd1": [1.0, 1.5],
    ...                     "n2": [20, 30], "m2": [4.0, 5.5], "sd2": [1.2, 1.4]})
    >>> yi, vi = escalc("SMD", raw)
    >>> yi.round(4).tolist(), vi.round(4).tolist()
    ([0.8874, 0.3401], [0.1098, 0.0676])
    """
    measure = check_option("measure", measure, MEASURES)
    cols = dict(columns or {})

    def col(key: str, **kw: bool) -> np.ndarray:
        return _column(data, cols.get(key, key), key, source, **kw)

    if measure in ("MD", "SMD", "SMDH", "SMD1"):
        n1, n2 = col("n1", nonneg=True, whole=True), col("n2", nonneg=True, whole=True)
        sd2 = col("sd2", nonneg=True)
        sd1 = sd2 if measure == "SMD1" else col("sd1", nonneg=True)  # Glass's Δ needs no sd1
        m1, m2 = col("m1"), col("m2")
        for arr, key in ((n1, "n1"), (n2, "n2"), (sd1, "sd1"), (sd2, "sd2")):
            _positive(arr, cols.get(key, key), source)
        if measure == "MD":
            return m1 - m2, sd1**2 / n1 + sd2**2 / n2
        df = n2 - 1 if measure == "SMD1" else n1 + n2 - 2
        bad = np.flatnonzero(df < 1)
        if bad.size:
            need = "n2 > 1" if measure == "SMD1" else "n1 + n2 > 2"
            raise InputError(f"{source}: row {bad[0] + 1}: {measure} needs {need}")
        j = _hedges_j(df)
        if measure == "SMD1":
            yi = j * (m1 - m2) / sd2
            return yi, 1 / n1 + 1 / n2 + yi**2 / (2 * n2)
        if measure == "SMDH":
            s2 = (sd1**2 + sd2**2) / 2
            yi = j * (m1 - m2) / np.sqrt(s2)
            w1, w2 = sd1**2 / (n1 - 1), sd2**2 / (n2 - 1)
            return yi, j**2 * (yi**2 * (sd1**2 * w1 + sd2**2 * w2) / (8 * s2 * s2) + (w1 + w2) / s2)
        sp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / df)
        yi = j * (m1 - m2) / sp
        return yi, 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))
    if measure in TABLE_MEASURES:
        return table_effects(two_by_two(data, columns, source), measure)
    if measure in ("ROM", "CVR", "VR"):
        n1, n2 = col("n1", nonneg=True, whole=True), col("n2", nonneg=True, whole=True)
        sd1, sd2 = col("sd1", nonneg=True), col("sd2", nonneg=True)
        for arr, key in ((n1, "n1"), (n2, "n2"), (sd1, "sd1"), (sd2, "sd2")):
            _positive(arr, cols.get(key, key), source)
        c1, c2 = 1 / (2 * (n1 - 1)), 1 / (2 * (n2 - 1))
        if measure == "VR":
            return np.log(sd1 / sd2) + c1 - c2, c1 + c2
        m1, m2 = col("m1"), col("m2")
        for arr, key in ((m1, "m1"), (m2, "m2")):
            _positive(arr, cols.get(key, key), source)
        v_rom = sd1**2 / (n1 * m1**2) + sd2**2 / (n2 * m2**2)
        if measure == "ROM":
            return np.log(m1 / m2), v_rom
        return np.log(sd1 / m1) + c1 - np.log(sd2 / m2) - c2, c1 + c2 + v_rom
    if measure in ("SMCR", "SMCC"):
        m1, m2, sd1 = col("m1"), col("m2"), col("sd1", nonneg=True)
        ni, ri = col("ni", nonneg=True, whole=True), col("ri")
        _positive(sd1, cols.get("sd1", "sd1"), source)
        bad = np.flatnonzero((ni < 3) | (np.abs(ri) > 1))
        if bad.size:
            raise InputError(f"{source}: row {bad[0] + 1}: a mean change needs ni >= 3 and "
                             f"-1 <= ri <= 1, got ni = {ni[bad[0]]:g}, ri = {ri[bad[0]]:g}")
        j = _hedges_j(ni - 1)
        if measure == "SMCR":
            yi = j * (m1 - m2) / sd1
            return yi, 2 * (1 - ri) / ni + yi**2 / (2 * ni)
        sd2 = col("sd2", nonneg=True)
        sd_change = np.sqrt(sd1**2 + sd2**2 - 2 * ri * sd1 * sd2)
        _positive(sd_change, cols.get("sd2", "sd2"), source)
        yi = j * (m1 - m2) / sd_change
        return yi, 1 / ni + yi**2 / (2 * ni)
    if measure in ("MN", "MNLN"):
        mi, sdi, ni = col("mi"), col("sdi", nonneg=True), col("ni", nonneg=True, whole=True)
        _positive(ni, cols.get("ni", "ni"), source)
        if measure == "MN":
            return mi, sdi**2 / ni
        _positive(mi, cols.get("mi", "mi"), source)
        return np.log(mi), sdi**2 / (ni * mi**2)
    if measure in ("PR", "PLO", "PAS", "PFT"):
        xi, ni = col("xi", nonneg=True, whole=True), col("ni", nonneg=True, whole=True)
        _positive(ni, cols.get("ni", "ni"), source)
        bad = np.flatnonzero(xi > ni)
        if bad.size:
            raise InputError(f"{source}: row {bad[0] + 1}, column {cols.get('xi', 'xi')!r}: more "
                             f"events ({xi[bad[0]]:g}) than participants ({ni[bad[0]]:g})")
        if measure == "PAS":
            return np.arcsin(np.sqrt(xi / ni)), 1 / (4 * ni)
        if measure == "PFT":
            return 0.5 * (np.arcsin(np.sqrt(xi / (ni + 1))) + np.arcsin(np.sqrt((xi + 1) / (ni + 1)))), \
                1 / (4 * ni + 2)
        add = 0.5 * ((xi == 0) | (xi == ni))
        x, n = xi + add, ni + 2 * add
        p = x / n
        if measure == "PR":
            return p, p * (1 - p) / n
        return np.log(x / (n - x)), 1 / x + 1 / (n - x)
    if measure in ("IR", "IRLN", "IRS", "IRFT"):
        xi, ti = col("xi", nonneg=True, whole=True), col("ti", nonneg=True)
        _positive(ti, cols.get("ti", "ti"), source)
        if measure == "IRS":
            return np.sqrt(xi / ti), 1 / (4 * ti)
        if measure == "IRFT":
            return 0.5 * (np.sqrt(xi / ti) + np.sqrt((xi + 1) / ti)), 1 / (4 * ti)
        x = xi + 0.5 * (xi == 0)
        if measure == "IR":
            return x / ti, x / ti**2
        return np.log(x / ti), 1 / x
    if measure in ("IRR", "IRD"):
        x1, x2 = col("x1", nonneg=True, whole=True), col("x2", nonneg=True, whole=True)
        t1, t2 = col("t1", nonneg=True), col("t2", nonneg=True)
        for arr, key in ((t1, "t1"), (t2, "t2")):
            _positive(arr, cols.get(key, key), source)
        add = 0.5 * ((x1 == 0) | (x2 == 0))
        x1, x2 = x1 + add, x2 + add
        if measure == "IRR":
            return np.log((x1 / t1) / (x2 / t2)), 1 / x1 + 1 / x2
        return x1 / t1 - x2 / t2, x1 / t1**2 + x2 / t2**2
    ri, ni = col("ri"), col("ni", nonneg=True, whole=True)
    bad = np.flatnonzero(np.abs(ri) >= 1)
    if bad.size:
        raise InputError(
            f"{source}: row {bad[0] + 1}, column {cols.get('ri', 'ri')!r}: "
            f"a correlation must lie in (-1, 1), got {ri[bad[0]]:g}"
        )
    least = 3 if measure in ("ZCOR", "UCOR") else 1
    bad = np.flatnonzero(ni <= least)
    if bad.size:
        raise InputError(
            f"{source}: row {bad[0] + 1}, column {cols.get('ni', 'ni')!r}: "
            f"{'Fisher z' if measure == 'ZCOR' else 'a correlation'} needs n > {least}, got {ni[bad[0]]:g}"
        )
    if measure == "COR":
        return ri, (1 - ri**2) ** 2 / (ni - 1)
    if measure == "UCOR":
        from scipy.special import hyp2f1

        yi = ri * hyp2f1(0.5, 0.5, (ni - 2) / 2, 1 - ri**2)
        return yi, (1 - yi**2) ** 2 / (ni - 1)
    return np.arctanh(ri), 1 / (ni - 3)
