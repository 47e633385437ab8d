"""Options shared by the subcommands that read a study table."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .._atomic import check_folder
from .._options import MEASURES

TAU_PRIOR_HELP = ("auto (half-normal(0.5) for log OR/RR, SMD, Fisher z and effects given without a "
                  "measure; half-normal of half the unit-information SD for MD and RD), or a prior "
                  "naming its parameter: tau~halfnormal(0.5), tau~halfcauchy(1), tau~halft(1,3), "
                  "tau~exponential(1), tau~uniform(0,100), tau2~exponential(1), tau2~invgamma(1,1), "
                  "precision~gamma(0.001,0.001), tau2=25 (a point mass); or dumouchel, shrinkage, "
                  "jeffreys, and Lambert et al.'s vague priors L1 (1/tau2 ~ gamma(0.001,0.001)), "
                  "L3 (log tau2 ~ U(-10,10)), L5 (1/tau2 ~ U(0.001,1000)), L7 (1/tau2 ~ "
                  "Pareto(1,0.001)), L9 (tau ~ U(0,100)), L11 (tau ~ half-normal(10)). Old "
                  "spellings (halfnormal:0.5, fixed-tau2:25 ...) are aliases.")
MU_PRIOR_HELP = "mu~flat or mu~normal(MEAN,SD) (old spellings: flat, normal:MEAN,SD)."
TAU2_PRIOR_HELP = ("The partition model's prior: tau2~exponential(RATE), tau2~gamma(SHAPE,RATE), "
                   "tau~halfnormal(SCALE), tau2~uniform(UPPER) or tau2=X (old spellings: "
                   "exponential:1, gamma:a,b, halfnormal-tau:s, uniform:u, fixed:x).")


def table_options(func: Callable) -> Callable:
    """``--sep`` and ``--encoding``, for every command that reads a table."""
    func = click.option("--encoding", help="Text encoding of the input (default: UTF-8, falling "
                        "back to Windows-1252 with a note).")(func)
    return click.option("--sep", help="Column separator of the input (default: from its first "
                        "line: tab, comma, semicolon or |).")(func)


def study_options(func: Callable) -> Callable:
    """Add the study-table input options to a command.

    Input options of the commands that read a study table (``meta``, ``bayes``,
    ``sensitivity``, ``report``): the command is called with the :class:`StudyTable` read
    from them as its first argument.
    """

    @functools.wraps(func)
    def command(*args: Any, file: Path, effect: str | None, se: str | None, variance: str | None,
                measure: str | None, study: str | None, columns: tuple[str, ...], sep: str | None,
                encoding: str | None, ci_low: str | None, ci_high: str | None,
                p_value: str | None, ratio: bool, drop_missing: bool, add: float, to: str,
                drop00: bool, **kwargs: Any) -> Any:
        from ..studies import load_studies

        mapping = {}
        for item in columns:
            if "=" not in item:
                raise click.BadParameter(f"{item!r} is not NAME=COLUMN", param_hint="--column")
            name, col = item.split("=", 1)
            mapping[name.strip()] = col.strip()
        studies = load_studies(file, effect=effect, se=se, variance=variance,
                               measure=measure.upper() if measure else None,  # type: ignore[arg-type]
                               study=study, columns=mapping, sep=sep, encoding=encoding,
                               ci_low=ci_low, ci_high=ci_high, p_value=p_value, ratio=ratio,
                               drop_missing=drop_missing, add=add, to=to, drop00=drop00)
        return func(studies, *args, **kwargs)

    options = [
        click.argument("file", type=click.Path(dir_okay=False, path_type=Path)),
        click.option("--effect", help="Column of effect estimates (with --se or --variance)."),
        click.option("--se", help="Column of standard errors."),
        click.option("--variance", help="Column of sampling variances."),
        click.option("--ci-low", help="Column of reported lower 95% CI bounds (the se is derived)."),
        click.option("--ci-high", help="Column of reported upper 95% CI bounds."),
        click.option("--p-value", help="Column of reported two-sided p-values (the se is derived "
                     "when there is no se, variance or CI)."),
        click.option("--ratio", is_flag=True, help="The effect and CI are ratios (OR, HR ...): "
                     "analysed on the log scale."),
        click.option("--measure", type=click.Choice(MEASURES, case_sensitive=False),
                     help="Compute effects from raw columns as metafor's escalc does."),
        click.option("--study", help="Column of study labels [default: 'study' when there is one, "
                     "else 1..k]."),
        click.option("--column", "columns", multiple=True, metavar="NAME=COL",
                     help="Map a raw column name (n1, m1, sd1, ai, ri ...) to a column."),
        click.option("--add", type=click.FloatRange(0), default=0.5, show_default=True,
                     help="2x2 measures: the continuity correction added to the cells (escalc's add)."),
        click.option("--to", type=click.Choice(["only0", "all", "if0all", "none"]), default="only0",
                     show_default=True, help="2x2 measures: the tables that get --add (escalc's to)."),
        click.option("--drop00", is_flag=True,
                     help="2x2 measures: leave out (and count) tables without events, or with only "
                          "events, in both groups."),
        click.option("--drop-missing", is_flag=True,
                     help="Leave out (and count) rows with a missing value in the columns the "
                          "effects come from [default: refuse them, naming the row]."),
    ]
    command = table_options(command)
    for option in reversed(options):
        command = option(command)
    return command


def echo_json(payload: dict[str, Any]) -> None:
    """Print one JSON object; non-finite numbers become ``null``."""
    from .._results import jsonable

    click.echo(json.dumps(jsonable(payload, strict=True), indent=2, allow_nan=False))


class CommaList(click.ParamType):
    """A comma-separated list option (``fe,re,z2``), the one parser of every such option.

    Items stripped, empty ones skipped; each converted by ``item`` (``float``, ``int``) and, with
    ``choices``, checked against them (case-insensitive, returned as spelled there). Gives a tuple; a bad
    item is a usage error naming it (exit 2).
    """

    name = "list"

    def __init__(self, item: Callable[[str], Any] = str, choices: tuple[str, ...] | None = None):
        self.item, self.choices = item, choices

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return ",".join(self.choices[:3]) + ",..." if self.choices else "A[,B...]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple:
        if isinstance(value, tuple):
            return value
        items = [t.strip() for t in str(value).split(",") if t.strip()]
        if not items:
            self.fail("an empty list", param, ctx)
        out = []
        for text in items:
            if self.choices:
                match = [c for c in self.choices if c.lower() == text.lower()]
                if not match:
                    self.fail(f"{text!r} is not one of {', '.join(self.choices)}", param, ctx)
                out.append(match[0])
                continue
            try:
                out.append(self.item(text))
            except ValueError:
                self.fail(f"{text!r} is not a {getattr(self.item, '__name__', 'value')}", param, ctx)
        return tuple(out)


def save_figure(ax: Any, path: Path) -> None:
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise click.BadParameter(f"{path}: use a .png, .svg or .pdf file", param_hint="--plot")
    check_folder(path)
    ax.figure.savefig(path, dpi=150, bbox_inches="tight")
    click.echo(f"wrote {path}", err=True)
