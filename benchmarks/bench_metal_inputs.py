"""METAL-style inputs against GWAS-SSF inputs of the same data: the whole FE + Q + DL run.

The same five studies (1M variants each by default) written twice, gzip TSV: GWAS-SSF
columns, and METAL's (``MARKER`` as ``chr:pos``, ``ALLELE1``, ``ALLELE2`` lower case,
``EFFECT``, ``STDERR``, ``FREQ1``, ``N``). Each run is a fresh subprocess (peak memory is
its own ru_maxrss); the two alternate for three rounds since this shared machine drifts
between minutes, and the per-round ratio METAL-style / GWAS-SSF is reported, per input row
(both hold the same rows). With ``--metal PATH`` (a METAL binary built from its public
source, statgen/METAL), METAL runs the same METAL-style files (SCHEME STDERR, ANALYZE
HETEROGENEITY) in the same rounds.

    python benchmarks/bench_metal_inputs.py [--variants 1000000] [--metal PATH]
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
from pathlib import Path
from betameta.gwas import run_gwas
paths = {p.stem.split(".")[0]: p for p in sorted(Path(sys.argv[1]).glob("S*.tsv.gz"))}
t0 = time.perf_counter()
run = run_gwas(paths, Path(sys.argv[1]) / "out.parquet", methods=("fe", "re"), progress=False,
               plots=False)
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall": wall, "peak_mb": peak, "timings": run.timings,
                  "rows": sum(c["rows"] for c in run.details["per_study"].values()),
                  "variants": run.details["variants_out"]}))
"""


def _to_metal(src: Path, dst: Path) -> None:
    """One GWAS-SSF file written again with METAL's column names and marker."""
    import pyarrow as pa
    import pyarrow.compute as pac
    import pyarrow.csv as pacsv
    from isal import igzip

    with igzip.open(src, "rb") as f:
        t = pacsv.read_csv(f, parse_options=pacsv.ParseOptions(delimiter="\t"),
                           convert_options=pacsv.ConvertOptions(
                               column_types={"chromosome": pa.string(), "effect_allele": pa.string(),
                                             "other_allele": pa.string()}))
    marker = pac.binary_join_element_wise(t["chromosome"], t["base_pair_location"].cast(pa.string()), ":")
    out = pa.table({"MARKER": marker, "ALLELE1": pac.utf8_lower(t["effect_allele"]),
                    "ALLELE2": pac.utf8_lower(t["other_allele"]), "EFFECT": t["beta"],
                    "STDERR": t["standard_error"], "FREQ1": t["effect_allele_frequency"], "N": t["n"]})
    with pa.CompressedOutputStream(str(dst), "gzip") as stream:
        pacsv.write_csv(out, stream, pacsv.WriteOptions(delimiter="\t", quoting_style="none",
                                                           quoting_header="none"))


_METAL_SCRIPT = """SCHEME STDERR
MARKER MARKER
ALLELE ALLELE1 ALLELE2
EFFECT EFFECT
STDERR STDERR
FREQ FREQ1
{process}
OUTFILE {out} .tbl
ANALYZE HETEROGENEITY
QUIT
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", type=int, default=1_000_000)
    ap.add_argument("--workdir", default="/tmp/betameta_bench_metal")
    ap.add_argument("--metal", help="a METAL binary, run on the METAL-style files in the same rounds")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    root = Path(args.workdir) / f"m{args.variants}"
    ssf, metal = root / "ssf", root / "metal"
    if not (ssf / "S5.tsv.gz").exists():
        from betameta.gwas.synthetic import generate

        t0 = time.perf_counter()
        generate(ssf, k=5, m=args.variants, seed=2026)
        print(f"# generated inputs in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    metal.mkdir(parents=True, exist_ok=True)
    for p in sorted(ssf.glob("S*.tsv.gz")):
        if not (metal / p.name).exists():
            _to_metal(p, metal / p.name)
    size = {d.name: sum(p.stat().st_size for p in d.glob("S*.tsv.gz")) / 2**20 for d in (ssf, metal)}
    print(f"# METAL-style against GWAS-SSF inputs, {date.today()}, {platform.node()}, {platform.machine()}, "
          f"2 cores; {args.variants:,} variants x 5 studies, gzip TSV (GWAS-SSF {size['ssf']:,.0f} MB, "
          f"METAL-style {size['metal']:,.0f} MB); FE + Q + DL, Parquet out, no plots")
    print(f"{'step':<34}{'wall s':>8}{'peak MB':>9}  detail")

    def ours(d: Path) -> dict:
        res = subprocess.run([sys.executable, "-c", STEP, str(d)], capture_output=True, text=True,
                             check=True)
        return json.loads(res.stdout.strip().splitlines()[-1])

    def metal_run() -> dict:
        script = metal / "metal.txt"
        script.write_text(_METAL_SCRIPT.format(
            process="\n".join(f"PROCESS {p}" for p in sorted(metal.glob("S*.tsv.gz"))),
            out=metal / "METAL"))
        t0 = time.perf_counter()
        res = subprocess.run(["/usr/bin/time", "-f", "%M", args.metal, str(script)], capture_output=True,
                             text=True, check=True)
        return {"wall": time.perf_counter() - t0, "peak_mb": int(res.stderr.strip().splitlines()[-1]) / 1024}

    ratios, vs_metal, mem_vs_metal = [], [], []
    for rep in range(1, args.rounds + 1):
        a, b = ours(ssf), ours(metal)
        ratios.append(b["wall"] / a["wall"])
        for label, r in ((f"GWAS-SSF inputs ({rep})", a), (f"METAL-style inputs ({rep})", b)):
            print(f"{label:<34}{r['wall']:>8.1f}{r['peak_mb']:>9,.0f}  {r['rows']:,} rows; "
                  + ", ".join(f"{k} {v:.2f}" for k, v in r["timings"].items()))
        if args.metal:
            m = metal_run()
            vs_metal.append(m["wall"] / b["wall"])
            mem_vs_metal.append(b["peak_mb"] / m["peak_mb"])
            print(f"{f'METAL, METAL-style inputs ({rep})':<34}{m['wall']:>8.1f}{m['peak_mb']:>9,.0f}  "
                  f"{vs_metal[-1]:.1f}x our time, our peak {mem_vs_metal[-1]:.2f}x its")
    print(f"# METAL-style / GWAS-SSF time per input row (same rows): median {statistics.median(ratios):.2f}x "
          f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
    if vs_metal:
        print(f"# METAL's time / ours: median {statistics.median(vs_metal):.1f}x; our peak / METAL's: "
              f"median {statistics.median(mem_vs_metal):.2f}x")


if __name__ == "__main__":
    main()
