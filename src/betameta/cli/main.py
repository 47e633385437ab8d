"""Entry point: ``betameta SUBCOMMAND``; bad input ends in one line on stderr and exit 2."""

from __future__ import annotations

import os
import sys
import warnings

import click

from ..errors import InputError, InputNote
from .asset import asset_command
from .bayes import bayes_command, sensitivity_command
from .bias import bias_command, influence_command
from .gwas import gwas_command
from .hier import hier_command
from .meta import meta_command
from .metasoft import metasoft_command
from .report import report_command
from .transancestry import transancestry_command


class _Cli(click.Group):
    """The command group.

    Bad input (``InputError``, which the library raises for every bad value it is given, or a file that
    cannot be opened) ends in one line on stderr and exit status 2, a missing optional engine in exit
    status 3, anything else (a bug) in exit status 1 with a line asking for ``--debug``, which shows the
    traceback instead. Notes about the input (:class:`InputNote`) are printed as one line each on stderr.
    """

    def invoke(self, ctx: click.Context):
        try:
            with warnings.catch_warnings():
                # Notes about the input (InputNote): every one, as one line on stderr.
                warnings.simplefilter("always", InputNote)
                shown = warnings.showwarning

                def show(message, category, filename, lineno, file=None, line=None):
                    if issubclass(category, InputNote):
                        click.echo(f"betameta: note: {message}", err=True)
                    else:
                        shown(message, category, filename, lineno, file, line)

                warnings.showwarning = show
                return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:
            if ctx.meta.get("betameta.debug"):
                raise
            if isinstance(exc, InputError | OSError):
                click.echo(f"betameta: error: {exc}", err=True)
                ctx.exit(2)
            if isinstance(exc, ImportError):  # an optional engine (PyMC, Dask) is missing
                click.echo(f"betameta: error: {exc}", err=True)
                ctx.exit(3)
            click.echo(f"betameta: internal error: {type(exc).__name__}: {exc} (this is a bug; "
                       "run again with --debug for the traceback)", err=True)
            ctx.exit(1)


def _debug(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    ctx.meta["betameta.debug"] = value
    return value


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="betameta")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_debug,
              help="Show the traceback of an error instead of one line.")
def cli() -> None:
    """Meta-analysis of effect estimates: classical, exact Bayesian and genome-wide."""


cli.add_command(meta_command)
cli.add_command(bias_command)
cli.add_command(influence_command)
cli.add_command(bayes_command)
cli.add_command(sensitivity_command)
cli.add_command(hier_command)
cli.add_command(transancestry_command)
cli.add_command(gwas_command)
cli.add_command(report_command)
cli.add_command(metasoft_command)
cli.add_command(asset_command)


def main() -> None:
    """Run the CLI, turning input errors into a message and a non-zero exit code."""
    # Figures are written to files: no window (and matplotlib imported only by what draws).
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        status = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(status if isinstance(status, int) else 0)  # ctx.exit(n) returns n here


if __name__ == "__main__":
    main()
