"""Reading summary-statistics files: GWAS-SSF, METAL-style, or a user column map.

Canonical columns after reading: ``chromosome`` (categorical str), ``base_pair_location``
(int), ``effect_allele``, ``other_allele`` (upper-case, categorical: string work is
done once per distinct value, not per row), ``beta``,
``standard_error``, ``effect_allele_frequency``, ``rsid`` (when present) and ``n``.
``odds_ratio`` is turned into ``beta = log(OR)`` (its ``standard_error`` is taken
to be that of log OR, as GWAS-SSF specifies). METAL's ``MARKER`` of the form
``chr:pos`` is split into chromosome and position; otherwise it is used as rsid. Alleles
coded 1-4 are read as A, C, G, T, as METAL reads them.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pac
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from isal import igzip

from ..errors import InputError
from ..tables import NA_VALUES, decode, detect_separator, note

__all__ = ["CANONICAL", "read_sumstats"]

#: The canonical column names :func:`read_sumstats` returns (GWAS-SSF's where it has one).
CANONICAL = ("chromosome", "base_pair_location", "effect_allele", "other_allele", "beta",
             "standard_error", "effect_allele_frequency", "rsid", "n", "p_value",
             "neg_log_10_p_value", "info", "n_cases", "n_controls")

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
    "p_value": ("p_value", "p", "pval", "pvalue", "p-value", "p_val", "p.value"),
    "neg_log_10_p_value": ("neg_log_10_p_value",),
    "info": ("info", "imputation_quality", "rsq"),
    "n_cases": ("n_cases", "ncases", "n_case", "ncase"),
    "n_controls": ("n_controls", "ncontrols", "n_control", "ncontrol"),
    "marker": ("markername", "marker"),
}


_NULLS = list(NA_VALUES)
#: Alleles coded 1-4, read as A, C, G, T (as METAL reads them).
_NUMERIC_ALLELES = {"1": "A", "2": "C", "3": "G", "4": "T"}
_TEXT = ("chromosome", "effect_allele", "other_allele", "rsid", "marker")


def _is_parquet(path: Path) -> bool:
    return path.name.lower().removesuffix(".gz").endswith((".parquet", ".pq"))


def _header(path: Path, sep: str | None, encoding: str | None) -> tuple[list[str], str]:
    """Return the file's column names (unquoted) and separator (``sep``, or detected from the first line).

    Without reading its body.
    """
    if _is_parquet(path):
        return pq.read_schema(path).names, ""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as f:
        first = decode(f.readline(), path, encoding).lstrip("\ufeff").rstrip("\r\n")
    sep = sep or detect_separator(path, first)
    # Names in double quotes (R's write.table quotes them by default), as the CSV reader
    # reads them: without the quotes.
    names = [n[1:-1].replace('""', '"') if len(n) >= 2 and n[0] == n[-1] == '"' else n
             for n in first.split(sep)]
    twice = sorted({n for n in names if n and names.count(n) > 1})
    if twice:
        where = ", ".join(str(i + 1) for i, n in enumerate(names) if n == twice[0])
        raise InputError(f"{path}: column {twice[0]!r} appears more than once in the header (columns "
                         f"{where}); which one is meant cannot be known")
    return names, sep


def _open(path: Path):
    """Return the file for Arrow's CSV reader.

    Gzip inflated by ISA-L (about 3x zlib's speed, which Arrow would use: 0.42 s against 1.19 s for one
    2.5M-row benchmark file; inflating was most of the parse), else the path.
    """
    return igzip.open(path, "rb") if path.name.lower().endswith(".gz") else path


def code_type(n: int) -> type[np.signedinteger]:
    """Return the narrowest signed integer type that holds codes 0 … n − 1 and -1 for missing."""
    return np.int8 if n < 2**7 else np.int16 if n < 2**15 else np.int32 if n < 2**31 else np.int64


def _read_columns(path: Path, found: dict[str, str], sep: str, encoding: str | None):
    """Only the columns the run uses, as an Arrow table.

    Text columns are read as strings (alleles and chromosome dictionary-encoded: a few
    distinct values over millions of rows), numbers as float64, which spares Arrow's type
    inference (~10% of the parse). A file whose numeric column holds a word is read again
    with inferred types: that column comes out as text, is coerced to NaN and its rows
    are counted as drops.
    """
    wanted = list(dict.fromkeys(found.values()))
    if _is_parquet(path):
        return pq.read_table(path, columns=wanted)
    dictionary = pa.dictionary(pa.int32(), pa.string())
    text = {col: (pa.string() if canon in ("rsid", "marker") else dictionary)
            for canon, col in found.items() if canon in _TEXT}
    numbers = {col: pa.float64() for canon, col in found.items() if canon not in _TEXT}

    def read(types, encoding=encoding or "utf8"):
        source = _open(path)
        try:
            return pacsv.read_csv(
                source,
                # 4 MB blocks: a quarter of the chunks of the 1 MB default, which every later
                # step (combining, taking) pays for.
                read_options=pacsv.ReadOptions(block_size=4 << 20, encoding=encoding),
                parse_options=pacsv.ParseOptions(delimiter=sep),
                convert_options=pacsv.ConvertOptions(include_columns=wanted, column_types=types,
                                                  null_values=_NULLS, strings_can_be_null=True),
            )
        finally:
            if hasattr(source, "close"):
                source.close()

    try:
        return read(text | numbers)
    except pa.ArrowInvalid as exc:
        if "utf8" in str(exc).lower() and encoding is None:
            note(f"{path}: not UTF-8, read as cp1252; pass --encoding to choose")
            return read(text | numbers, "cp1252")
        if "conversion error" not in str(exc).lower():
            raise
        return read(text)


def _categorical(col, transform) -> pd.Categorical:
    """Return a text column as categorical.

    The string transform applied to the distinct values only (millions of rows, few alleles).
    """
    if not pa.types.is_dictionary(col.type):
        col = pac.dictionary_encode(col if pa.types.is_string(col.type) else col.cast(pa.string()))
    # One dictionary for all the reader's blocks, then the blocks' indices side by side
    # (pyarrow's own conversion to pandas is several times slower on hundreds of blocks).
    col = col.unify_dictionaries()
    values = col.chunk(0).dictionary if col.num_chunks else pa.array([], pa.string())
    codes = np.concatenate([pac.fill_null(c.indices, -1).to_numpy() for c in col.chunks]
                           or [np.empty(0, np.int32)])
    new = transform(pd.Index(np.asarray(values.to_pylist(), dtype=object)))
    cats, inverse = np.unique(np.asarray(new, dtype=str), return_inverse=True)
    # One lookup per row into the narrowest codes that hold the categories; a missing value
    # (code -1) takes the table's last entry, -1.
    return pd.Categorical.from_codes(np.append(inverse, -1).astype(code_type(cats.size))[codes],
                                     categories=cats)


def _numeric(col) -> np.ndarray:
    """Float64 values, NaN for missing and for anything that is not a number."""
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_decimal(col.type):
        return col.cast(pa.float64()).to_numpy()
    return pd.to_numeric(col.to_pandas(), errors="coerce").to_numpy(dtype=float)


def _strings(col) -> pd.Series:
    """Return a text column kept in Arrow (no Python object per row), in one piece.

    Taking rows from a column of hundreds of chunks is many times slower.
    """
    if not pa.types.is_string(col.type):
        col = col.cast(pa.string())
    return pd.Series(pd.arrays.ArrowStringArray(col.combine_chunks()))


def _resolve(path: Path, names: list[str], columns: Mapping[str, str] | None,
             fields: tuple[str, ...]) -> dict[str, str]:
    """Canonical name -> the file's column, by the aliases, then by the user's map."""
    lower = {c.lower(): c for c in names}
    found: dict[str, str] = {}
    chosen = dict(columns or {})
    for canon, aliases in _ALIASES.items():
        present = [c for c in names if c.lower() in aliases]
        if len(present) > 1 and canon not in chosen:
            # Two columns either of which could be this field: the first alias would win silently.
            raise InputError(f"{path}: columns {' and '.join(map(repr, present))} could each be {canon}; "
                             f"choose one with --column STUDY:{canon}=COL (columns= in Python)")
        for alias in aliases:
            if alias in lower:
                found[canon] = lower[alias]
                break
    for canon, col in chosen.items():
        if col not in names:
            raise InputError(f"{path}: column {col!r} (for {canon}) not found")
        found[canon] = col
    if "chromosome" not in found and "rsid" not in found and "marker" not in found:
        raise InputError(f"{path}: no variant position (chromosome and base_pair_location) or rsid "
                         f"column; columns are {names}")
    # Without an SE, the sample-size scheme works from the p-value (and the effect's sign).
    by_p = "p_value" in fields and ("p_value" in found or "neg_log_10_p_value" in found)
    for canon in ("effect_allele", "other_allele") + (() if by_p else ("standard_error",)):
        if canon not in found:
            raise InputError(f"{path}: no {canon} column; columns are {names} "
                             "(map it with --column STUDY:NAME=COL)")
    if "beta" not in found and "odds_ratio" not in found:
        raise InputError(f"{path}: no beta or odds_ratio column; columns are {names}")
    if "beta" in found and "odds_ratio" in found and ("beta" in (columns or {})
                                                      or "odds_ratio" in (columns or {})):
        # The user chose one: the other is not read.
        found.pop("odds_ratio" if "beta" in (columns or {}) else "beta")
    if "chromosome" in found:
        found.pop("marker", None)
    # Columns the caller did not ask for are not read at all.
    return {c: col for c, col in found.items() if c in fields or c not in CANONICAL}


def read_sumstats(path: str | Path, columns: Mapping[str, str] | None = None,
                  fields: tuple[str, ...] = CANONICAL, *, sep: str | None = None,
                  encoding: str | None = None) -> pd.DataFrame:
    """Read one study's summary statistics into the canonical columns.

    Parameters
    ----------
    path
        GWAS-SSF, METAL-style or any table (TSV/CSV, gzipped or not, or Parquet).
    columns
        Canonical names to the file's names; overrides the names detected.
    fields
        The canonical columns wanted (the others are not read at all).
    sep, encoding
        The separator and encoding (detected when not given).

    Returns
    -------
    pandas.DataFrame
        The :data:`CANONICAL` columns in ``fields`` the file has (NaN columns for the
        numeric ones it lacks): chromosome, alleles as upper-case categoricals, the rest as
        float64; METAL's ``chr:pos`` MARKER split, odds ratios as log OR.

    Raises
    ------
    InputError
        Naming the file (and the row and column where one is at fault): no such file, not a
        table, a required column missing, a frequency or p-value outside [0, 1], a negative
        or fractional position, or beta and odds ratio that disagree.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from betameta.gwas import read_sumstats
    >>> from betameta.gwas.synthetic import generate
    >>> truth = generate(Path(tempfile.mkdtemp()), k=2, m=1000, seed=1, fmt="metal")
    >>> study = read_sumstats(truth.paths["S2"])  # METAL's names: MARKER, ALLELE1, EFFECT, ...
    >>> len(study), list(study.columns[:5])
    (951, ['chromosome', 'base_pair_location', 'effect_allele', 'other_allele', 'beta'])
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    try:
        names, sep = _header(path, sep, encoding)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{path}: cannot be read as a summary-statistics table: {exc}") from exc
    found = _resolve(path, names, columns, fields)
    try:
        raw = _read_columns(path, found, sep, encoding)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{path}: cannot be read as a summary-statistics table: {exc}") from exc
    out: dict[str, object] = {}
    strip_chr = _chromosome_names
    if "marker" in found:
        marker = raw.column(found["marker"])
        if (split := _split_markers(marker, strip_chr)) is not None:
            out["chromosome"], out["base_pair_location"] = split
        elif "rsid" not in found:
            out["rsid"] = _strings(marker)
    if "chromosome" in found:
        out["chromosome"] = _categorical(raw.column(found["chromosome"]), strip_chr)
        out["base_pair_location"] = (_numeric(raw.column(found["base_pair_location"]))
                                     if "base_pair_location" in found else np.full(raw.num_rows, np.nan))
    if "rsid" in found:
        out["rsid"] = _strings(raw.column(found["rsid"]))
    upper = lambda ix: ix.str.upper().map(lambda a: _NUMERIC_ALLELES.get(a, a))  # noqa: E731
    out["effect_allele"] = _categorical(raw.column(found["effect_allele"]), upper)
    out["other_allele"] = _categorical(raw.column(found["other_allele"]), upper)
    if "odds_ratio" in found:
        with np.errstate(divide="ignore", invalid="ignore"):
            log_or = np.log(_numeric(raw.column(found["odds_ratio"])))
    if "beta" in found:
        out["beta"] = _numeric(raw.column(found["beta"]))
        if "odds_ratio" in found:
            _check_beta_and_or(path, out["beta"], log_or, found)  # type: ignore[arg-type]
    else:
        out["beta"] = log_or
    out["standard_error"] = (_numeric(raw.column(found["standard_error"])) if "standard_error" in found
                             else np.full(raw.num_rows, np.nan))
    for canon in ("effect_allele_frequency", "n", "p_value", "neg_log_10_p_value", "info",
                  "n_cases", "n_controls"):
        if canon in found and canon in fields:
            out[canon] = _numeric(raw.column(found[canon]))
        elif canon in fields and canon not in ("n_cases", "n_controls"):
            # (case and control counts are rare: a study without them has no such columns,
            # rather than two columns of NaN)
            out[canon] = np.full(raw.num_rows, np.nan)
    del raw
    _check_ranges(path, out, found)
    return pd.DataFrame(out, copy=False)


#: GWAS-SSF's numeric chromosome codes for the sex chromosomes and mitochondria (PLINK agrees
#: on 23 and 24; its 25 is the pseudo-autosomal XY and its 26 MT: give those as names).
_CHROMOSOME_CODES = {"23": "X", "24": "Y", "25": "MT", "M": "MT"}


def _chromosome_names(names: pd.Index) -> pd.Index:
    """One spelling per chromosome.

    ``chr`` prefix dropped (any case), upper case, and the numeric codes 23, 24, 25 read as X, Y, MT (so
    ``X`` and ``23`` are one chromosome).
    """
    names = names.str.replace(r"^chr", "", case=False, regex=True).str.strip().str.upper()
    return names.map(lambda n: _CHROMOSOME_CODES.get(n, n))


def _first(bad: np.ndarray) -> int:
    return int(np.flatnonzero(bad)[0])


def _check_ranges(path: Path, out: dict, found: dict[str, str]) -> None:
    """Values no study can have.

    A frequency outside [0, 1], a negative or fractional position (the message names the row, counted from
    1 after the header).
    """
    f = out.get("effect_allele_frequency")
    if f is not None and ((f < 0) | (f > 1)).any():
        i = _first((f < 0) | (f > 1))
        col = found.get("effect_allele_frequency", "effect_allele_frequency")
        raise InputError(f"{path}: row {i + 1}, column {col!r}: allele frequency {f[i]:g} is outside "
                         "[0, 1]")
    p = out.get("p_value")
    if p is not None and ((p < 0) | (p > 1)).any():
        i = _first((p < 0) | (p > 1))
        raise InputError(f"{path}: row {i + 1}, column {found.get('p_value')!r}: p-value {p[i]:g} is "
                         "outside [0, 1]")
    pos = out.get("base_pair_location")
    if pos is not None:
        with np.errstate(invalid="ignore"):
            bad = (pos < 0) | (np.floor(pos) != pos) & np.isfinite(pos)
        if bad.any():
            i = _first(bad)
            col = found.get("base_pair_location", found.get("marker", "base_pair_location"))
            raise InputError(f"{path}: row {i + 1}, column {col!r}: position {pos[i]:g} is not a whole "
                             "number >= 0")


def _check_beta_and_or(path: Path, beta: np.ndarray, log_or: np.ndarray, found: dict[str, str]) -> None:
    """Check that a file's beta and odds ratio agree.

    Where a file has both beta and odds_ratio they must say the same (within 1% on the odds
    ratio, its printed precision): otherwise one of them is not what its name says.
    """
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(beta - log_or) <= np.log(1.01)) & np.isfinite(beta) & ~np.isnan(log_or)
    if bad.any():
        i = _first(bad)
        raise InputError(f"{path}: row {i + 1}: {found['beta']} = {beta[i]:g} but {found['odds_ratio']} = "
                         f"{np.exp(log_or[i]):g} (log {log_or[i]:g}): they disagree; choose one with "
                         f"--column STUDY:beta=COL or --column STUDY:odds_ratio=COL")


#: Distinct chromosomes per block beyond which MARKER is split by a regular expression instead.
_MAX_CHROMOSOMES = 4096
#: METAL's MARKER: the chromosome before the first ':', the position up to the next.
_MARKER = r"^(?P<chromosome>[^:]*)(?::(?P<position>[^:]*))?"


def _split_by_pattern(markers: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Split METAL markers with a regular expression.

    :data:`_MARKER`'s chromosome texts and positions (pandas' ``to_numeric``, NaN where
    the text is not a number): the split where the compiled pass does not decide.
    """
    parts = pac.extract_regex(markers, _MARKER)
    return parts.field("chromosome"), pd.to_numeric(parts.field("position").to_pandas(),
                                                    errors="coerce").to_numpy(float)


def _split_markers(col: pa.ChunkedArray, transform) -> tuple[pd.Categorical, np.ndarray] | None:
    """METAL's ``MARKER`` as ``chr:pos[:…]``.

    The chromosome (the text before the first ``:``, categorical, ``transform`` applied to its distinct
    values) and the position (the text after it up to the next ``:``, NaN where it is not a number). None
    when no row has a ``:`` (the marker is an rsid).

    One compiled pass over each block's bytes (:mod:`.marker_kernels`); position texts that
    are not plain digits, and blocks of too many chromosomes, go to :func:`_split_by_pattern`
    (so ``1:1e3`` reads as it always did).
    """
    if not pa.types.is_string(col.type):
        col = col.cast(pa.string())
    if not pac.any(pac.greater_equal(pac.find_substring(col, ":"), 0)).as_py():
        return None
    from .marker_kernels import split_markers

    chunks, positions = [], []
    for chunk in col.chunks:
        if len(chunk) == 0:
            continue
        _, offsets, data = chunk.buffers()
        data = np.frombuffer(data, np.uint8) if data is not None else np.empty(0, np.uint8)
        offsets = np.frombuffer(offsets, np.int32, len(chunk) + 1, chunk.offset * 4)
        null = chunk.is_null()
        codes, pos, odd, starts, lengths, n_names = split_markers(
            data, offsets, null.to_numpy(zero_copy_only=False), _MAX_CHROMOSOMES)
        if n_names < 0:
            chromosome, pos = _split_by_pattern(chunk)
            names = pac.dictionary_encode(pac.if_else(null, pa.scalar(None, pa.string()), chromosome))
        else:
            if odd.any():
                rows = np.flatnonzero(odd)
                pos[rows] = _split_by_pattern(chunk.take(pa.array(rows)))[1]
            names = pa.DictionaryArray.from_arrays(
                pa.array(codes, mask=codes < 0),
                pa.array([bytes(data[s:s + n]).decode()
                          for s, n in zip(starts[:n_names], lengths[:n_names], strict=True)], pa.string()))
        chunks.append(names)
        positions.append(pos)
    chromosome = _categorical(pa.chunked_array(chunks, pa.dictionary(pa.int32(), pa.string())), transform)
    return chromosome, np.concatenate(positions)
