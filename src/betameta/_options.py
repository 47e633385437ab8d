"""Option validation in one place.

Every string option of the public API is a ``Literal`` type listed here, and
:func:`check_option` is the single place that turns a bad value into a
``ValueError`` naming the parameter and the allowed values.
"""

from __future__ import annotations

from typing import Literal, get_args

from .errors import InputError

Tau2Method = Literal["FE", "DL", "PM", "REML", "ML", "HE", "SJ", "EB"]
TestType = Literal["z", "hksj"]
Measure = Literal["MD", "SMD", "OR", "RR", "RD", "ZCOR", "COR", "ROM", "CVR", "VR", "MN", "MNLN",
                  "PR", "PLO", "PAS", "PFT", "IR", "IRLN", "IRS", "IRFT", "IRR", "IRD", "SMCR",
                  "SMCC", "PETO", "UCOR", "SMDH", "SMD1"]
IntervalType = Literal["central", "shortest"]
Transform = Literal["none", "exp"]
SelectionType = Literal["stepfun", "beta"]
GwasMethod = Literal["fe", "re", "z2", "bayes", "partition", "mrmega", "re2", "mvalue", "be", "asset"]
ReportSection = Literal["data", "classical", "bayes", "sensitivity", "explain"]
LeaveOut = Literal["study", "ancestry"]

TAU2_METHODS: tuple[str, ...] = get_args(Tau2Method)
TESTS: tuple[str, ...] = get_args(TestType)
MEASURES: tuple[str, ...] = get_args(Measure)
INTERVALS: tuple[str, ...] = get_args(IntervalType)
TRANSFORMS: tuple[str, ...] = get_args(Transform)
SELECTION_TYPES: tuple[str, ...] = get_args(SelectionType)
GWAS_METHODS: tuple[str, ...] = get_args(GwasMethod)
REPORT_SECTIONS: tuple[str, ...] = get_args(ReportSection)
LEAVE_OUT: tuple[str, ...] = get_args(LeaveOut)
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
    raise InputError(f"{name}={value!r} is not one of {', '.join(allowed)}")


def check_probability(name: str, value: float) -> float:
    """Return ``value`` if it lies strictly between 0 and 1 (a level, an alpha, a quantile's q).

    The one check of every such argument; the error names it.
    """
    if not 0 < value < 1:
        raise InputError(f"{name} must lie in (0, 1), got {value}")
    return float(value)


def check_fit_options(method: object, test: object, level: float) -> tuple[str, str]:
    """Return the τ² method and test of a classical fit, canonically spelled.

    And a level in (0, 1) (the one check of :func:`betameta.meta_analysis` and
    :func:`betameta.regression.meta_regression`).
    """
    check_probability("level", level)
    return check_option("method", method, TAU2_METHODS), check_option("test", test, TESTS)
