"""The ``betameta`` command line: one group, thin subcommands over library functions."""
