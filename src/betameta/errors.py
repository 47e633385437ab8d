"""Exceptions raised for bad input."""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad user input: the message names the file, row and column at fault."""
