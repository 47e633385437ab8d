"""``betameta transancestry``: the partition model for one variant across ancestries."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from ..errors import InputError
from ..studies import read_table
from ._common import echo_json, save_figure


@click.command("transancestry")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--distances", "dist_file", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Square TSV/CSV of distances with study labels in the header and first column.")
@click.option("--psi", default=1.0, show_default=True, type=click.FloatRange(0, min_open=True),
              help="Prior sd of the mean effect mu (mu ~ N(0, psi^2)).")
@click.option("--tau2-prior", default="exponential:1", show_default=True,
              help="exponential[:rate], gamma:shape,rate, halfnormal-tau:scale, uniform:upper, fixed:x.")
@click.option("--study", default="study", show_default=True, help="Column of study labels.")
@click.option("--beta", "beta_col", default="beta", show_default=True, help="Column of effects.")
@click.option("--se", "se_col", default="se", show_default=True, help="Column of standard errors.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Effects by cluster, co-clustering and dendrogram (.png/.svg/.pdf).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def transancestry_command(file, dist_file, psi, tau2_prior, study, beta_col, se_col, plot, as_json):
    """Exact MANTRA-style partition model for FILE (one row per study: study, beta, se)."""
    from ..transancestry import read_distances, transancestry

    frame = read_table(file)
    for col in (study, beta_col, se_col):
        if col not in frame.columns:
            raise InputError(f"{file}: column {col!r} not found; columns are {list(frame.columns)}")
    labels = tuple(str(s) for s in frame[study])
    beta = frame[beta_col].apply(lambda x: np.nan if x in ("", "NA", "#NA") else x)
    beta = np.asarray(beta.astype(float))
    se = np.asarray(frame[se_col].astype(float))
    dropped = [s for s, b, e in zip(labels, beta, se, strict=True) if not (np.isfinite(b) and np.isfinite(e))]
    if dropped:
        click.echo(f"note: {len(dropped)} studies without an effect or SE are left out: {dropped}",
                   err=True)
    dist, _ = read_distances(dist_file, labels)
    res = transancestry(beta, se, dist, studies=labels, psi=psi, tau2_prior=tau2_prior)
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
