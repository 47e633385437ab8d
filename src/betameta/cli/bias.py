"""``betameta bias`` and ``betameta influence``.

Small-study effects, publication bias and influence diagnostics of a study table (thin wrappers over
:class:`betameta.MetaAnalysis`).
"""

from __future__ import annotations

from pathlib import Path

import click

from .._options import TAU2_METHODS, TESTS
from ._common import CommaList, echo_json, save_figure, study_options


def _fit(studies, method: str, test: str):
    from ..classical import meta_analysis

    return meta_analysis(studies, method=method.upper(), test=test.lower())


@click.command("bias")
@study_options
@click.option("--method", type=click.Choice(TAU2_METHODS, case_sensitive=False), default="REML",
              show_default=True, help="tau² estimator of the fit the tools start from.")
@click.option("--test", type=click.Choice(TESTS, case_sensitive=False), default="z", show_default=True)
@click.option("--estimator", type=click.Choice(["L0", "R0", "Q0"]), default="L0", show_default=True,
              help="Trim-and-fill estimator of the number of missing studies.")
@click.option("--steps", default="0.025,1", show_default=True, metavar="A,B,...,1",
              type=CommaList(float),
              help="Cut points of the step-function selection model (one-sided p-values).")
@click.option("--selection", type=click.Choice(["stepfun", "beta", "both", "none"]), default="stepfun",
              show_default=True, help="Selection models to fit: the Vevea-Hedges step function, "
              "the Citkowicz-Vevea beta weight function (metafor's selmodel types), both or none.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Contour-enhanced funnel plot with the filled studies (.png/.svg/.pdf).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def bias_command(studies, method, test, estimator, steps, selection, plot, as_json):
    """Small-study effects and publication bias of FILE.

    Egger's regression test, Begg's rank test, trim and fill, fail-safe N (Rosenthal, Orwin, Rosenberg),
    PET-PEESE and the selection models.
    """
    from dataclasses import asdict

    fit = _fit(studies, method, test)
    egger, rank = fit.egger_test(), fit.rank_test()
    tf = fit.trim_and_fill(estimator=estimator)
    fsn = {m: fit.fail_safe_n(method=m) for m in ("Rosenthal", "Orwin", "Rosenberg")}
    pp = fit.pet_peese()
    from ..errors import InputError

    kinds = {"both": ("stepfun", "beta"), "none": ()}.get(selection, (selection,))
    models: dict[str, object] = {}
    for kind in kinds:  # a cut point no study falls under leaves a model unidentified: said, not fatal
        try:
            models[kind] = fit.selection_model(type=kind, steps=steps if kind == "stepfun" else None)
        except InputError as exc:
            models[kind] = str(exc)
    filled = tf.fit.random if fit.random.method != "FE" else tf.fit.fixed
    if plot:
        save_figure(fit.plot_funnel(contours=True, filled=True), plot)
    if as_json:
        echo_json({"k": fit.k, "egger": asdict(egger), "rank_test": asdict(rank),
                   "trim_and_fill": {"estimator": tf.estimator, "side": tf.side, "k0": tf.k0,
                                     "se_k0": tf.se_k0, "estimate": filled.estimate,
                                     "ci_low": filled.ci_low, "ci_high": filled.ci_high},
                   "fail_safe_n": {m: asdict(f) for m, f in fsn.items()},
                   "pet_peese": {"chosen": pp.chosen, "estimate": pp.estimate, "ci_low": pp.ci_low,
                                 "ci_high": pp.ci_high, "pet": asdict(pp.pet), "peese": asdict(pp.peese)},
                   "selection_models": {t: m.to_dict() if not isinstance(m, str) else {"error": m}
                                        for t, m in models.items()}})
        return
    stat = "t" if egger.df else "z"
    lines = [f"Small-study effects and publication bias, k = {fit.k} (tau² by {fit.random.method})", "",
             f"Egger's test: {stat} = {egger.statistic:.4f}" + (f" on {egger.df} df" if egger.df else "")
             + f", p = {egger.p:.4g}; limit estimate {egger.limit_estimate:.4f} "
             f"[{egger.limit_ci_low:.4f}, {egger.limit_ci_high:.4f}]",
             f"Begg's rank test: Kendall's tau = {rank.tau:.4f}, p = {rank.p:.4g}",
             f"Trim and fill ({tf.estimator}): {tf.k0} studies filled on the {tf.side}; estimate "
             f"{filled.estimate:.4f} [{filled.ci_low:.4f}, {filled.ci_high:.4f}]",
             "Fail-safe N: " + ", ".join(f"{m} {f.n}" for m, f in fsn.items()),
             f"PET-PEESE: {pp.chosen} estimate {pp.estimate:.4f} [{pp.ci_low:.4f}, {pp.ci_high:.4f}] "
             f"(PET b0 p = {pp.pet.limit_p:.4g})",
             *(_selection_line(t, m, steps) for t, m in models.items())]
    click.echo("\n".join(lines))


def _selection_line(kind: str, sel, steps: tuple[float, ...]) -> str:
    cuts = ",".join(f"{s:g}" for s in steps)
    name = f"Step-function selection model (steps {cuts})" if kind == "stepfun" else "Beta selection model"
    if isinstance(sel, str):
        return f"{name}: not estimated: {sel}"
    what = "weights" if kind == "stepfun" else "delta1, delta2"
    return (f"{name}: estimate {sel.estimate:.4f} [{sel.ci_low:.4f}, {sel.ci_high:.4f}], tau² "
            f"{sel.tau2:.4g}, {what} " + ", ".join(f"{d:.4g}" for d in sel.delta)
            + f"; LRT {sel.lrt:.4f} on {sel.lrt_df} df, p = {sel.lrt_p:.4g}")


@click.command("influence")
@study_options
@click.option("--method", type=click.Choice(TAU2_METHODS, case_sensitive=False), default="REML",
              show_default=True)
@click.option("--test", type=click.Choice(TESTS, case_sensitive=False), default="z", show_default=True)
@click.option("--cumulative", is_flag=True,
              help="Also the cumulative meta-analysis (metafor's cumul), in table order or --order.")
@click.option("--order", metavar="COL", help="With --cumulative: the column to add studies by (e.g. year).")
@click.option("--gosh", is_flag=True,
              help="Also GOSH: the fit to every subset of studies (a seeded sample above 2^19).")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Plot (.png/.svg/.pdf) of the kind --plot-kind names.")
@click.option("--plot-kind", type=click.Choice(["baujat", "cumulative", "gosh"]), default="baujat",
              show_default=True, help="Baujat plot, cumulative forest plot or GOSH plot.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def influence_command(studies, method, test, cumulative, order, gosh, plot, plot_kind, as_json):
    """Influence diagnostics and leave-one-out estimates of FILE.

    Influence diagnostics of FILE (metafor's influence(): rstudent, DFFITS, Cook's distance,
    covariance ratio, τ² and QE after deletion, hat, weight, DFBETAS, flagged studies),
    leave-one-out estimates, and on request the cumulative meta-analysis and GOSH.
    """
    from ..errors import InputError

    fit = _fit(studies, method, test)
    table = fit.influence().to_frame()
    loo = fit.leave_one_out()
    key = None
    if order:
        if studies.data is None or order not in studies.data:
            raise InputError(f"--order {order}: no such column in the input")
        key = studies.data[order].to_numpy()
    cum = fit.cumulative(key) if cumulative or plot_kind == "cumulative" else None
    subsets = fit.gosh() if gosh or plot_kind == "gosh" else None
    if plot:
        drawn = {"baujat": lambda: fit.plot_baujat(), "cumulative": lambda: fit.plot_cumulative(key),
                 "gosh": lambda: subsets.plot()}[plot_kind]()
        save_figure(drawn, plot)
    if as_json:
        out = {"k": fit.k, "influence": table.to_dict(orient="records"),
               "leave_one_out": loo.to_dict(orient="records")}
        if cum is not None:
            out["cumulative"] = cum.to_dict(orient="records")
        if subsets is not None:
            out["gosh"] = subsets.summary().to_dict()
        echo_json(out)
        return
    fmt = {"index": False, "float_format": lambda x: f"{x:.4g}"}
    click.echo(table.to_string(**fmt))
    click.echo("\nLeave one out:")
    click.echo(loo.to_string(**fmt))
    if cum is not None:
        click.echo("\nCumulative meta-analysis" + (f" (by {order})" if order else "") + ":")
        click.echo(cum.to_string(**fmt))
    if subsets is not None:
        click.echo(f"\n{subsets.summary()}")
