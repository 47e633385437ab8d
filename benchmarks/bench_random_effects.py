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


if __name__ == "__main__":
    main()
