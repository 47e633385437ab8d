"""End-to-end genome-wide run: 2.5M variants x 5 studies from gzip TSV.

Measured in one run, each step in a fresh subprocess (so peak memory is that
step's own, from ru_maxrss): (1) the floor: parsing the five whole files (every
column) with pyarrow's multi-threaded CSV reader and nothing else, one file after
another (Arrow inflates gzip with zlib); (1b) the strict floor: the same parse
with the decoder and concurrency betameta's reader uses (ISA-L inflate, two files
at a time); (2) the whole run with FE + Q + DL + Z2 (read, harmonise, compute,
write Parquet, summary, plots). (1), (1b) and (2) alternate five times, since
this shared machine drifts by 10-20% between minutes (and the floor itself by more,
with the host's memory: 3.4-6 s); the ratios are per round
and their median is reported. Then (3) the same plus the partition model.

    python benchmarks/bench_gwas.py [--variants 2500000] [--workdir /tmp/betameta_bench]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

STEP = r"""
import json, resource, sys, time
from contextlib import nullcontext
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor
import pyarrow.csv as pc
from betameta.gwas import run_gwas
paths = {p.stem.split(".")[0]: p for p in sorted(Path(sys.argv[1]).glob("S*.tsv.gz"))}
t0 = time.perf_counter()
if sys.argv[2].startswith("parse"):
    from isal import igzip
    isal = sys.argv[2] == "parse-isal"
    def parse(p):
        with igzip.open(p, "rb") if isal else nullcontext(p) as src:
            return pc.read_csv(src, parse_options=pc.ParseOptions(delimiter="\t")).num_rows
    with ThreadPoolExecutor(max_workers=2 if isal else 1) as pool:
        extra = {"rows": sum(pool.map(parse, paths.values()))}
else:
    methods = tuple(sys.argv[2].split(","))
    out = Path(sys.argv[1]) / f"out-{len(methods)}.parquet"
    run = run_gwas(paths, out, methods=methods, progress=False)
    extra = {"timings": run.timings, "variants": run.details["variants_out"]}
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall": wall, "peak_mb": peak, **extra}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", type=int, default=2_500_000)
    ap.add_argument("--workdir", default="/tmp/betameta_bench")
    args = ap.parse_args()
    work = Path(args.workdir) / f"m{args.variants}"
    if not (work / "S5.tsv.gz").exists():
        from betameta.gwas.synthetic import generate

        t0 = time.perf_counter()
        generate(work, k=5, m=args.variants, seed=2026)
        print(f"# generated inputs in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    size = sum(p.stat().st_size for p in work.glob("S*.tsv.gz")) / 2**20
    print(f"# genome-wide run, {date.today()}, {platform.node()}, {platform.machine()}, 2 cores; "
          f"{args.variants:,} variants x 5 studies, gzip TSV ({size:,.0f} MB)")
    print(f"{'step':<40}{'wall s':>8}{'peak MB':>9}  detail")

    def step(what: str) -> dict:
        res = subprocess.run([sys.executable, "-c", STEP, str(work), what], capture_output=True,
                             text=True, check=True)
        return json.loads(res.stdout.strip().splitlines()[-1])

    # The floors and the run alternate, five times: this shared machine drifts by 10-20% between
    # minutes, so each run is compared with the floor measured just before it.
    ratios: list[tuple[float, float]] = []
    for rep in range(1, 6):
        floors = []
        for label, what in ((f"parse, zlib, 1 file at a time ({rep})", "parse-zlib"),
                            (f"parse, ISA-L, 2 files at a time ({rep})", "parse-isal")):
            floors.append(step(what))
            print(f"{label:<40}{floors[-1]['wall']:>8.1f}{floors[-1]['peak_mb']:>9,.0f}  "
                  f"{floors[-1]['rows']:,} rows")
        r = step("fe,re,z2")
        ratios.append((r["wall"] / floors[0]["wall"], r["wall"] / floors[1]["wall"]))
        print(f"{f'FE + Q + DL + Z2, end to end ({rep})':<40}{r['wall']:>8.1f}{r['peak_mb']:>9,.0f}  "
              f"{ratios[-1][0]:.2f}x / {ratios[-1][1]:.2f}x the floors; "
              + ", ".join(f"{k} {v:.1f}" for k, v in r["timings"].items()))
    r = step("fe,re,z2,partition")
    print(f"{'... plus the partition model':<40}{r['wall']:>8.1f}{r['peak_mb']:>9,.0f}  "
          + ", ".join(f"{k} {v:.1f}" for k, v in r["timings"].items()))
    med = [statistics.median(x) for x in zip(*ratios, strict=True)]
    print(f"# median ratio of the end-to-end run to the floor: {med[0]:.2f}x (zlib, 1 file at a time), "
          f"{med[1]:.2f}x (ISA-L, 2 files at a time)")


if __name__ == "__main__":
    main()
