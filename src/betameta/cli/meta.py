"""``betameta meta``: classical meta-analysis of a study table."""

from __future__ import annotations

from pathlib import Path

import click

from .._options import TAU2_METHODS, TESTS, TRANSFORMS
from ._common import CommaList, echo_json, save_figure, study_options


@click.command("meta")
@study_options
@click.option("--method", type=click.Choice(TAU2_METHODS + ("MH", "PETO"), case_sensitive=False),
              default="REML", show_default=True,
              help="tau² estimator (FE: common effect only), or MH (Mantel-Haenszel) / PETO "
                   "pooling of 2x2 tables (--measure OR, RR, RD) or MH of rates (IRR, IRD).")
@click.option("--test", type=click.Choice(TESTS, case_sensitive=False), default="z",
              show_default=True, help="Inference for the random-effects mean.")
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
              show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a forest plot (.png, .svg or .pdf).")
@click.option("--transf", type=click.Choice(TRANSFORMS, case_sensitive=False), default=None,
              help="Scale of the report and forest plot: exp shows ratios (default for the "
                   "log-ratio measures OR, RR, IRR, ROM, PETO), none the effects as computed.")
@click.option("--mods", metavar="COL[,COL...]", type=CommaList(),
              help="Moderators: a meta-regression on these columns (text columns are factors).")
@click.option("--factor", "factors", metavar="COL[,COL...]", type=CommaList(), default=(),
              help="Numeric moderator columns to treat as factors.")
@click.option("--reference", "references", multiple=True, metavar="COL=LEVEL",
              help="Reference level of a factor (default: its first level in sort order).")
@click.option("--btt", metavar="I[,J...]", type=CommaList(),
              help="Coefficients the moderator test QM covers, 1-based as metafor's (1 is the "
                   "intercept) [default: all but the intercept].")
@click.option("--no-intercept", is_flag=True, help="Meta-regression without an intercept.")
@click.option("--permutations", type=click.IntRange(2), default=None, metavar="N",
              help="Permutation test of the moderators (metafor's permutest): exact when there "
                   "are at most N distinct arrangements, else N random ones.")
@click.option("--seed", type=int, default=None, help="Seed of the random permutations.")
@click.option("--subgroup", metavar="COL",
              help="A meta-analysis per level of COL and the test of subgroup differences "
                   "(separate and common tau²); --plot then draws the grouped forest plot.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def meta_command(studies, method, test, level, plot, transf, mods, factors, references, btt,
                 no_intercept, permutations, seed, subgroup, as_json):
    """Fixed-effect, heterogeneity and random-effects meta-analysis of FILE.

    FILE is a CSV/TSV/Parquet table with one row per study. With --mods, also the
    meta-regression on those columns (QE, QM, coefficients, R²; --plot draws its bubble
    plot); with --subgroup, the subgroup analysis.
    """
    if method.upper() in ("MH", "PETO"):
        from ..errors import InputError

        if mods or subgroup or permutations:
            raise InputError(f"--method {method.upper()} pools tables without moderators: use a tau² "
                             "method (REML, DL, ...) with --mods, --subgroup or --permutations")
        from ..pooled import mantel_haenszel, mantel_haenszel_rates, peto

        if method.upper() == "MH" and studies.measure in ("IRR", "IRD"):
            pooled = mantel_haenszel_rates(studies.raw.to_numpy(dtype=float).T, measure=studies.measure,
                                           level=level)
            if as_json:
                echo_json(pooled.to_dict())
            else:
                click.echo(pooled.summary())
            return
        if studies.tables is None:
            raise InputError(f"--method {method.upper()} pools 2x2 tables: give --measure OR, RR "
                             "or RD and the columns ai, bi, ci, di (or ai, n1, ci, n2)")
        if method.upper() == "PETO" and studies.measure not in ("OR", "PETO"):
            raise InputError("--method PETO is Peto's odds ratio: use --measure OR")
        pooled = (peto(studies.tables, level=level) if method.upper() == "PETO"
                  else mantel_haenszel(studies.tables, measure=studies.measure, level=level))
        if as_json:
            echo_json(pooled.to_dict())
        else:
            click.echo(pooled.summary())
        return
    from ..classical import meta_analysis

    fit = meta_analysis(studies, method=method.upper(), test=test.lower(), level=level)
    reg = None
    if mods:
        from ..regression import meta_regression

        reg = meta_regression(studies, list(mods), method=method.upper(), test=test.lower(),
                              level=level, btt=list(btt) if btt else None,
                              intercept=not no_intercept, factors=list(factors),
                              reference=_pairs(references, "--reference"))
    perm = None
    if permutations:
        if reg is None:
            raise click.BadParameter("the permutation test is of moderators: give --mods",
                                     param_hint="--permutations")
        perm = reg.permutation_test(permutations, seed=seed)
    sub = None
    if subgroup:
        from ..subgroups import subgroup_analysis

        sub = subgroup_analysis(studies, subgroup, method=method.upper(), test=test.lower(),
                                level=level)
    if plot:
        figure = (sub.plot_forest() if sub is not None else reg.plot_bubble() if reg is not None
                  else fit.plot_forest(transf=transf))
        save_figure(figure, plot)
    if as_json:
        payload = fit.to_dict()
        if reg is not None:
            payload["meta_regression"] = reg.to_dict()
        if perm is not None:
            payload["meta_regression"]["permutation"] = {
                "n": perm.n, "exact": perm.exact, "qm_p": perm.qm_p,
                "p": dict(zip(reg.terms, map(float, perm.p), strict=True))}
        if sub is not None:
            payload["subgroups"] = sub.to_dict()
        echo_json(payload)
    else:
        click.echo(fit.summary(transf=transf))
        for extra in (reg, sub):
            if extra is not None:
                click.echo(f"\n{extra.summary()}")
        if perm is not None:
            kind = "exact" if perm.exact else f"random, seed {seed}"
            coefs = ", ".join(f"{t} {p:.4g}" for t, p in zip(reg.terms, perm.p, strict=True))
            click.echo(f"Permutation test ({perm.n} arrangements, {kind}): QM p = {perm.qm_p:.4g}; "
                       f"coefficients p: {coefs}")


def _pairs(items: tuple[str, ...], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not COL=LEVEL", param_hint=option)
        col, level = item.split("=", 1)
        out[col.strip()] = level.strip()
    return out
