"""Option validation in one place.

Every string option of the public API is a ``Literal`` type listed here, and
:func:`check_option` is the single place that turns a bad value into a
``ValueError`` naming the parameter and the allowed values.
"""

from __future__ import annotations

from typing import Literal, get_args

Tau2Method = Literal["FE", "DL", "PM", "REML", "ML", "HE", "SJ", "EB"]
TestType = Literal["z", "hksj"]
Measure = Literal["MD", "SMD", "OR", "RR", "RD", "ZCOR", "COR", "ROM", "CVR", "VR", "MN", "MNLN",
                  "PR", "PLO", "PAS", "PFT", "IR", "IRLN", "IRS", "IRFT", "IRR", "IRD", "SMCR",
                  "SMCC", "PETO", "UCOR"]
IntervalType = Literal["central", "shortest"]
Transform = Literal["none", "exp"]

TAU2_METHODS: tuple[str, ...] = get_args(Tau2Method)
TESTS: tuple[str, ...] = get_args(TestType)
MEASURES: tuple[str, ...] = get_args(Measure)
INTERVALS: tuple[str, ...] = get_args(IntervalType)
TRANSFORMS: tuple[str, ...] = get_args(Transform)
#: Measures on the log scale of a ratio: plotted back-transformed (``exp``) by default.
RATIO_MEASURES: dict[str, str] = {"OR": "Odds ratio", "RR": "Risk ratio", "PETO": "Odds ratio",
                                  "IRR": "Incidence rate ratio", "ROM": "Ratio of means"}


def check_option(name: str, value: object, allowed: tuple[str, ...]) -> str:
    """Return ``value`` normalised to its canonical spelling, or raise ``ValueError``.

    Matching ignores case (``reml`` is ``REML``) so the CLI and the library accept
    what users type in metafor.
    """
    if isinstance(value, str):
        for option in allowed:
            if value.lower() == option.lower():
                return option
    raise ValueError(f"{name}={value!r} is not one of {', '.join(allowed)}")
