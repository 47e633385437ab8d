"""Make the small-k correction of the RE2 p-value (src/betameta/data/re2_correction.json).

Han & Eskin (2011) correct the asymptotic ½χ²₁ + ½χ²₂ p-value of RE2 for few studies with a
table made by simulation; this makes ours. For each k in KS, DRAWS null meta-analyses
(yᵢ ~ N(0, vᵢ), vᵢ = 1: the statistic does not change when every variance is scaled by the
same factor) go through ``re2_arrays`` itself; at each point g of GRID (−log10 of the
asymptotic p) the ratio r_k(g) = P̂(p_asymptotic ≤ 10^−g) / 10^−g is recorded where at least
MIN_COUNT draws lie beyond it, and the last such ratio is carried to the end of the grid.
Stored as log10 r. Seeded; about 4 minutes on 2 cores.

    python tests/data/make_re2_correction.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

KS = [*range(2, 21), 25, 30, 35, 40, 45, 50]
DRAWS = 1_000_000
GRID = [round(0.1 * i, 1) for i in range(36)]  # −log10 p_asymptotic from 0 to 3.5
MIN_COUNT = 400
SEED = 20261203
OUT = Path(__file__).parents[2] / "src" / "betameta" / "data" / "re2_correction.json"


def main() -> None:
    from betameta.kernels import metasoft

    # The asymptotic p alone: a table of zeros makes the correction the identity.
    zero = {"k": KS, "grid": GRID, "log10_ratio": [[0.0] * len(GRID) for _ in KS]}
    metasoft._correction.cache_clear()
    metasoft._correction = lambda: (np.array(zero["k"], float), np.array(zero["grid"]),  # type: ignore[assignment]
                                    np.array(zero["log10_ratio"]))
    rng = np.random.default_rng(SEED)
    rows = []
    t0 = time.perf_counter()
    for k in KS:
        asym = np.empty(DRAWS)
        for lo in range(0, DRAWS, 250_000):
            y = rng.standard_normal((k, 250_000))
            asym[lo:lo + 250_000] = metasoft.re2_arrays(y, np.ones_like(y)).neg_log_10_p_asymptotic
        ratios, last = [], 0.0
        for g in GRID:
            count = int((asym >= g - 1e-12).sum())
            if count >= MIN_COUNT:
                last = float(np.log10(count / DRAWS / 10.0**-g))
            ratios.append(round(last, 5))
        rows.append(ratios)
        print(f"k = {k:>2}: log10 r at g = 1, 2, 3: {ratios[10]:+.4f} {ratios[20]:+.4f} "
              f"{ratios[30]:+.4f}  ({time.perf_counter() - t0:.0f} s)", flush=True)
    OUT.write_text(json.dumps({
        "what": "log10 of the simulated null tail of RE2 over its asymptotic 0.5 chi2_1 + 0.5 chi2_2 "
                "tail, by number of studies k and -log10 of the asymptotic p (grid)",
        "made_by": "tests/data/make_re2_correction.py", "seed": SEED, "draws_per_k": DRAWS,
        "min_count": MIN_COUNT, "k": KS, "grid": GRID, "log10_ratio": rows}, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
