"""Genome-wide cost and peak memory of each method, side by side in one run.

Each method set runs ``betameta.gwas.run_gwas`` end to end in a fresh subprocess (so its
peak RSS, from ru_maxrss, is its own) on the same synthetic inputs (5 studies, gzip TSV):
``fe`` alone, ``fe,re`` with the random-effects kernel (REML with its Q-profile CI), and
``fe,re,bayes`` (exact posterior, half-normal(0.5) on τ, flat µ), ``fe,mrmega`` (MR-MEGA on
its default 2 axes for 5 studies, the distances from the inputs' frequencies). Reported: wall time, the
compute stage's share, variants per second of the compute stage, peak RSS, and the peak
above the ``fe`` run per variant in flight (chunks of 200,000 variants; two in flight).

    python benchmarks/bench_gwas_methods.py [--variants 250000] [--workdir /tmp/betameta_bench]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

STEP = r"""
import json, resource, sys, time
from pathlib import Path
from betameta.gwas import run_gwas
work, methods, tau2 = Path(sys.argv[1]), tuple(sys.argv[2].split(",")), sys.argv[3] or None
paths = {p.stem.split(".")[0]: p for p in sorted(work.glob("S*.tsv.gz"))}
t0 = time.perf_counter()
run = run_gwas(paths, work / "out.parquet", methods=methods, tau2_method=tau2, progress=False,
               plots=False)
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall": wall, "peak_mb": peak, "timings": run.timings,
                  "variants": run.details["variants_out"]}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", type=int, default=250_000)
    ap.add_argument("--workdir", default="/tmp/betameta_bench")
    args = ap.parse_args()
    work = Path(args.workdir) / f"m{args.variants}"
    if not (work / "S5.tsv.gz").exists():
        from betameta.gwas.synthetic import generate

        t0 = time.perf_counter()
        generate(work, k=5, m=args.variants, seed=2026)
        print(f"# generated inputs in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print(f"# genome-wide methods, {date.today()}, {platform.node()}, {platform.machine()}, "
          f"2 cores; {args.variants:,} variants x 5 studies, gzip TSV, chunks of 200,000")
    print(f"{'methods':<34}{'wall s':>8}{'compute s':>11}{'variants/s':>12}{'peak MB':>9}"
          f"{'B/variant over fe':>19}")
    base = None
    for label, methods, tau2 in (("fe", "fe", ""), ("fe,re (REML + Q-profile CI)", "fe,re", "REML"),
                                 ("fe,re,bayes (REML; exact Bayes)", "fe,re,bayes", "REML"),
                                 ("fe,mrmega (T = 2 axes)", "fe,mrmega", "")):
        res = subprocess.run([sys.executable, "-c", STEP, str(work), methods, tau2],
                             capture_output=True, text=True, check=True)
        r = json.loads(res.stdout.strip().splitlines()[-1])
        compute = r["timings"].get("compute", float("nan"))
        base = base if base is not None else r["peak_mb"]
        extra = (r["peak_mb"] - base) * 2**20 / min(args.variants, 2 * 200_000)
        print(f"{label:<34}{r['wall']:>8.1f}{compute:>11.1f}{r['variants'] / compute:>12,.0f}"
              f"{r['peak_mb']:>9,.0f}{extra:>19,.0f}")


if __name__ == "__main__":
    main()
