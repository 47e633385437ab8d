"""Study tables: reading, validating and converting per-study effect estimates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._options import MEASURES, Measure, check_option, check_probability
from .effect_sizes import RAW_COLUMNS, TABLE_MEASURES, _column, _positive, escalc, table_effects, two_by_two
from .errors import InputError
from .tables import read_table

__all__ = ["StudyTable", "load_studies"]


@dataclass(frozen=True, repr=False)
class StudyTable:
    """Per-study effect estimates ``yi`` with sampling variances ``vi``.

    Parameters
    ----------
    yi, vi : numpy.ndarray
        Effects and their variances (``vi > 0``, all finite).
    labels : tuple of str
        One unique label per study.
    measure : str or None
        The escalc measure the effects were computed with, if any.
    raw : pandas.DataFrame or None
        The raw summary columns (for forest plots), when effects were computed.
    n : numpy.ndarray or None
        Each study's total sample size, when the effects were computed from raw columns
        that give it (for the unit-information SD, :func:`betameta.bayes.priors.uisd`).
    tables : numpy.ndarray or None
        The 2×2 tables ``(4, k)`` (ai, bi, ci, di) the OR, RR or RD effects came from (for
        Mantel–Haenszel and Peto pooling, :mod:`betameta.pooled`).
    data : pandas.DataFrame or None
        Every column of the table the studies were read from, one row per study (where
        :func:`betameta.regression.meta_regression` finds its moderators).

    Raises
    ------
    InputError
        Lengths that differ, an effect or variance that is not finite, a variance ≤ 0, or a
        label that is empty or repeated (the error names the row).

    Examples
    --------
    >>> import numpy as np
    >>> from betameta import StudyTable
    >>> st = StudyTable(np.array([0.1, 0.4]), np.array([0.01, 0.02]), ("A", "B"))
    >>> st.k, st.sei.round(4).tolist()
    (2, [0.1, 0.1414])
    """

    yi: np.ndarray
    vi: np.ndarray
    labels: tuple[str, ...]
    measure: str | None = None
    raw: pd.DataFrame | None = field(default=None, compare=False)
    n: np.ndarray | None = field(default=None, compare=False)
    tables: np.ndarray | None = field(default=None, compare=False)
    data: pd.DataFrame | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        yi = np.asarray(self.yi, dtype=float).reshape(-1)
        vi = np.asarray(self.vi, dtype=float).reshape(-1)
        if yi.shape != vi.shape or len(self.labels) != yi.size:
            raise InputError("effects, variances and labels must have the same length")
        object.__setattr__(self, "yi", yi)
        object.__setattr__(self, "vi", vi)
        _check_values(yi, "effect", "studies")
        _check_values(vi, "variance", "studies", positive=True)
        _check_labels(self.labels, "studies")

    @property
    def k(self) -> int:
        """Number of studies."""
        return int(self.yi.size)

    @property
    def sei(self) -> np.ndarray:
        """Standard errors ``√vi``."""
        return np.sqrt(self.vi)

    def to_frame(self) -> pd.DataFrame:
        """Return the studies as a tidy table.

        Returns
        -------
        pandas.DataFrame
            One row per study: ``study``, ``yi``, ``vi``, ``sei``, then the raw summary
            columns when the effects were computed from them.

        Examples
        --------
        >>> import numpy as np
        >>> from betameta import StudyTable
        >>> st = StudyTable(np.array([0.1, 0.4]), np.array([0.01, 0.04]), ("A", "B"))
        >>> st.to_frame().columns.tolist(), st.to_frame()["sei"].tolist()
        (['study', 'yi', 'vi', 'sei'], [0.1, 0.2])
        """
        frame = pd.DataFrame({"study": self.labels, "yi": self.yi, "vi": self.vi, "sei": self.sei})
        if self.raw is not None:
            frame = pd.concat([frame, self.raw.reset_index(drop=True)], axis=1)
        return frame

    def drop(self, index: int) -> StudyTable:
        """Return the table without one study (for leave-one-out).

        Parameters
        ----------
        index : int
            The position of the study to leave out (0-based).

        Returns
        -------
        StudyTable
            The other ``k − 1`` studies, in their order, with every per-study field.

        Examples
        --------
        >>> import numpy as np
        >>> from betameta import StudyTable
        >>> st = StudyTable(np.array([0.1, 0.4, 0.2]), np.array([0.01, 0.04, 0.02]), ("A", "B", "C"))
        >>> st.drop(1).labels
        ('A', 'C')
        """
        return self.subset(np.flatnonzero(np.arange(self.k) != index))

    def subset(self, index: np.ndarray) -> StudyTable:
        """Return the studies at some positions, in that order.

        Parameters
        ----------
        index : array_like of int
            0-based positions; every per-study field (labels, raw columns, sample sizes,
            2×2 tables, the source table's rows) is taken with them.

        Returns
        -------
        StudyTable
            The selected studies.

        Examples
        --------
        >>> import numpy as np
        >>> from betameta import StudyTable
        >>> st = StudyTable(np.array([0.1, 0.4, 0.2]), np.array([0.01, 0.04, 0.02]), ("A", "B", "C"))
        >>> st.subset([2, 0]).labels, st.subset([2, 0]).yi.tolist()
        (('C', 'A'), [0.2, 0.1])
        """
        index = np.asarray(index, dtype=int)
        raw = None if self.raw is None else self.raw.iloc[index]
        labels = tuple(self.labels[i] for i in index)
        n = None if self.n is None else self.n[index]
        tables = None if self.tables is None else self.tables[:, index]
        data = None
        if self.data is not None:
            data = self.data.iloc[index].reset_index(drop=True)
            data.attrs = dict(self.data.attrs)
        return StudyTable(self.yi[index], self.vi[index], labels, self.measure, raw, n, tables, data)

    def __repr__(self) -> str:
        m = f", measure={self.measure}" if self.measure else ""
        return f"StudyTable(k={self.k}{m})"


def _check_values(values: np.ndarray, what: str, source: str, positive: bool = False) -> None:
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise InputError(f"{source}: row {bad[0] + 1}, {what}: missing or non-finite value")
    if positive:
        bad = np.flatnonzero(values <= 0)
        if bad.size:
            raise InputError(
                f"{source}: row {bad[0] + 1}, {what}: must be > 0, got {values[bad[0]]:g}"
            )


def _check_labels(labels: tuple[str, ...], source: str) -> None:
    """Check that study labels are non-empty and unique.

    Labels must be non-empty and unique once surrounding whitespace is set aside ("A" and
    "A " name one study twice).
    """
    seen: dict[str, int] = {}
    for i, lab in enumerate(labels):
        key = str(lab).strip()
        if not key:
            raise InputError(f"{source}: row {i + 1}: empty study label")
        if key in seen:
            j = seen[key]
            same = "" if labels[j] == lab else f" ({labels[j]!r} and {lab!r} differ only by whitespace)"
            raise InputError(f"{source}: row {i + 1}: study label {key!r} duplicates row {j + 1}{same}")
        seen[key] = i


def load_studies(
    data: pd.DataFrame | str | Path,
    *,
    effect: str | None = None,
    se: str | None = None,
    variance: str | None = None,
    measure: Measure | None = None,
    study: str | None = None,
    columns: Mapping[str, str] | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    ci_low: str | None = None,
    ci_high: str | None = None,
    p_value: str | None = None,
    ci_level: float = 0.95,
    ratio: bool = False,
    drop_missing: bool = False,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
) -> StudyTable:
    """Build a :class:`StudyTable` from a DataFrame or a file.

    Give either ``effect`` with ``se`` or ``variance`` (precomputed estimates), or
    ``measure`` to compute effects from raw summaries as metafor's ``escalc``
    does (see :mod:`betameta.effect_sizes`). With neither, columns ``yi``/``vi`` or
    ``yi``/``sei`` are used when present.

    Parameters
    ----------
    data
        A DataFrame, or a path to a CSV/TSV/Parquet file.
    effect, se, variance
        Column names of the effect and its standard error or variance.
    measure
        An escalc measure (``MD``, ``SMD``, ``OR``, ``RR``, ``RD``, ``ZCOR``, …; the list and
        formulas in :mod:`betameta.effect_sizes`).
    study
        Column of study labels (read as text: a study called "NA" keeps its name; labels are
        stripped of surrounding whitespace). By default the column ``study`` when there is
        one, else the studies are labelled ``1..k``; a column named here must exist.
    columns
        Map from escalc's logical names (``n1``, ``m1``, ``ai`` ...) to columns.
    sep, encoding
        For text files: see :func:`betameta.read_table` (detected when not given).
    ci_low, ci_high, p_value
        Without ``se`` or ``variance``: the standard error from a reported confidence interval
        (``(high − low) / (2 z)``, z the normal quantile of ``ci_level``) or, without one,
        from a reported two-sided p-value (``|y| / Φ⁻¹(1 − p/2)``), as for Wald statistics.
    ci_level
        The level of the reported confidence intervals (default 0.95).
    ratio
        The effect and its interval are ratios (OR, RR, HR …): their logs are used, the
        scale on which the interval is symmetric.
    drop_missing
        Rows with a missing value in a column the effects are computed from are refused by
        default (naming the row and column); with ``drop_missing`` they are left out,
        counted and named in an :class:`~betameta.errors.InputNote` (metafor omits them
        with a warning). Studies keep their labels (row numbers when there is no label
        column).
    add, to, drop00
        For the 2×2 measures (OR, RR, RD, PETO): escalc's continuity correction (``add``
        added to every cell of the tables ``to`` names: ``only0``, ``all``, ``if0all`` or
        ``none``) and ``drop00``, which leaves out, counted, the tables with no events or only
        events in both groups (see :func:`~betameta.effect_sizes.table_effects`).

    Returns
    -------
    StudyTable
        The effects ``yi``, variances ``vi`` and labels, with the measure and the source
        table (``to_frame()`` shows them side by side).

    Raises
    ------
    InputError
        Naming the file, row and column of a missing column, a missing or non-finite value,
        a non-positive variance, an empty or duplicated study label, or a fractional count.

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/lecture.csv", measure="MD")
    >>> studies.k, studies.labels[0], round(float(studies.yi[0]), 2), round(float(studies.vi[0]), 4)
    (6, 'Turner 2000c', 0.35, 0.4717)
    """
    source = str(data) if isinstance(data, str | Path) else "data"
    label_col = study if study is not None else "study"
    if isinstance(data, str | Path):
        frame = read_table(data, sep=sep, encoding=encoding, text=(label_col,))
    else:
        frame = data.reset_index(drop=True)
    if frame.shape[0] == 0:
        raise InputError(f"{source}: no rows")
    if study is not None and study not in frame.columns:
        raise InputError(f"{source}: no column {study!r} for the study labels; columns are "
                         f"{list(frame.columns)}")
    if label_col in frame.columns:
        _check_labels(tuple(str(s) for s in frame[label_col]), source)
        labels = tuple(str(s).strip() for s in frame[label_col])
    else:
        labels = tuple(str(i + 1) for i in range(frame.shape[0]))

    frame, labels = _missing_rows(frame, labels, _used_columns(frame, measure, columns, effect, se,
                                                              variance, ci_low, ci_high, p_value),
                                  drop_missing, source)
    raw = n = tables = None
    if measure is not None:
        if effect is not None or se is not None or variance is not None:
            raise InputError("give either a measure (raw columns) or effect with se/variance")
        measure = check_option("measure", measure, MEASURES)  # type: ignore[assignment]
        if measure in TABLE_MEASURES:  # the tables are read once, kept for MH/Peto pooling
            tables = two_by_two(frame, columns, source)
            yi, vi = table_effects(tables, measure, add=add, to=to, drop00=drop00)
            if drop00 and np.isnan(yi).any():
                frame, labels, tables, yi, vi = _drop_double_zero(frame, labels, tables, yi, vi, source)
            bad = np.flatnonzero(~(np.isfinite(yi) & np.isfinite(vi) & (vi > 0)))
            if bad.size:
                raise InputError(f"{source}: row {bad[0] + 1}: the {measure} of a table with a zero "
                                 f"cell is not finite without a continuity correction (add={add:g}, "
                                 f"to={to!r})")
        else:
            yi, vi = escalc(measure, frame, columns, source)
        names = [dict(columns or {}).get(c, c) for c in RAW_COLUMNS[measure]]
        raw = frame[[c for c in names if c in frame.columns]]
        n = sample_sizes(measure, frame, columns)
    else:
        if effect is None and se is None and variance is None:
            if "yi" not in frame.columns:
                raise InputError(
                    f"{source}: say which columns hold the data: an effect column with se or "
                    f"variance, or a measure for raw columns (no 'yi' column to fall back on)"
                )
            effect = "yi"
            variance = "vi" if "vi" in frame.columns else None
            se = "sei" if variance is None else None
        reported = ci_low is not None or ci_high is not None or p_value is not None
        if effect is None or (se is not None and variance is not None) or (
                se is None and variance is None and not reported):
            raise InputError("give an effect column and exactly one of se or variance (or a "
                             "reported CI or p-value to derive the se from)")
        yi = _column(frame, effect, "effect", source)
        if ratio:
            _positive(yi, effect, source)
            yi = np.log(yi)
        if se is None and variance is None:
            vi = _reported_variance(frame, yi, ci_low, ci_high, p_value, ci_level, ratio, source)
        elif se is not None:
            sei = _column(frame, se, "se", source)
            _positive(sei, se, source)
            vi = sei**2
        else:
            vi = _column(frame, variance, "variance", source)  # type: ignore[arg-type]
            _positive(vi, variance, source)  # type: ignore[arg-type]
    frame.attrs["source"] = source  # named in messages about its other columns (moderators)
    return StudyTable(yi, vi, labels, measure, raw, n, tables, frame)


def _drop_double_zero(frame, labels, tables, yi, vi, source):
    """drop00: the tables without events (or with only events) in both groups left out, counted and named."""
    from .tables import note

    gone = np.isnan(yi)
    rows = np.flatnonzero(gone)
    if rows.size == yi.size:
        raise InputError(f"{source}: every table has no events (or only events) in both groups")
    note(f"{source}: {rows.size} of {yi.size} tables without events (or with only events) in both "
         f"groups left out (drop00; rows {', '.join(str(r + 1) for r in rows[:10])}"
         f"{' …' if rows.size > 10 else ''})")
    keep = ~gone
    return (frame[keep].reset_index(drop=True),
            tuple(lab for lab, k in zip(labels, keep, strict=True) if k), tables[:, keep], yi[keep],
            vi[keep])


def _used_columns(frame, measure, columns, *named) -> list[str]:
    """Return the columns the effects of this call are computed from (those the table has)."""
    if measure is not None:
        measure = check_option("measure", measure, MEASURES)
        wanted = [dict(columns or {}).get(c, c) for c in RAW_COLUMNS[measure]]
    elif any(c is not None for c in named):
        wanted = [c for c in named if c is not None]
    else:
        wanted = ["yi", "vi" if "vi" in frame.columns else "sei"]
    return [c for c in wanted if c in frame.columns]


def _missing_rows(frame: pd.DataFrame, labels: tuple[str, ...], used: list[str], drop: bool,
                  source: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Refuse, or with ``drop`` leave out and count, the rows missing a value in ``used``."""
    if not used:
        return frame, labels
    cells = frame[used].apply(lambda c: c.isna() | (c.astype(str).str.strip() == ""))
    missing = cells.any(axis=1).to_numpy()
    if not missing.any():
        return frame, labels
    rows = np.flatnonzero(missing)
    if not drop:
        col = used[int(np.argmax(cells.iloc[rows[0]].to_numpy()))]
        raise InputError(f"{source}: row {rows[0] + 1}, column {col!r}: missing value "
                         f"({rows.size} row{'s' if rows.size > 1 else ''} in all; drop_missing / "
                         "--drop-missing leaves them out, counted)")
    if rows.size == len(frame):
        raise InputError(f"{source}: every row misses a value in {used}")
    from .tables import note

    shown = ", ".join(str(r + 1) for r in rows[:10]) + (" …" if rows.size > 10 else "")
    note(f"{source}: {rows.size} of {len(frame)} rows left out for missing values in "
         f"{', '.join(used)} (rows {shown})")
    keep = ~missing
    return (frame[keep].reset_index(drop=True),
            tuple(lab for lab, k in zip(labels, keep, strict=True) if k))


def _reported_variance(frame, yi, ci_low, ci_high, p_value, level, ratio, source) -> np.ndarray:
    """Return the sampling variance of Wald-type estimates from their reported CI or p-value."""
    from scipy import special

    if (ci_low is None) != (ci_high is None):
        raise InputError("give both ends of the confidence interval (ci_low and ci_high)")
    check_probability("ci_level", level)
    if ci_low is not None:
        lo, hi = _column(frame, ci_low, "ci_low", source), _column(frame, ci_high, "ci_high", source)
        if ratio:
            _positive(lo, ci_low, source)
            lo, hi = np.log(lo), np.log(hi)
        bad = np.flatnonzero(~((lo < yi) & (yi < hi)))
        if bad.size:
            i = bad[0]
            raise InputError(f"{source}: row {i + 1}: the estimate does not lie inside its "
                             f"confidence interval ({ci_low!r}, {ci_high!r})")
        se = (hi - lo) / (2 * special.ndtri(0.5 + level / 2))
    else:
        p = _column(frame, p_value, "p_value", source)
        bad = np.flatnonzero(~((p > 0) & (p < 1)) | (yi == 0))
        if bad.size:
            i = bad[0]
            raise InputError(f"{source}: row {i + 1}, column {p_value!r}: a p-value in (0, 1) and a "
                             f"non-zero effect are needed to derive an se, got p = {p[i]:g}")
        se = np.abs(yi) / -special.ndtri(p / 2)  # not ndtri(1 − p/2): 1 − p/2 rounds to 1
    return se**2


def sample_sizes(measure: str, frame: pd.DataFrame,
                 columns: Mapping[str, str] | None) -> np.ndarray | None:
    """Each study's total sample size.

    From the raw columns of ``measure`` (``n1 + n2``, ``ai + bi + ci + di``, ``ni``), or None where
    they do not give it.
    """
    cols = dict(columns or {})

    def get(*keys: str) -> np.ndarray | None:
        names = [cols.get(k, k) for k in keys]
        if not all(c in frame.columns for c in names):
            return None
        return sum(pd.to_numeric(frame[c], errors="coerce").to_numpy(float) for c in names)

    if measure in ("ZCOR", "COR", "UCOR", "MN", "MNLN", "PR", "PLO", "PAS", "PFT", "SMCR", "SMCC"):
        return get("ni")
    if measure in ("IR", "IRLN", "IRS", "IRFT", "IRR", "IRD"):
        return None  # person-time, not participants
    if measure in TABLE_MEASURES:
        cells = get("ai", "bi", "ci", "di")
        return cells if cells is not None else get("n1", "n2")
    return get("n1", "n2")

