"""``betameta asset``: ASSET's one- and two-sided subset searches for one set of studies."""

from __future__ import annotations

import click

from ._common import echo_json, study_options


@click.command("asset")
@study_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def asset_command(studies, as_json):
    """ASSET's subset search over the studies of FILE.

    ASSET (Bhattacharjee et al. 2012): the subset of studies with the largest fixed-effect |z|, and the
    best subsets of the positive and of the negative studies, with p-values that allow for the search
    over every subset (DLM approximation).
    """
    from ..asset import asset

    a = asset(studies)
    if as_json:
        echo_json(a.to_dict())
        return
    click.echo(a.summary())
