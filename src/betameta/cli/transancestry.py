"""``betameta transancestry``: the partition model for one variant across ancestries."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError
from ._common import TAU2_PRIOR_HELP, echo_json, save_figure, table_options


@click.command("transancestry")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--distances", "dist_file", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Square TSV/CSV of distances with study labels in the header and first column.")
@click.option("--psi", default=1.0, show_default=True, type=click.FloatRange(0, min_open=True),
              help="Prior sd of the mean effect mu (mu ~ N(0, psi^2)).")
@click.option("--tau2-prior", default="tau2~exponential(1)", show_default=True,
              help=TAU2_PRIOR_HELP)
@click.option("--study", default="study", show_default=True, help="Column of study labels.")
@click.option("--beta", "beta_col", default="beta", show_default=True, help="Column of effects.")
@click.option("--se", "se_col", default="se", show_default=True, help="Column of standard errors.")
@table_options
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Effects by cluster, co-clustering and dendrogram (.png/.svg/.pdf).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def transancestry_command(file, dist_file, psi, tau2_prior, study, beta_col, se_col, sep, encoding, plot,
                          as_json):
    """Exact MANTRA-style partition model for FILE (one row per study: study, beta, se)."""
    import numpy as np
    import pandas as pd

    from ..studies import _check_labels
    from ..tables import note, read_table
    from ..transancestry import read_distances, transancestry

    frame = read_table(file, sep=sep, encoding=encoding, text=(study,))
    for col in (study, beta_col, se_col):
        if col not in frame.columns:
            raise InputError(f"{file}: column {col!r} not found; columns are {list(frame.columns)}")
    _check_labels(tuple(str(s) for s in frame[study]), str(file))
    labels = tuple(str(s).strip() for s in frame[study])
    beta, se = (pd.to_numeric(frame[c], errors="coerce").to_numpy(float) for c in (beta_col, se_col))
    for col, values in ((beta_col, beta), (se_col, se)):
        text = np.flatnonzero(np.isnan(values) & frame[col].notna().to_numpy())
        if text.size:
            raise InputError(f"{file}: row {text[0] + 1}, column {col!r}: "
                             f"{frame[col].iloc[text[0]]!r} is not a number")
    dropped = [s for s, b, e in zip(labels, beta, se, strict=True) if np.isnan(b) or np.isnan(e)]
    if dropped:
        note(f"{len(dropped)} of {len(labels)} studies have no effect or SE and are left out: "
             f"{', '.join(dropped)}")
    dist, _ = read_distances(dist_file, labels, sep=sep, encoding=encoding)
    res = transancestry(beta, se, dist, studies=labels, psi=psi, tau2_prior=tau2_prior,
                        distance_source=f"read from {dist_file.name}")
    if plot:
        import matplotlib.pyplot as plt

        k = len(res.studies)
        fig, axes = plt.subplots(1, 3, figsize=(18, max(4.0, 0.45 * k + 2)))
        res.plot_effects(ax=axes[0])
        res.plot_coclustering(ax=axes[1])
        res.plot_dendrogram(ax=axes[2])
        fig.tight_layout()
        save_figure(axes[0], plot)
    if as_json:
        echo_json(res.to_dict())
    else:
        click.echo(res.summary())
