"""Per-variant random effects against metafor: 12 variants of the suite's synthetic GWAS
(tests/data/gwas_sample_variants.csv, from make_gwas_sample.py), every τ² method, z and
Knapp–Hartung tests, fitted by metafor 3.8-1 with ``control=list(threshold=1e-12, tol=1e-12)``,
Q-profile bounds by ``confint(tol=1e-12)`` and prediction intervals by ``predict``
(tests/data/gwas_sample_metafor.csv, from make_gwas_sample_refs.R).

The variants are fitted as one (k, m) call of the array kernel, as the genome-wide run does.
Tolerances: metafor writes 15 significant digits and stops its iterations at an absolute
|Δτ²| of 1e-12, which with these variances (~1e-4) is 1e-8 of τ²: relative 1e-8 and, for a
τ² at or near 0 (metafor's ML stops at 4.8e-13 where ours reaches 6e-18), an absolute 1e-11,
and what follows from it on quantities in the effect's unit, which move by about
Δτ²/(2·SE) times the normal or t quantile: 2e-11 / min SE.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import DATA

from betameta.kernels import random_effects_kernel

VARIANTS = pd.read_csv(DATA / "gwas_sample_variants.csv")
METAFOR = pd.read_csv(DATA / "gwas_sample_metafor.csv")


def _arrays():
    ids = sorted(VARIANTS["variant"].unique())
    studies = sorted(VARIANTS["study"].unique())
    y = np.full((len(studies), len(ids)), np.nan)
    v = np.full_like(y, np.nan)
    for row in VARIANTS.itertuples():
        i, j = studies.index(row.study), ids.index(row.variant)
        y[i, j], v[i, j] = row.yi, row.vi
    return ids, y, v


@pytest.mark.parametrize("copies", [1, 25], ids=["numpy", "compiled"])
@pytest.mark.parametrize("test", ["z", "knha"])
@pytest.mark.parametrize("method", ["DL", "PM", "REML", "ML", "HE", "SJ", "EB"])
def test_kernel_columns_agree_with_metafor(method, test, copies):
    # 12 columns run the NumPy code; 25 copies of them (300 columns) the compiled loop.
    ids, y, v = _arrays()
    r = random_effects_kernel(np.tile(y, copies), np.tile(v, copies), method=method,
                              test="hksj" if test == "knha" else "z")
    ref = METAFOR[(METAFOR["method"] == method) & (METAFOR["test"] == test)].set_index("variant")
    assert len(ref) == len(ids) == 12
    for j, vid in [(j + 12 * c, vid) for c in (0, copies - 1) for j, vid in enumerate(ids)]:
        m = ref.loc[vid]
        assert r.k[j] == m["k"]
        assert r.tau2[j] == pytest.approx(m["tau2"], rel=1e-8, abs=1e-11), vid
        slack = 2e-11 / np.sqrt(np.nanmin(v[:, j % 12]))
        for ours, key in ((r.coef[j, 0], "estimate"), (r.se[j, 0], "se"), (r.ci_low[j, 0], "ci_lb"),
                          (r.ci_high[j, 0], "ci_ub"), (r.pi_low[j], "pi_lb"), (r.pi_high[j], "pi_ub")):
            assert ours == pytest.approx(m[key], rel=1e-8, abs=slack), (vid, key)
        assert r.p[j, 0] == pytest.approx(m["pval"], rel=1e-7, abs=1e-15), vid
        for ours, key in ((r.tau2_ci_low[j], "tau2_lb"), (r.tau2_ci_high[j], "tau2_ub")):
            if np.isfinite(m[key]):
                assert ours == pytest.approx(m[key], rel=1e-8, abs=1e-11), (vid, key)
