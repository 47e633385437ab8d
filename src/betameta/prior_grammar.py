"""One grammar for priors, the same on every command and engine: the parameter is named.

``PARAMETER~FAMILY(ARGS)`` — ``tau~halfnormal(0.5)``, ``tau2~exponential(1)``,
``precision~gamma(0.001,0.001)``, ``mu~normal(0,10)``, ``tau~flat``; ``PARAMETER=VALUE`` for a
point mass (``tau2=25``); bare names for the priors that are not one family on one parameter
(``L1`` … ``L11``, ``jeffreys``, ``dumouchel[(s0)]``, ``shrinkage[(s0)]``). Spaces are ignored,
family names ignore case, ``_`` and ``-`` (``half-normal`` is ``halfnormal``).

The older colon spellings stay as aliases, read in the sense of the option that takes them
(``exponential:1`` is τ ~ Exp(1) for a τ prior and τ² ~ Exp(1) for the partition model's τ²
prior): see :data:`TAU_ALIASES` and :data:`TAU2_ALIASES`.

Which engine takes which prior is decided where it is built
(:func:`betameta.bayes.priors.parse_tau_prior`,
:func:`betameta.transancestry.priors.parse_tau2_prior`,
:func:`betameta.bayes.priors.parse_mu_prior`); this module only reads the text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from .errors import InputError

__all__ = ["PARAMETERS", "TAU2_ALIASES", "TAU_ALIASES", "PriorSpec", "build_prior", "parse_prior_spec"]

#: The parameters a prior can be put on.
PARAMETERS = ("tau", "tau2", "precision", "mu")
_BARE = ("L1", "L3", "L5", "L7", "L9", "L11", "jeffreys", "dumouchel", "shrinkage")
_BARE_KEYS = {name.lower(): name for name in _BARE}

#: Old colon spellings of τ priors (``--tau-prior``): old name → (parameter, family).
TAU_ALIASES: dict[str, tuple[str, str]] = {
    "flat": ("tau", "flat"), "halfnormal": ("tau", "halfnormal"), "halfcauchy": ("tau", "halfcauchy"),
    "halft": ("tau", "halft"), "exponential": ("tau", "exponential"), "lognormal": ("tau", "lognormal"),
    "uniform": ("tau", "uniform"), "loguniform": ("tau", "loguniform"),
    "uniform-tau2": ("tau2", "uniform"), "invgamma-tau2": ("tau2", "invgamma"),
    "gamma-precision": ("precision", "gamma"), "uniform-precision": ("precision", "uniform"),
    "pareto-precision": ("precision", "pareto"), "fixed-tau": ("tau", "fixed"),
    "fixed-tau2": ("tau2", "fixed"),
}
#: Old colon spellings of the partition model's τ² prior (``--tau2-prior``).
TAU2_ALIASES: dict[str, tuple[str, str]] = {
    "exponential": ("tau2", "exponential"), "gamma": ("tau2", "gamma"),
    "halfnormal-tau": ("tau", "halfnormal"), "uniform": ("tau2", "uniform"), "fixed": ("tau2", "fixed"),
}
_MU_ALIASES: dict[str, tuple[str, str]] = {"flat": ("mu", "flat"), "normal": ("mu", "normal")}
_ALIASES = {"tau": TAU_ALIASES, "tau2": TAU2_ALIASES, "mu": _MU_ALIASES}


@dataclass(frozen=True)
class PriorSpec:
    """A prior as written.

    Parameters
    ----------
    parameter : str or None
        One of :data:`PARAMETERS`, or ``None`` for a bare name.
    family : str
        Canonical: lower case without ``-``/``_``; ``fixed`` for a point mass; a bare name as
        written (e.g. ``L3``).
    args : tuple of float
        The family's numbers.
    text : str
        The text it was read from.

    Examples
    --------
    >>> spec = PriorSpec("tau", "halfnormal", (0.5,), "tau ~ half-normal(0.5)")
    >>> str(spec), spec == parse_prior_spec("tau ~ half-normal(0.5)")
    ('tau~halfnormal(0.5)', True)
    """

    parameter: str | None
    family: str
    args: tuple[float, ...]
    text: str

    def __str__(self) -> str:
        if self.parameter is None:
            return self.family + (f"({_fmt(self.args)})" if self.args else "")
        if self.family == "fixed":
            return f"{self.parameter}={_fmt(self.args)}"
        return f"{self.parameter}~{self.family}" + (f"({_fmt(self.args)})" if self.args else "")


def _fmt(args: tuple[float, ...]) -> str:
    return ",".join(f"{a:g}" for a in args)


def _family(name: str) -> str:
    return name.strip().lower().replace("_", "").replace("-", "")


def _numbers(text: str, args: str) -> tuple[float, ...]:
    if not args.strip():
        return ()
    try:
        values = tuple(float(a) for a in args.split(","))
    except ValueError:
        raise InputError(f"prior {text!r}: parameters must be numbers") from None
    if not all(math.isfinite(a) for a in values):
        raise InputError(f"prior {text!r}: parameters must be finite")
    return values


_CALL = re.compile(r"^([A-Za-z][\w\-]*)(?:\((.*)\))?$")


def parse_prior_spec(text: str, *, option: str = "tau") -> PriorSpec:
    """Read a prior written in the grammar above, or in an old colon spelling.

    Parameters
    ----------
    text : str
        The prior as written.
    option : {"tau", "tau2", "mu"}
        Whose old colon spellings are read (``"tau"`` for τ priors, ``"tau2"`` for the
        partition model's, ``"mu"`` for µ's).

    Returns
    -------
    PriorSpec
        The parameter, the canonical family, its numbers and the text.

    Raises
    ------
    InputError
        Text that is neither (naming the text and the grammar), an unknown parameter, or
        numbers that are not finite.

    Examples
    --------
    >>> parse_prior_spec("tau ~ half-normal(0.5)")
    PriorSpec(parameter='tau', family='halfnormal', args=(0.5,), text='tau ~ half-normal(0.5)')
    >>> str(parse_prior_spec("exponential:1", option="tau2"))
    'tau2~exponential(1)'
    >>> str(parse_prior_spec("tau2=25"))
    'tau2=25'
    """
    s = re.sub(r"\s+", "", text)
    if "~" in s or "=" in s:
        sep = "~" if "~" in s else "="
        param, _, rest = s.partition(sep)
        param = param.lower()
        if param not in PARAMETERS:
            raise InputError(f"prior {text!r}: the parameter must be one of {', '.join(PARAMETERS)}")
        if sep == "=":
            return PriorSpec(param, "fixed", _numbers(text, rest), text)
        m = _CALL.match(rest)
        if not m:
            raise InputError(f"prior {text!r}: write PARAMETER~FAMILY(ARGS), e.g. tau~halfnormal(0.5)")
        return PriorSpec(param, _family(m.group(1)), _numbers(text, m.group(2) or ""), text)
    m = _CALL.match(s)
    if m and m.group(1).lower() in _BARE_KEYS:  # a bare name: L1, jeffreys, dumouchel(1) ...
        return PriorSpec(None, _BARE_KEYS[m.group(1).lower()], _numbers(text, m.group(2) or ""), text)
    name, _, args = s.partition(":")
    key = name.lower().replace("_", "-").replace("half-", "half")
    aliases = _ALIASES.get(option, {})
    if key in aliases:
        param, family = aliases[key]
        return PriorSpec(param, family, _numbers(text, args), text)
    if key in _BARE_KEYS:  # old spellings of the bare names: dumouchel:1
        return PriorSpec(None, _BARE_KEYS[key], _numbers(text, args), text)
    raise InputError(f"unknown prior {text!r}: write PARAMETER~FAMILY(ARGS) (e.g. tau~halfnormal(0.5), "
                     f"tau2~exponential(1), precision~gamma(0.001,0.001)), PARAMETER=VALUE, or one "
                     f"of {', '.join(_BARE)}")


def build_prior(spec: PriorSpec, families: dict[tuple[str | None, str], tuple[tuple[int, ...], Any]],
                what: str) -> Any:
    """Return the prior an engine builds from ``spec``.

    Parameters
    ----------
    spec : PriorSpec
        The prior as read (:func:`parse_prior_spec`).
    families : dict
        ``(parameter, family)`` → ``(allowed numbers of arguments, constructor)``: what the
        engine takes.
    what : str
        The engine's name for its prior, for error messages.

    Returns
    -------
    object
        What the constructor returns for ``spec.args``.

    Raises
    ------
    InputError
        A prior the engine does not take (listing those it does), or the wrong number of
        arguments.

    Examples
    --------
    >>> families = {("tau", "halfnormal"): ((1,), lambda scale: f"half-normal({scale:g})")}
    >>> build_prior(parse_prior_spec("tau~halfnormal(0.5)"), families, "the tau prior")
    'half-normal(0.5)'
    """
    key = (spec.parameter, spec.family)
    if key not in families:
        known = [f"{p}=X" if f == "fixed" else f"{p}~{f}" if p else f for p, f in families]
        raise InputError(f"{what} {spec.text!r} is not available here; use one of {', '.join(known)}")
    counts, make = families[key]
    if len(spec.args) not in counts:
        raise InputError(f"prior {spec.text!r}: {spec} takes {' or '.join(map(str, counts))} numbers")
    return make(*spec.args)
