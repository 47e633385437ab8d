"""``betameta hier``: random-intercept/random-slope models sampled with NUTS."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import echo_json, save_figure, table_options


@click.command("hier")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--unit", required=True, help="Column naming the unit (e.g. rat).")
@click.option("--x", "x_col", required=True, help="Column of the covariate (e.g. age).")
@click.option("--y", "y_col", required=True, help="Column of the response.")
@click.option("--chains", default=4, show_default=True, type=click.IntRange(1))
@click.option("--draws", default=3000, show_default=True, type=click.IntRange(10))
@click.option("--tune", default=1000, show_default=True, type=click.IntRange(0))
@click.option("--sampler", type=click.Choice(["auto", "nutpie", "numpyro", "pymc"]), default="auto",
              show_default=True, help="auto: nutpie, else numpyro, else PyMC's own NUTS.")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--center-x", is_flag=True, help="Centre x at its mean (mu_alpha is still at x = 0).")
@click.option("--noncentered", is_flag=True, help="Non-centred parameterisation.")
@click.option("--correlated", is_flag=True, help="Correlated intercepts and slopes (LKJ prior).")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="ArviZ trace plot of the hyperparameters (.png/.svg/.pdf).")
@click.option("--graph", type=click.Path(dir_okay=False, path_type=Path),
              help="Draw the model graph (needs graphviz).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@table_options
def hier_command(file, unit, x_col, y_col, chains, draws, tune, sampler, seed, center_x, noncentered,
                 correlated, plot, graph, as_json, sep, encoding):
    """Fit y ~ N(alpha_i + beta_i x, 1/tau_c) with population normals on alpha_i, beta_i."""
    from ..mcmc.growth import fit_growth, growth_model, model_graph, read_long
    from ..tables import read_table

    data = read_long(read_table(file, sep=sep, encoding=encoding, text=(unit,)), unit, x_col, y_col,
                     source=str(file))
    if graph:
        try:
            model_graph(growth_model(data, center_x=center_x, correlated=correlated,
                                     parameterization="noncentered" if noncentered else "centered"),
                        graph)
            click.echo(f"wrote {graph}", err=True)
        except RuntimeError as exc:
            click.echo(f"note: no model graph: {exc}", err=True)
    click.echo(f"sampling {chains} chains x ({tune} tune + {draws} draws)...", err=True)
    fit = fit_growth(data, draws=draws, tune=tune, chains=chains, seed=seed, sampler=sampler,
                     center_x=center_x, parameterization="noncentered" if noncentered else "centered",
                     correlated=correlated)
    if fit.divergences:
        click.echo(f"warning: {fit.divergences} divergent transitions", err=True)
    if plot:
        axes = fit.plot("trace")
        axes.ravel()[0].figure.tight_layout()
        save_figure(axes.ravel()[0], plot)
    if as_json:
        echo_json(fit.to_dict())
    else:
        click.echo(fit.summary())
