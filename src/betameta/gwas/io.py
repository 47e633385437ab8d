"""Reading summary-statistics files: GWAS-SSF, METAL-style, or a user column map.

Canonical columns after reading: ``chromosome`` (categorical str), ``base_pair_location``
(int), ``effect_allele``, ``other_allele`` (upper-case, categorical: string work is
done once per distinct value, not per row), ``beta``,
``standard_error``, ``effect_allele_frequency``, ``rsid`` (when present) and ``n``.
``odds_ratio`` is turned into ``beta = log(OR)`` (its ``standard_error`` is taken
to be that of log OR, as GWAS-SSF specifies). METAL's ``MARKER`` of the form
``chr:pos`` is split into chromosome and position; otherwise it is used as rsid.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["CANONICAL", "read_sumstats"]

CANONICAL = ("chromosome", "base_pair_location", "effect_allele", "other_allele", "beta",
             "standard_error", "effect_allele_frequency", "rsid", "n")

_ALIASES: dict[str, tuple[str, ...]] = {
    "chromosome": ("chromosome", "chr", "chrom", "#chrom", "chromosome_name"),
    "base_pair_location": ("base_pair_location", "pos", "bp", "position", "base_pair"),
    "effect_allele": ("effect_allele", "allele1", "a1", "ea"),
    "other_allele": ("other_allele", "allele2", "a2", "nea", "oa"),
    "beta": ("beta", "effect", "b"),
    "odds_ratio": ("odds_ratio", "or"),
    "standard_error": ("standard_error", "stderr", "se"),
    "effect_allele_frequency": ("effect_allele_frequency", "freq1", "freq", "eaf", "af"),
    "rsid": ("rsid", "snp", "variant_id", "snpid"),
    "n": ("n", "n_total", "samplesize", "weight"),
    "marker": ("markername", "marker"),
}


def _read_raw(path: Path) -> pd.DataFrame:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".parquet", ".pq")):
        return pd.read_parquet(path)
    sep = "," if name.endswith(".csv") else "\t"
    try:  # pyarrow's CSV reader is multi-threaded and reads gzip itself
        return pd.read_csv(path, sep=sep, engine="pyarrow", na_values=["#NA", "NA", "NaN", "."])
    except (ImportError, ValueError):
        return pd.read_csv(path, sep=sep, na_values=["#NA", "NA", "NaN", "."], low_memory=False)


def _factorized(series: pd.Series, transform) -> pd.Categorical:
    """Apply a string transform to the distinct values only (millions of rows, few alleles)."""
    codes, uniq = pd.factorize(series, use_na_sentinel=True)
    new = transform(pd.Index(pd.Series(uniq).astype(str)))
    cats, inverse = np.unique(np.asarray(new, dtype=str), return_inverse=True)
    mapped = np.where(codes >= 0, inverse[np.maximum(codes, 0)] if len(inverse) else -1, -1)
    return pd.Categorical.from_codes(mapped, categories=cats)


def read_sumstats(path: str | Path, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read one study's summary statistics into the canonical columns.

    ``columns`` maps canonical names to the file's names and overrides detection.
    Raises :class:`InputError` naming the file when required columns are missing.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    try:
        raw = _read_raw(path)
    except Exception as exc:
        raise InputError(f"{path}: cannot be read as a summary-statistics table: {exc}") from exc
    lower = {c.lower(): c for c in raw.columns}
    found: dict[str, str] = {}
    for canon, names in _ALIASES.items():
        for name in names:
            if name in lower:
                found[canon] = lower[name]
                break
    for canon, col in dict(columns or {}).items():
        if col not in raw.columns:
            raise InputError(f"{path}: column {col!r} (for {canon}) not found")
        found[canon] = col
    out = pd.DataFrame(index=raw.index)
    if "chromosome" not in found and "marker" in found:
        parts = raw[found["marker"]].astype(str).str.split(":", n=2, expand=True)
        if parts.shape[1] >= 2:
            out["chromosome"] = _factorized(parts[0], lambda ix: ix.str.removeprefix("chr"))
            out["base_pair_location"] = pd.to_numeric(parts[1], errors="coerce")
        else:
            found.setdefault("rsid", found["marker"])
    if "chromosome" in found:
        out["chromosome"] = _factorized(raw[found["chromosome"]], lambda ix: ix.str.removeprefix("chr"))
        out["base_pair_location"] = pd.to_numeric(raw[found.get("base_pair_location", "")]
                                                  if "base_pair_location" in found else np.nan,
                                                  errors="coerce")
    if "rsid" in found:
        out["rsid"] = raw[found["rsid"]].astype(str)
    if "chromosome" not in out and "rsid" not in out:
        raise InputError(f"{path}: no variant position (chromosome and base_pair_location) or rsid "
                         f"column; columns are {list(raw.columns)}")
    for canon in ("effect_allele", "other_allele", "standard_error"):
        if canon not in found:
            raise InputError(f"{path}: no {canon} column; columns are {list(raw.columns)} "
                             "(map it with --column NAME=COL)")
    out["effect_allele"] = _factorized(raw[found["effect_allele"]], lambda ix: ix.str.upper())
    out["other_allele"] = _factorized(raw[found["other_allele"]], lambda ix: ix.str.upper())
    se = pd.to_numeric(raw[found["standard_error"]], errors="coerce")
    if "beta" in found:
        beta = pd.to_numeric(raw[found["beta"]], errors="coerce")
    elif "odds_ratio" in found:
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = np.log(pd.to_numeric(raw[found["odds_ratio"]], errors="coerce"))
    else:
        raise InputError(f"{path}: no beta or odds_ratio column; columns are {list(raw.columns)}")
    out["beta"] = beta.astype(float)
    out["standard_error"] = se.astype(float)
    out["effect_allele_frequency"] = (pd.to_numeric(raw[found["effect_allele_frequency"]],
                                                    errors="coerce").astype(float)
                                      if "effect_allele_frequency" in found else np.nan)
    out["n"] = (pd.to_numeric(raw[found["n"]], errors="coerce").astype(float)
                if "n" in found else np.nan)
    return out
