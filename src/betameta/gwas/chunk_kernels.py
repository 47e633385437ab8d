"""Compiled row loops of the per-chunk columns that describe the inputs (numba).

One pass over a chunk's (n, k) arrays where NumPy would make several temporaries.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_PLUS, _MINUS, _ZERO, _MISSING = ord("+"), ord("-"), ord("0"), ord("?")


@njit(cache=True, nogil=True)
def describe(beta, eaf, direction, mean_eaf):
    """Per variant (row): METAL's direction string, one byte per study into ``direction`` (n·k bytes).

    ``+``, ``-``, ``0`` or ``?`` where beta is missing; and the mean of the known effect-allele
    frequencies into ``mean_eaf`` (NaN if none), summed over studies in order.
    """
    n, k = beta.shape
    for i in range(n):
        total, known = 0.0, 0
        for j in range(k):
            b = beta[i, j]
            direction[i * k + j] = _MISSING if b != b else (_PLUS if b > 0 else (_MINUS if b < 0 else _ZERO))
            f = eaf[i, j]
            if math.isfinite(f):
                total += f
                known += 1
        mean_eaf[i] = total / known if known else np.nan
