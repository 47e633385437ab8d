"""Compiled split of METAL's ``MARKER`` column (``chr:pos``, optionally ``chr:pos:…``).

One pass over the Arrow string buffers, the GIL released, where pandas' ``str.split`` made a Python object per
row and part (~3.9 s per million rows, 6x the rest of the file's reading).

The rules are those of :func:`betameta.gwas.io.read_sumstats`: the chromosome is the text
before the first ``:``, the position the text after it up to the next ``:``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_COLON = 58
_ZERO = 48


@njit(cache=True, nogil=True, inline="always")
def _same(data, s, n, a, length):
    """Whether ``data[s:s + n]`` equals ``data[a:a + length]``."""
    if n != length:
        return False
    for t in range(length):
        if data[s + t] != data[a + t]:
            return False
    return True


@njit(cache=True, nogil=True)
def split_markers(data, offsets, null, max_names):
    """Split one Arrow chunk of METAL markers.

    Split one Arrow string chunk (``data`` its bytes, ``offsets`` its ``n + 1`` offsets,
    ``null`` its missing rows).

    Returns ``(codes, pos, odd, starts, lengths, n_names)``: each row's chromosome code into
    the distinct prefixes (``starts``/``lengths`` into ``data``, the first ``n_names`` used;
    -1 for a missing row), its position (NaN where missing or not plain digits), ``odd`` the
    rows whose position text is neither empty nor plain digits (for the caller to parse as
    pandas would). ``n_names`` is -1 when more than ``max_names`` distinct chromosomes were
    met (the caller then splits another way). A row without ``:`` is its whole text as
    chromosome, with no position.
    """
    n = offsets.size - 1
    codes = np.full(n, -1, np.int32)
    pos = np.full(n, np.nan)
    odd = np.zeros(n, np.bool_)
    starts = np.empty(max_names, np.int64)
    lengths = np.empty(max_names, np.int64)
    n_names = 0
    last = -1
    for i in range(n):
        if null[i]:
            continue
        a = offsets[i]
        b = offsets[i + 1]
        c = a
        while c < b and data[c] != _COLON:
            c += 1
        length = c - a
        # The chromosome: most often the previous row's.
        code = last if last >= 0 and _same(data, starts[last], lengths[last], a, length) else -1
        if code < 0:
            for j in range(n_names):
                if _same(data, starts[j], lengths[j], a, length):
                    code = j
                    break
        if code < 0:
            if n_names == max_names:
                return codes, pos, odd, starts, lengths, -1
            starts[n_names] = a
            lengths[n_names] = length
            code = n_names
            n_names += 1
        codes[i] = code
        last = code
        if c == b:
            continue
        # The position: plain digits up to the next ':' or the end.
        value = 0.0
        digits = 0
        plain = True
        e = c + 1
        while e < b and data[e] != _COLON:
            d = data[e] - _ZERO
            if d < 0 or d > 9:
                plain = False
            else:
                value = value * 10.0 + d
                digits += 1
            e += 1
        if plain and digits > 0 and digits <= 15:
            pos[i] = value
        elif e > c + 1:
            odd[i] = True
    return codes, pos, odd, starts, lengths, n_names
