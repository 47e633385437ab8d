"""Write tests/data/gwas_sample_variants.csv: 12 variants of the test suite's synthetic
GWAS (generate(k=4, m=6000, seed=3, fmt="metal")), harmonised, with 3 or 4 studies each:
the input of make_gwas_sample_refs.R, which fits them with metafor.

Run from the repository root: python tests/data/make_gwas_sample.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from betameta.gwas import harmonise, read_sumstats
from betameta.gwas.synthetic import generate


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        truth = generate(tmp, k=4, m=6000, seed=3, fmt="metal", signal_fraction=0.01)
        h = harmonise({s: read_sumstats(p) for s, p in truth.paths.items()})
    beta, se = h.beta, h.se
    n = np.isfinite(beta).sum(axis=1)
    rng = np.random.default_rng(12)
    # Variants with a signal (heterogeneity likely) and without, 3 and 4 studies.
    strong = np.flatnonzero((n >= 3) & (np.nanmax(np.abs(beta / se), axis=1) > 4))
    weak = np.flatnonzero(n >= 3)
    pick = np.sort(np.concatenate([rng.choice(strong, 6, replace=False), rng.choice(weak, 6, replace=False)]))
    rows = [{"variant": int(i), "study": s, "yi": beta[i, j], "vi": se[i, j] ** 2}
            for i in pick for j, s in enumerate(h.studies) if np.isfinite(beta[i, j])]
    pd.DataFrame(rows).to_csv(Path(__file__).parent / "gwas_sample_variants.csv", index=False,
                              float_format="%.17g")


if __name__ == "__main__":
    main()
