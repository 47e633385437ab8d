"""Exceptions raised for bad input."""

from __future__ import annotations

__all__ = ["InputError", "InputNote"]


class InputError(ValueError):
    """Bad user input: the message names the file, row and column at fault."""


class InputNote(UserWarning):
    """Something about the input worth knowing that is not an error.

    An assumed separator or encoding, rows left out and counted. The command line prints it as one line on
    stderr.
    """
