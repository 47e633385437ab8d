"""Reading tables.

One reader and one vocabulary of missing values for study tables, distance files and summary statistics.

Text files are decoded as UTF-8 (a byte-order mark is skipped); bytes that are not UTF-8
are decoded as Windows-1252, or Latin-1 where even that fails, with a note saying so. The
separator is taken from the file's first line: the extension's own (comma for ``.csv``,
tab for ``.tsv``/``.txt``/``.tab``) when the header holds it, otherwise the one of
tab, comma, semicolon and ``|`` the header holds most of (single spaces when it holds none
of them, as METAL's and PLINK's files), with a note saying which was assumed. ``sep`` and
``encoding`` set them instead. In semicolon-separated files a column written with decimal
commas throughout (``0,25``) is read as numbers.
"""

from __future__ import annotations

import gzip
import io
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .errors import InputError, InputNote

__all__ = ["NA_VALUES", "detect_separator", "read_table"]

#: Cells read as missing, in every table betameta reads (study tables, distance files,
#: summary statistics). Labels of studies are read as text, so a study called "NA" stays "NA".
NA_VALUES: tuple[str, ...] = ("", "#NA", "NA", "N/A", "NaN", "nan", "NULL", "null", ".")

_SEPARATORS = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe", " ": "space"}
_FALLBACK_ENCODINGS = ("cp1252", "latin-1")


def note(message: str) -> None:
    """Tell the user something about their input that is not an error.

    A warning of class :class:`~betameta.errors.InputNote`; the command line prints it as one line.
    """
    warnings.warn(message, InputNote, stacklevel=3)


def _by_extension(path: Path) -> str | None:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return ","
    if name.endswith((".tsv", ".txt", ".tab")):
        return "\t"
    return None


def detect_separator(path: Path, header: str) -> str:
    r"""Return the separator of a table whose first line is ``header`` (see the module docstring).

    A note (:class:`~betameta.InputNote`) says so when it is not the one the extension implies.

    Parameters
    ----------
    path : pathlib.Path
        The file (its extension implies a separator: ``.csv`` a comma, ``.tsv``/``.txt`` a tab).
    header : str
        Its first line.

    Returns
    -------
    str
        The separator: the extension's when the header holds it, else the most frequent of
        tab, comma, semicolon and pipe, else a single space (METAL's and PLINK's files).

    Examples
    --------
    >>> import warnings
    >>> from pathlib import Path
    >>> detect_separator(Path("studies.tsv"), "study\tyi\tvi")
    '\t'
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     detect_separator(Path("studies.csv"), "study;yi;vi")
    ';'
    >>> print(caught[0].message)
    studies.csv: read as semicolon-separated (its first line has no commas); pass --sep to choose
    """
    expected = _by_extension(path)
    if expected is not None and expected in header:
        return expected
    counts = {sep: header.count(sep) for sep in _SEPARATORS if sep != " "}
    best = max(counts, key=counts.__getitem__)
    if counts[best] == 0 and " " in header.strip():  # METAL's and PLINK's single spaces
        best, counts[" "] = " ", 1
    if counts[best] == 0:  # one column
        return expected or ","
    if best != (expected or ","):
        why = (f"its first line has no {_SEPARATORS[expected]}s" if expected is not None
               else "detected from its first line")
        note(f"{path}: read as {_SEPARATORS[best]}-separated ({why}); pass --sep to choose")
    return best


def decode(data: bytes, path: Path, encoding: str | None = None) -> str:
    """Bytes of a text file as str.

    ``encoding`` when given, else UTF-8, falling back (with a note) to Windows-1252, then Latin-1.
    """
    if encoding is not None:
        try:
            return data.decode(encoding)
        except LookupError:
            raise InputError(f"--encoding {encoding}: not an encoding Python knows") from None
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise InputError(f"{path}: line {line} is not valid {encoding} "
                             f"(byte {data[exc.start:exc.start + 1]!r})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        for fallback in _FALLBACK_ENCODINGS:
            try:
                text = data.decode(fallback)
            except UnicodeDecodeError:
                continue
            note(f"{path}: not UTF-8 (line {line}), read as {fallback}; pass --encoding to choose")
            return text
    raise AssertionError("Latin-1 decodes any bytes")  # pragma: no cover


_DECIMAL_COMMA = r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?"


def _numeric_or_text(col: pd.Series, decimal_comma: bool = False) -> pd.Series:
    """Return a column of strings as numbers when every non-missing cell is one.

    Else as text with missing cells as NaN (a cell that should be a number is then reported by whoever
    needs it). With ``decimal_comma`` (semicolon-separated files), ``0,25`` is read as 0.25 where every
    cell of the column is written so.
    """
    col = col.mask(col.str.strip().isin(NA_VALUES))
    try:
        return pd.to_numeric(col)
    except (ValueError, TypeError):
        pass
    present = col.dropna().str.strip()
    if decimal_comma and present.str.fullmatch(_DECIMAL_COMMA + "|[+-]?\\d+").all():
        return pd.to_numeric(col.str.replace(",", ".", regex=False))
    return col


def read_table(path: str | Path, *, sep: str | None = None, encoding: str | None = None,
               text: Sequence[str | int] = ()) -> pd.DataFrame:
    """Read a CSV, TSV (plain or gzip) or Parquet file into a DataFrame.

    Parameters
    ----------
    path
        The file; ``.parquet``/``.pq`` is read as Parquet, anything else as delimited text.
    sep, encoding
        Separator and text encoding; detected when not given (module docstring).
    text
        Columns (names, or positions counted from 0) kept exactly as written, with no cell
        read as missing: study labels.

    Returns
    -------
    pandas.DataFrame
        Numeric columns as numbers, missing cells (:data:`NA_VALUES`) as NaN.

    Raises
    ------
    InputError
        When the file is absent or cannot be parsed as a table (the message names it).

    Examples
    --------
    >>> from betameta import read_table
    >>> bcg = read_table("examples/bcg.csv", text=["author"])
    >>> bcg.shape, bcg["author"].iloc[0]
    ((13, 9), 'Aronson')
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    name = path.name.lower().removesuffix(".gz")
    try:
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        raw = path.read_bytes()
        if path.name.lower().endswith(".gz"):
            raw = gzip.decompress(raw)
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: cannot be read as a table: {exc}") from exc
    content = decode(raw, path, encoding)
    header = next((line for line in content.splitlines() if line.strip()), "")
    if not header:
        raise InputError(f"{path}: the file is empty")
    if sep is None:
        sep = detect_separator(path, header)
    try:
        frame = pd.read_csv(io.StringIO(content), sep=sep, dtype=str, keep_default_na=False,
                            skip_blank_lines=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as a table: {exc}") from exc
    # pandas renames a repeated name (yi, yi.1): which one is meant cannot be known, so say so.
    names = [str(x).strip() for x in pd.read_csv(io.StringIO(header), sep=sep, header=None, dtype=str,
                                                 keep_default_na=False).iloc[0]]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        where = ", ".join(str(i + 1) for i, n in enumerate(names) if n == twice[0])
        raise InputError(f"{path}: column {twice[0]!r} appears more than once in the header (columns "
                         f"{where}); which one is meant cannot be known")
    keep = {frame.columns[c] if isinstance(c, int) else c for c in text
            if not isinstance(c, int) or c < frame.shape[1]}
    return frame.apply(lambda col: col if col.name in keep else _numeric_or_text(col, sep == ";"))
