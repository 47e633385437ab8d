"""Per-variant cost of every τ² estimator in the random-effects array kernel, side by side
in one run with the classical kernel's DerSimonian–Laird (the default genome-wide ``re``),
and the study-level latency (``import betameta``, one ``betameta meta`` run).

    python benchmarks/bench_random_effects.py [--variants 200000] [--studies 5]

The random-effects kernel computes, per variant, τ² with its Q-profile interval, the
estimate with z or HKSJ inference and the prediction interval (compiled loops for the
intercept-only model from 256 columns on; the classical kernel's DL is a compiled loop
without the Q-profile interval).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

from betameta.kernels import classical_kernel, random_effects_kernel

ROOT = Path(__file__).parents[1]


def best(fn, rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def wall(cmd: list[str], rounds: int = 7) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:])  # the first run warms the caches


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", type=int, default=200_000)
    parser.add_argument("--studies", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    k, m = args.studies, args.variants
    v = rng.uniform(0.001, 0.01, (k, m))
    y = rng.normal(0, np.sqrt(v + rng.choice([0.0, 0.002], m)))
    y[rng.random((k, m)) < 0.05] = np.nan
    classical_kernel(y[:, :1000], v[:, :1000])  # compile / load the loop first
    random_effects_kernel(y[:, :1000], v[:, :1000])
    rows = [("classical kernel, DL (compiled; no Q-profile CI)", best(lambda: classical_kernel(y, v)))]
    for method in ("DL", "HE", "SJ", "PM", "REML", "ML", "EB"):
        rows.append((f"random_effects_kernel {method}, z",
                     best(lambda method=method: random_effects_kernel(y, v, method=method), 2)))
    rows.append(("random_effects_kernel REML, hksj",
                 best(lambda: random_effects_kernel(y, v, method="REML", test="hksj"), 2)))
    base = rows[0][1]
    print(f"# {date.today()} {platform.node()} {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, NumPy {np.__version__}; {m:,} variants x {k} studies "
          "(5% missing), best of 2-3 rounds, one thread")
    print(f"{'what':<52}{'s':>8}{'us/variant':>12}{'x classical DL':>16}")
    for name, s in rows:
        print(f"{name:<52}{s:>8.3f}{1e6 * s / m:>12.2f}{s / base:>16.2f}")
    imp = wall([sys.executable, "-c", "import betameta"])
    meta = wall([sys.executable, "-m", "betameta.cli.main", "meta", "examples/lecture.csv",
                 "--measure", "MD"])
    print(f"\n{'study-level latency (median of 6 warm runs)':<52}{'s':>8}")
    for what, s in (('python -c "import betameta"', imp),
                    ("betameta meta examples/lecture.csv --measure MD", meta)):
        print(f"{what:<52}{s:>8.3f}")
    study_level()


#: One fit in R, side by side: metafor's rma() and confint() (the Q-profile CI) on the same data.
R_FIT = """suppressMessages(library(metafor)); d <- read.csv("{csv}"); n <- {n}
t0 <- proc.time()[["elapsed"]]
for (i in 1:n) {{ fit <- rma(yi, vi, data=d, method="REML"); ci <- confint(fit) }}
cat((proc.time()[["elapsed"]] - t0) / n, packageDescription("metafor")$Version)"""


def study_level(n: int = 200) -> None:
    """One REML fit with its Q-profile CI (ours and metafor's) and one exact Bayes fit, on
    the BCG data (k = 13, log RR)."""
    import json
    import shutil
    import tempfile

    from betameta import StudyTable, meta_analysis
    from betameta.bayes import bayes_meta

    case = json.loads((ROOT / "tests" / "data" / "bcg_rr.json").read_text())
    yi, vi = np.array(case["yi"]), np.array(case["vi"])
    studies = StudyTable(yi, vi, tuple(map(str, range(yi.size))))
    fits = [("meta_analysis(method='REML') incl. Q-profile CI",
             lambda: meta_analysis(studies, method="REML")),
            ("bayes_meta (half-normal(0.5), flat mu)", lambda: bayes_meta(studies))]
    print(f"\n{'one study-level fit, BCG (k = 13), mean of ' + str(n):<52}{'ms':>8}")
    for what, fn in fits:
        fn()
        print(f"{what:<52}{1e3 * best(lambda fn=fn: [fn() for _ in range(n)], 3) / n:>8.2f}")
    rscript = shutil.which("Rscript")
    if rscript is None:
        print("metafor rma() + confint(): Rscript not found (apt-get install r-cran-metafor)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "bcg.csv"
        rows = "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(yi, vi, strict=True))
        csv.write_text("yi,vi\n" + rows)
        out = subprocess.run([rscript, "-e", R_FIT.format(csv=csv, n=n)], check=True,
                             capture_output=True, text=True).stdout.split()
    label = f"metafor {out[1]} rma(method='REML') + confint()"
    print(f"{label:<52}{1e3 * float(out[0]):>8.2f}")


if __name__ == "__main__":
    main()
