"""Options shared by the subcommands that read a study table."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .._options import MEASURES
from ..studies import StudyTable, load_studies


def study_options(func: Callable) -> Callable:
    """Input options of ``meta``, ``bayes`` and ``sensitivity``."""
    options = [
        click.argument("file", type=click.Path(dir_okay=False, path_type=Path)),
        click.option("--effect", help="Column of effect estimates (with --se or --variance)."),
        click.option("--se", help="Column of standard errors."),
        click.option("--variance", help="Column of sampling variances."),
        click.option("--measure", type=click.Choice(MEASURES, case_sensitive=False),
                     help="Compute effects from raw columns as metafor's escalc does."),
        click.option("--study", default="study", show_default=True,
                     help="Column of study labels."),
        click.option("--column", "columns", multiple=True, metavar="NAME=COL",
                     help="Map a raw column name (n1, m1, sd1, ai, ri ...) to a column."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def read_studies(file: Path, effect: str | None, se: str | None, variance: str | None,
                 measure: str | None, study: str, columns: tuple[str, ...]) -> StudyTable:
    mapping = {}
    for item in columns:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not NAME=COLUMN", param_hint="--column")
        name, col = item.split("=", 1)
        mapping[name.strip()] = col.strip()
    return load_studies(file, effect=effect, se=se, variance=variance,
                        measure=measure.upper() if measure else None, study=study,
                        columns=mapping)


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item"):  # numpy scalar
        return _clean(obj.item())
    return obj


def echo_json(payload: dict[str, Any]) -> None:
    """Print one JSON object; non-finite numbers become ``null``."""
    click.echo(json.dumps(_clean(payload), indent=2, allow_nan=False))


def save_figure(ax: Any, path: Path) -> None:
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise click.BadParameter(f"{path}: use a .png, .svg or .pdf file", param_hint="--plot")
    ax.figure.savefig(path, dpi=150, bbox_inches="tight")
    click.echo(f"wrote {path}", err=True)
