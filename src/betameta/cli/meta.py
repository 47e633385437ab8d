"""``betameta meta``: classical meta-analysis of a study table."""

from __future__ import annotations

from pathlib import Path

import click

from .._options import TAU2_METHODS, TESTS, TRANSFORMS
from ._common import echo_json, save_figure, study_options


@click.command("meta")
@study_options
@click.option("--method", type=click.Choice(TAU2_METHODS, case_sensitive=False), default="REML",
              show_default=True, help="tau² estimator (FE: common effect only).")
@click.option("--test", type=click.Choice(TESTS, case_sensitive=False), default="z",
              show_default=True, help="Inference for the random-effects mean.")
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
              show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a forest plot (.png, .svg or .pdf).")
@click.option("--transf", type=click.Choice(TRANSFORMS, case_sensitive=False), default=None,
              help="Scale of the forest plot: exp shows ratios (default for OR and RR), none "
                   "the effects as computed.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def meta_command(studies, method, test, level, plot, transf, as_json):
    """Fixed-effect, heterogeneity and random-effects meta-analysis of FILE.

    FILE is a CSV/TSV/Parquet table with one row per study.
    """
    from ..classical import meta_analysis

    fit = meta_analysis(studies, method=method.upper(), test=test.lower(), level=level)
    if plot:
        save_figure(fit.plot_forest(transf=transf), plot)
    if as_json:
        echo_json(fit.to_dict())
    else:
        click.echo(fit.summary())
