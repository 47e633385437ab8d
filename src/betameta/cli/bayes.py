"""``betameta bayes`` and ``betameta sensitivity``: the exact Bayesian model."""

from __future__ import annotations

from pathlib import Path

import click

from .._options import INTERVALS
from ._common import MU_PRIOR_HELP, TAU_PRIOR_HELP, CommaList, echo_json, save_figure, study_options


@click.command("bayes")
@study_options
@click.option("--mu-prior", default="flat", show_default=True,
              help=MU_PRIOR_HELP)
@click.option("--tau-prior", default="auto", show_default=True, help=TAU_PRIOR_HELP)
@click.option("--interval", type=click.Choice(INTERVALS), default="central", show_default=True)
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
              show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Posterior densities of mu and tau and the shrinkage plot (.png/.svg/.pdf).")
@click.option("--mods", metavar="COL[,COL...]", type=CommaList(),
              help="Moderators: the exact Bayesian meta-regression on these columns (bayesmeta's "
                   "bmr; text columns are factors).")
@click.option("--factor", "factors", metavar="COL[,COL...]", type=CommaList(), default=(),
              help="Numeric moderator columns to treat as factors.")
@click.option("--beta-prior", metavar="normal:MEAN,SD",
              help="With --mods: a normal prior on every coefficient [default: flat].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def bayes_command(studies, mu_prior, tau_prior, interval, level, plot, mods, factors, beta_prior,
                  as_json):
    """Exact posterior of the random-effects model (or meta-regression) for FILE.

    The normal-normal random-effects model for FILE (with --mods, the meta-regression), integrated
    exactly.
    """
    from ..bayes import bayes_meta, parse_mu_prior

    if mods:
        from ..bayes.regression import bayes_meta_regression

        kw = {}
        if beta_prior:
            prior = parse_mu_prior(beta_prior)
            if not prior.proper:
                raise click.BadParameter("use normal:MEAN,SD (flat is the default)",
                                         param_hint="--beta-prior")
            kw = {"beta_mean": prior.mean, "beta_sd": prior.sd}
        reg = bayes_meta_regression(studies, list(mods), tau_prior, level=level,
                                    factors=list(factors), **kw)
        if as_json:
            echo_json(reg.to_dict())
        else:
            click.echo(reg.summary())
        return

    fit = bayes_meta(studies, tau_prior=tau_prior, mu_prior=parse_mu_prior(mu_prior), level=level,
                     interval=interval)
    if plot:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 3, figsize=(16, max(4.0, 0.45 * studies.k + 1.8)))
        fit.plot_posterior("mu", ax=axes[0])
        if fit.tau_prior.fixed is None:
            fit.plot_posterior("tau", ax=axes[1])
        else:
            axes[1].set_axis_off()
        fit.plot_shrinkage(ax=axes[2])
        fig.tight_layout()
        save_figure(axes[0], plot)
    if as_json:
        echo_json(fit.to_dict())
    else:
        click.echo(fit.summary())


@click.command("sensitivity")
@study_options
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="The sensitivity panels (.png/.svg/.pdf).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def sensitivity_command(studies, plot, as_json):
    """Posterior of betaF, mu, zeta and tau over the lecture's grid of priors."""
    from ..bayes import sensitivity_analysis

    result = sensitivity_analysis(studies)
    if plot:
        save_figure(result.plot()[0], plot)
    if as_json:
        echo_json(result.to_dict())
    else:
        table = result.table.pivot(index="prior", columns="quantity",
                                   values=["mean", "ci_low", "ci_high"])
        order = list(dict.fromkeys(result.table["prior"]))
        lines = [f"{'prior':<26}" + "".join(f"{q:>26}" for q in ("beta_f", "mu", "zeta", "tau"))]
        for prior in order:
            row = table.loc[prior]
            cells = "".join(
                f"{row[('mean', q)]:>9.3f} [{row[('ci_low', q)]:6.2f},{row[('ci_high', q)]:6.2f}]"
                for q in ("beta_f", "mu", "zeta", "tau"))
            lines.append(f"{prior:<26}{cells}")
        click.echo("\n".join(lines))
