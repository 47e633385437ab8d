"""``betameta metasoft``: METASOFT's RE2 test, m-values and binary-effects test for one set of studies."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import echo_json, save_figure, study_options


@click.command("metasoft")
@study_options
@click.option("--sigma", type=click.FloatRange(0, min_open=True), default=0.2, show_default=True,
              help="m-values: prior sd of the shared effect of the studies that have one.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="PM-plot: each study's -log10 p against its m-value (.png/.svg/.pdf).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def metasoft_command(studies, sigma, plot, as_json):
    """METASOFT's RE2 test, m-values and binary-effects test for FILE.

    RE2 (Han & Eskin 2011: the random-effects likelihood-ratio test, its p corrected for
    few studies) and m-values (Han & Eskin 2012: the posterior probability that each study
    has an effect) and the binary-effects test (Han & Eskin 2012: z-scores weighted by
    whether each study seems to have an effect, p by importance sampling) for FILE.
    """
    from ..metasoft import binary_effects, mvalues, re2

    r, mv, be = re2(studies), mvalues(studies, sigma=sigma), binary_effects(studies)
    if plot:
        save_figure(mv.plot_pm(), plot)
    if as_json:
        echo_json({"re2": r.to_dict(), "mvalues": mv.to_dict(), "binary_effects": be.to_dict()})
        return
    click.echo(r.summary())
    click.echo("")
    click.echo(mv.summary())
    click.echo("")
    click.echo(be.summary())
