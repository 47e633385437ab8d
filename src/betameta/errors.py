"""Exceptions raised for bad input."""

from __future__ import annotations

__all__ = ["InputError", "InputNote"]


class InputError(ValueError):
    """Bad user input: the message names the file, row and column at fault.

    The command line prints the message as one line and exits with status 2.

    Examples
    --------
    >>> import pandas as pd
    >>> from betameta import InputError, load_studies
    >>> try:
    ...     load_studies(pd.DataFrame({"yi": [0.1, 0.2], "vi": [0.01, -1.0]}))
    ... except InputError as err:
    ...     print(err)
    data: row 2, column 'vi': must be > 0, got -1
    """


class InputNote(UserWarning):
    """Something about the input worth knowing that is not an error.

    An assumed separator or encoding, rows left out and counted. The command line prints it as one line on
    stderr.

    Examples
    --------
    >>> import warnings
    >>> import pandas as pd
    >>> from betameta import InputNote, load_studies
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = load_studies(pd.DataFrame({"yi": [0.1, None, 0.3], "vi": [0.01, 0.02, 0.03]}),
    ...                      drop_missing=True)
    >>> [issubclass(w.category, InputNote) for w in caught]
    [True]
    """
