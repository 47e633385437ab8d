"""``betameta gwas``: genome-wide meta-analysis of summary-statistics files."""

from __future__ import annotations

from pathlib import Path

import click

from .._options import GWAS_METHODS, LEAVE_OUT, TAU2_METHODS, TESTS
from ..errors import InputError
from ._common import MU_PRIOR_HELP, TAU2_PRIOR_HELP, CommaList, table_options


def _parse_studies(items: tuple[str, ...]) -> tuple[dict[str, Path], dict[str, str]]:
    studies: dict[str, Path] = {}
    ancestry: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not NAME=PATH or NAME:ANCESTRY=PATH",
                                     param_hint="--study")
        name, path = item.split("=", 1)
        name, _, anc = name.partition(":")
        if name in studies:
            raise click.BadParameter(f"study {name!r} given twice", param_hint="--study")
        studies[name] = Path(path)
        if anc:
            ancestry[name] = anc
    return studies, ancestry


@click.command("gwas")
@click.option("--study", "study_items", multiple=True, required=True, metavar="NAME[:ANC]=PATH",
              help="A study's summary statistics (repeat for each study).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output file: .parquet (default format) or .tsv / .tsv.gz.")
@click.option("--methods", default=None, type=CommaList(choices=GWAS_METHODS),
              help=f"Comma-separated: {', '.join(GWAS_METHODS)} [default: fe,re,z2; fe with "
                   "--scheme samplesize].")
@click.option("--distances", default="auto", show_default=True,
              help="For partition and mrmega: auto (from allele frequencies) or a distance file.")
@click.option("--axes", type=click.IntRange(0), default=None,
              help="For mrmega: the number of axes of genetic variation [default: min(4, k - 3)].")
@click.option("--chunk-size", default=200_000, show_default=True, type=click.IntRange(1))
@click.option("--tau2-method", type=click.Choice(TAU2_METHODS, case_sensitive=False),
              help="For re: a tau² estimator, adding Q-profile CI and prediction-interval columns "
                   "[default: DerSimonian-Laird, z test, without them].")
@click.option("--test", type=click.Choice(TESTS, case_sensitive=False), default="z", show_default=True,
              help="For re with --tau2-method: z or hksj.")
@click.option("--scheme", type=click.Choice(["stderr", "samplesize"]), default="stderr", show_default=True,
              help="stderr: inverse-variance weights (METAL's SCHEME STDERR); samplesize: z-scores "
                   "from p-values and the effects' signs, weighted by sqrt(N) (METAL's default).")
@click.option("--default-n", "default_n", multiple=True, metavar="STUDY=N",
              help="For samplesize: the sample size of a study's rows without one (METAL's DEFAULT).")
@click.option("--filter", "filters", multiple=True, metavar="FIELD>=X",
              help="Input filter, repeatable: maf, info, n or effect_allele_frequency against a "
                   "number (info>=0.8, maf>0.01, n>=1000); failing rows are dropped and counted.")
@click.option("--freq-summary", is_flag=True,
              help="Weighted mean allele frequency with its SE, min and max (METAL's AVERAGEFREQ, "
                   "MINMAXFREQ).")
@click.option("--overlap", is_flag=True,
              help="Correct the fixed effect for sample overlap, by the studies' null z correlation "
                   "(estimated from variants with |z| < 1 and always reported in the summary).")
@click.option("--leave-one-out", type=click.Choice(LEAVE_OUT), is_flag=False,
              flag_value="study", default=None,
              help="Every method again without each study (alone or 'study'; columns "
                   "<column>_without_<study>) or each ancestry label's studies ('ancestry'; "
                   "<column>_without_<ancestry>).")
@click.option("--scheduler", help="Address of a running Dask scheduler (tcp://host:8786).")
@click.option("--workers", type=click.IntRange(1), help="Start a Dask LocalCluster with N workers.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its finished chunks.")
@click.option("--palindromic", type=click.Choice(["auto", "freq", "drop", "keep"]), default="auto",
              show_default=True,
              help="A/T and C/G variants: auto decides each study's strand from its other variants "
                   "(reference: kept as they are; other strand: flipped; mixed: by frequency); freq "
                   "orients each by frequency; drop; keep.")
@click.option("--gc", "genomic_control", is_flag=True,
              help="Genomic control: inflate each study's SEs by sqrt(lambda) when lambda > 1.")
@click.option("--tau-prior", default="auto", show_default=True,
              help="For bayes: auto is half-normal(0.5) (per-allele effects have no unit), or any "
                   "prior of betameta bayes.")
@click.option("--mu-prior", default="flat", show_default=True, help="For bayes: " + MU_PRIOR_HELP)
@click.option("--psi", default=1.0, show_default=True, type=float, help="For partition.")
@click.option("--tau2-prior", default="tau2~exponential(1)", show_default=True,
              help=TAU2_PRIOR_HELP)
@click.option("--column", "columns", multiple=True, metavar="STUDY:NAME=COL",
              help="Map a canonical column (beta, standard_error, ...) for one study.")
@click.option("--no-plots", is_flag=True, help="Skip the Manhattan and QQ plots.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a self-contained HTML report of the run.")
@table_options
def gwas_command(study_items, out, methods, distances, axes, chunk_size, tau2_method, test, scheme,
                 default_n, filters, freq_summary, overlap, leave_one_out, scheduler,
                 workers, resume, palindromic, genomic_control, tau_prior, mu_prior, psi, tau2_prior, columns,
                 no_plots, report_path, sep, encoding):
    """Meta-analyse GWAS summary statistics variant by variant."""
    from ..gwas import run_gwas
    from ..gwas.run import summary_text

    if scheduler and workers:
        raise click.BadParameter("give --scheduler or --workers, not both")
    studies, ancestry = _parse_studies(study_items)
    colmap: dict[str, dict[str, str]] = {}
    for item in columns:
        try:
            study, rest = item.split(":", 1)
            name, col = rest.split("=", 1)
        except ValueError:
            raise click.BadParameter(f"{item!r} is not STUDY:NAME=COL", param_hint="--column") from None
        if study not in studies:
            raise InputError(f"--column {item}: no study named {study!r}")
        colmap.setdefault(study, {})[name] = col
    sizes = {}
    for item in default_n:
        study, _, value = item.partition("=")
        try:
            sizes[study] = float(value)
        except ValueError:
            raise click.BadParameter(f"{item!r} is not STUDY=N", param_hint="--default-n") from None
    if methods is None:
        methods = ("fe",) if scheme == "samplesize" else ("fe", "re", "z2")
    run = run_gwas(studies, out, methods=methods,
                   columns=colmap, distances=distances, chunk_size=chunk_size,
                   palindromic=palindromic, genomic_control=genomic_control, tau_prior=tau_prior,
                   mu_prior=mu_prior, psi=psi, tau2_prior=tau2_prior, resume=resume,
                   scheduler=scheduler, workers=workers, plots=not no_plots, ancestry=ancestry,
                   sep=sep, encoding=encoding, tau2_method=tau2_method, test=test, axes=axes,
                   scheme=scheme, default_n=sizes, filters=filters,
                   freq_summary=freq_summary, overlap=overlap, leave_one_out=leave_one_out)
    click.echo(summary_text(run.details))
    click.echo(f"wrote {run.out}", err=True)
    if report_path:
        import shlex
        import sys

        from ..report import gwas_report

        gwas_report(run.out, run.details, report_path, command="betameta " + shlex.join(sys.argv[1:]))
        click.echo(f"wrote {report_path}", err=True)
