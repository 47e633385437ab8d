"""The one protocol every result object follows, and the one kind of summary.

A result is a frozen dataclass with ``to_frame()`` (a tidy table, snake_case columns),
``summary()`` (a :class:`Summary`: a titled table with notes that prints as text and shows
as HTML in a notebook), ``to_dict()`` (JSON-ready), ``_repr_html_`` and a one-line repr.
:class:`Result` supplies what can be derived from the dataclass fields; a class overrides
what it can say better (its own table, its own text).
"""

from __future__ import annotations

import dataclasses
import html
import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ArrayResult", "Result", "Summary", "jsonable"]


def jsonable(x: Any, *, strict: bool = False) -> Any:
    """``x`` with NumPy scalars and arrays, tuples and nested results made JSON-ready; ``strict``.

    NaN and infinities as ``None`` (strict JSON has no such numbers).
    """
    if isinstance(x, Result):
        x = x.to_dict()
    if isinstance(x, dict):
        return {str(k): jsonable(v, strict=strict) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v, strict=strict) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist(), strict=strict)
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and strict and not math.isfinite(x):
        return None
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    return str(x)


def _scalar(x: Any) -> bool:
    return x is None or isinstance(x, (bool, int, float, str, np.generic))


def _short(x: Any) -> str:
    """Return a field's value as the repr shows it: numbers to 4 digits, arrays by their shape."""
    if isinstance(x, float) and math.isfinite(x) and x != int(x):
        return f"{x:.4g}"
    if isinstance(x, np.ndarray):
        return f"array{x.shape}"
    if isinstance(x, (tuple, list)):
        return f"({len(x)} items)"
    return str(x) if _scalar(x) else type(x).__name__


@dataclasses.dataclass(frozen=True, repr=False)
class Summary:
    """A titled table with notes: what ``summary()`` returns for every result.

    ``str()`` gives the text (the result's own layout where it has one, else the table),
    ``_repr_html_`` the table for notebooks, ``to_frame()`` the table itself.
    """

    title: str
    table: pd.DataFrame
    notes: tuple[str, ...] = ()
    text: str = ""

    def __str__(self) -> str:
        if self.text:
            return self.text
        body = self.table.to_string(index=False, float_format=lambda x: f"{x:.4g}")
        return "\n".join([self.title, "", body, *(f"note: {n}" for n in self.notes)])

    __repr__ = __str__

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "table": jsonable(self.table.to_dict(orient="records")),
                "notes": list(self.notes)}

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (f"<div class='betameta-summary'><p><strong>{html.escape(self.title)}</strong></p>"
                + self.table.to_html(index=False, float_format=lambda x: f"{x:.4g}", na_rep="NA")
                + (f"<ul>{notes}</ul>" if notes else "") + "</div>")


class Result:
    """Mixin for frozen result dataclasses: the protocol's defaults from the fields.

    Defaults: ``to_dict`` converts every field (``_skip_fields`` left out), ``to_frame`` is a
    one-row table of the scalar fields, ``summary`` titles ``to_frame()`` with
    ``_title`` and the result's ``notes``, and the repr names the scalar fields.
    """

    _title: str = ""
    _skip_fields: tuple[str, ...] = ()

    def _fields(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)  # type: ignore[arg-type]
                if f.name not in self._skip_fields}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the result."""
        return jsonable(self._fields())

    def to_frame(self) -> pd.DataFrame:
        """Tidy table of the result (here: one row of its scalar fields)."""
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in self._fields().items() if _scalar(v)}])

    def summary(self) -> Summary:
        """Return the result as a titled table with its notes (see :class:`Summary`)."""
        return Summary(self._title or type(self).__name__, self.to_frame(),
                       tuple(getattr(self, "notes", ()) or ()))

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    def __repr__(self) -> str:
        fields = sorted(self._fields().items(), key=lambda kv: not _scalar(kv[1]))  # scalars first
        parts = [f"{k}={_short(v)}" for k, v in fields][:8]
        return f"{type(self).__name__}({', '.join(parts)})"


class ArrayResult(Result):
    """Mixin for the array kernels' frozen results.

    Fields of shape ``(m,)`` (one value per variant), and possibly larger per-variant arrays or scalars
    beside them.

    ``to_frame`` has one row per variant and a column per ``(m,)`` field (scalars
    repeated); ``summary`` gives each column's count of finite values, minimum, median and
    maximum; ``to_dict`` converts every field.
    """

    def _columns(self) -> dict[str, Any]:
        fields = self._fields()
        m = max((v.shape[-1] for v in fields.values() if isinstance(v, np.ndarray) and v.ndim),
                default=0)
        return {k: v for k, v in fields.items()
                if _scalar(v) or (isinstance(v, np.ndarray) and v.shape in ((m,), ()))}

    def to_frame(self) -> pd.DataFrame:
        """One row per variant, a column per ``(m,)`` field."""
        import pandas as pd

        cols = self._columns()
        m = max((np.shape(v)[0] for v in cols.values() if np.ndim(v)), default=1)
        return pd.DataFrame({k: np.broadcast_to(np.asarray(v), (m,)) for k, v in cols.items()})

    def summary(self) -> Summary:
        """Each column's number of finite values, minimum, median and maximum."""
        import pandas as pd

        frame = self.to_frame()
        rows = []
        for name, col in frame.items():
            if not pd.api.types.is_numeric_dtype(col):
                continue
            x = np.asarray(col, dtype=float)
            ok = x[np.isfinite(x)]
            rows.append({"column": name, "finite": ok.size,
                         **dict(zip(("min", "median", "max"),
                                    np.quantile(ok, (0, 0.5, 1)) if ok.size else (np.nan,) * 3,
                                    strict=True))})
        return Summary(f"{type(self).__name__}: {len(frame):,} variants", pd.DataFrame(rows))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(m={len(self.to_frame()):,}, columns={len(self._columns())})"
