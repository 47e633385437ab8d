"""Entry point: ``betameta SUBCOMMAND``; bad input ends in one line on stderr and exit 2."""

from __future__ import annotations

import sys

import click

from ..errors import InputError
from .bayes import bayes_command, sensitivity_command
from .gwas import gwas_command
from .hier import hier_command
from .meta import meta_command
from .report import report_command
from .transancestry import transancestry_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="betameta")
def cli() -> None:
    """Meta-analysis of effect estimates: classical, exact Bayesian and genome-wide."""


cli.add_command(meta_command)
cli.add_command(bayes_command)
cli.add_command(sensitivity_command)
cli.add_command(hier_command)
cli.add_command(transancestry_command)
cli.add_command(gwas_command)
cli.add_command(report_command)


def main() -> None:
    """Run the CLI, turning input errors into a message and a non-zero exit code."""
    import matplotlib

    matplotlib.use("Agg")
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (InputError, ValueError, TypeError, OSError) as exc:
        click.echo(f"betameta: error: {exc}", err=True)
        sys.exit(2)
    except ImportError as exc:  # an optional engine (PyMC, Dask) is missing
        click.echo(f"betameta: error: {exc}", err=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
