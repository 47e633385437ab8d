"""The report of a genome-wide run: inputs, drops, λ_GC, plots, top loci."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .._atomic import write_text_atomic
from .html import esc, fmt, page, png_file, provenance, table


def gwas_report(out_table: str | Path, summary: dict[str, Any], path: str | Path,
                command: str | None = None) -> Path:
    """Write the HTML report of a finished :func:`betameta.gwas.run_gwas` run.

    Parameters
    ----------
    out_table : str or pathlib.Path
        The run's per-variant output (Parquet or TSV); its Manhattan and QQ plots beside it
        are included when present.
    summary : dict
        The run summary (:attr:`betameta.gwas.GwasRun.details`).
    path : str or pathlib.Path
        The HTML file to write (atomically).
    command : str or None
        The command line that made the run, recorded with the versions.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from betameta.gwas import run_gwas
    >>> from betameta.gwas.synthetic import generate
    >>> from betameta.report.gwas_report import gwas_report
    >>> work = Path(tempfile.mkdtemp())
    >>> truth = generate(work, k=3, m=2000, seed=1)
    >>> run = run_gwas(truth.paths, work / "meta.parquet", methods=("fe",), progress=False,
    ...                plots=False)
    >>> gwas_report(run.out, run.details, work / "report.html").name
    'report.html'
    """
    out_table = Path(out_table)
    result = pd.read_parquet(out_table) if out_table.suffix == ".parquet" else pd.read_csv(
        out_table, sep="\t")
    parts = [f"<p>{len(summary['studies'])} studies; methods {esc(', '.join(summary['methods']))}; "
             f"{summary['variants_out']:,} variants meta-analysed; λ_GC = "
             f"{fmt(summary['lambda_gc'])}.</p>", "<h2>Inputs</h2>"]
    reasons = list(next(iter(summary["per_study"].values()))["dropped"])
    rows = []
    for s, c in summary["per_study"].items():
        rows.append([s, summary.get("ancestry", {}).get(s, ""), c["rows"], c["kept"],
                     *(c["dropped"][r] for r in reasons), summary["lambda_gc_inputs"][s]])
    parts.append(table(["study", "ancestry", "rows", "kept", *reasons, "λ_GC"], rows))
    for suffix, caption in ((".manhattan.png", "Manhattan plot (fixed effect)"),
                            (".qq.png", "QQ plot (fixed effect)")):
        p = out_table.with_name(out_table.name + suffix)
        if p.exists():
            parts.append(png_file(p, caption))
    parts.append("<h2>Top loci</h2>")
    studies = summary["studies"]
    top = pd.DataFrame(summary["top_loci"])
    if not top.empty:
        merged = top.merge(result, on=["chromosome", "base_pair_location"], suffixes=("", "_r"))
        cols = ["chromosome", "base_pair_location", "effect_allele", "other_allele", "beta",
                "standard_error", "neg_log_10_p_value", "direction", "het_i2", "het_p"]
        cols += [c for c in ("partition_log10_bf", "partition_p_heterogeneity") if c in merged]
        cols += [f"partition_effect_{s}" for s in studies if f"partition_effect_{s}" in merged]
        parts.append(table(cols, merged[[c for c in cols if c in merged]].itertuples(index=False)))
    parts.append(provenance(command))
    return write_text_atomic(path, page("Genome-wide meta-analysis report", parts))
