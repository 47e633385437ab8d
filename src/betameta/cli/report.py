"""``betameta report``: a self-contained HTML report of a study-level meta-analysis."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from .._options import REPORT_SECTIONS
from ._common import MU_PRIOR_HELP, TAU_PRIOR_HELP, CommaList, study_options


@click.command("report")
@study_options
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The HTML file to write.")
@click.option("--tau-prior", default="auto", show_default=True, help=TAU_PRIOR_HELP)
@click.option("--mu-prior", default="flat", show_default=True, help=MU_PRIOR_HELP)
@click.option("--sections", default=",".join(REPORT_SECTIONS), show_default=True,
              type=CommaList(choices=REPORT_SECTIONS), help="Comma-separated sections to include.")
@click.option("--title", default="Meta-analysis report", show_default=True)
def report_command(studies, out, tau_prior, mu_prior, sections, title):
    """Write an HTML report (plots inline, viewable offline) for FILE."""
    from ..bayes import parse_mu_prior
    from ..bayes.priors import resolve_tau_prior
    from ..report import meta_report

    path = meta_report(studies, out, tau_prior=resolve_tau_prior(tau_prior, studies),
                       mu_prior=parse_mu_prior(mu_prior),
                       sections=sections, title=title,
                       command="betameta " + shlex.join(sys.argv[1:]))
    click.echo(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)", err=True)
