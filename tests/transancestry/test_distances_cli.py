"""Distances from allele frequencies, the distance-file reader, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from betameta import InputError
from betameta.transancestry import distances_from_frequencies, read_distances


def test_mean_squared_difference_and_fst_by_hand():
    rng = np.random.default_rng(2)
    m = 500
    base = rng.uniform(0.05, 0.95, m)
    freqs = np.clip(np.stack([base, base + rng.normal(0, 0.02, m), base + rng.normal(0, 0.1, m)], 1),
                    0.001, 0.999)
    chrom = np.repeat([1, 2], m // 2)
    pos = np.tile(np.arange(m // 2) * 400_000, 2)  # 2-3 variants per 1-Mb bin
    d = distances_from_frequencies(freqs, chrom, pos)
    # By hand: keep 0.01 <= f <= 0.99 everywhere, the first variant of each (chrom, Mb) bin.
    ok = np.all((freqs >= 0.01) & (freqs <= 0.99), axis=1)
    seen, idx = set(), []
    for i in np.flatnonzero(ok):
        key = (chrom[i], pos[i] // 1_000_000)
        if key not in seen:
            seen.add(key)
            idx.append(i)
    f = freqs[idx]
    assert d[0, 2] == pytest.approx(np.mean((f[:, 0] - f[:, 2]) ** 2), rel=1e-12)
    assert d[0, 1] < d[0, 2] and np.allclose(d, d.T) and np.all(np.diag(d) == 0)
    fst = distances_from_frequencies(freqs, chrom, pos, method="fst")
    num = np.mean((f[:, 1] - f[:, 2]) ** 2)
    den = np.mean(f[:, 1] * (1 - f[:, 2]) + f[:, 2] * (1 - f[:, 1]))
    assert fst[1, 2] == pytest.approx(num / den, rel=1e-12)
    with pytest.raises(InputError, match="too few"):
        distances_from_frequencies(freqs[:5])


def test_read_distances_validates(tmp_path):
    good = tmp_path / "d.tsv"
    good.write_text("study\tA\tB\tC\nA\t0\t1\t2\nB\t1\t0\t3\nC\t2\t3\t0\n")
    values, labels = read_distances(good, ("C", "A", "B"))
    assert labels == ("C", "A", "B") and values[0, 1] == 2 and values[1, 2] == 1
    cases = {
        "study\tA\tB\nA\t0\t1\nB\t2\t0\n": "not symmetric",
        "study\tA\tB\nA\t0\t-1\nB\t-1\t0\n": "negative",
        "study\tA\tB\nA\t1\t1\nB\t1\t0\n": "diagonal",
        "study\tA\tB\nB\t0\t1\nA\t1\t0\n": "do not match",
        "study\tA\tB\nA\t0\tx\nB\t1\t0\n": "not a finite number",
    }
    for text, message in cases.items():
        bad = tmp_path / "bad.tsv"
        bad.write_text(text)
        with pytest.raises(InputError, match=message):
            read_distances(bad)
    with pytest.raises(InputError, match=r"no distances for studies \['D'\]"):
        read_distances(good, ("A", "D"))


def test_transancestry_cli(tmp_path):
    studies = pd.DataFrame({"study": ["EUR", "EAS", "AFR", "SAS"], "beta": [0.12, 0.11, 0.01, "NA"],
                            "se": [0.02, 0.03, 0.03, 0.05]})
    f = tmp_path / "s.tsv"
    studies.to_csv(f, sep="\t", index=False)
    d = tmp_path / "d.tsv"
    d.write_text("study\tEUR\tEAS\tAFR\tSAS\nEUR\t0\t0.1\t0.2\t0.05\nEAS\t0.1\t0\t0.25\t0.08\n"
                 "AFR\t0.2\t0.25\t0\t0.2\nSAS\t0.05\t0.08\t0.2\t0\n")
    plot = tmp_path / "p.png"
    out = subprocess.run([sys.executable, "-m", "betameta.cli.main", "transancestry", str(f),
                          "--distances", str(d), "--json", "--plot", str(plot)],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert set(res) >= {"log10_bf", "log10_bf_c1", "p_heterogeneity", "studies", "coclustering",
                        "effects", "map_partition"}
    assert res["studies"] == ["EUR", "EAS", "AFR"]  # SAS has no effect: left out, and said so
    assert "1 of 4 studies have no effect or SE and are left out: SAS" in out.stderr
    assert len(res["coclustering"]) == 3 and plot.stat().st_size > 20_000
    bad = subprocess.run([sys.executable, "-m", "betameta.cli.main", "transancestry", str(f),
                          "--distances", str(f)], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
