"""The normal–normal meta-analysis model in PyMC (to cross-check the exact engine)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..bayes.priors import MuPrior, TauPrior
from ..errors import InputError
from ..studies import StudyTable
from .sampling import import_pymc


def _tau(pm: Any, prior: TauPrior) -> Any:
    p = prior.params
    family = p.get("family")
    if family == "halfnormal":
        return pm.HalfNormal("tau", sigma=p["scale"])
    if family == "halfcauchy":
        return pm.HalfCauchy("tau", beta=p["scale"])
    if family == "halft":
        return pm.HalfStudentT("tau", nu=p["df"], sigma=p["scale"])
    if family == "exponential":
        return pm.Exponential("tau", lam=p["rate"])
    if family == "uniform":
        return pm.Uniform("tau", lower=p["lower"], upper=p["upper"])
    if family == "gamma_precision":
        prec = pm.Gamma("prec", alpha=p["shape"], beta=p["rate"])
        return pm.Deterministic("tau", 1 / pm.math.sqrt(prec))
    raise InputError(f"no PyMC version of the prior {prior.name}; use half-normal, half-Cauchy, "
                     "half-t, exponential, uniform or gamma on the precision")


def normal_normal_model(
    studies: StudyTable, tau_prior: TauPrior, mu_prior: MuPrior, *, centered: bool = False
) -> Any:
    """``yᵢ ~ N(θᵢ, σᵢ²)``, ``θᵢ ~ N(µ, τ²)`` with the given priors, as a PyMC model.

    The non-centred form ``θᵢ = µ + τ·ηᵢ`` is the default: with few studies and
    τ near 0 the centred form has a funnel NUTS cannot enter.

    Parameters
    ----------
    studies
        Effects ``yᵢ`` and variances ``σᵢ²`` (see :func:`betameta.load_studies`).
    tau_prior, mu_prior
        The priors, from :mod:`betameta.bayes.priors` (the same objects the exact engine
        takes, so the two can be compared prior for prior).
    centered
        The centred form ``θᵢ ~ N(µ, τ²)`` instead.

    Returns
    -------
    pymc.Model
        With variables ``mu``, ``tau``, ``theta`` (and ``eta`` when non-centred), the observed
        ``y``, and the deterministic ``beta_f``.

    Examples
    --------
    >>> import betameta as bm
    >>> from betameta.bayes import priors
    >>> from betameta.mcmc import normal_normal_model
    >>> studies = bm.load_studies("examples/lecture.csv", measure="MD")
    >>> model = normal_normal_model(studies, priors.half_normal(1.0), priors.normal_mu(0, 10))
    >>> sorted(model.named_vars)
    ['beta_f', 'eta', 'mu', 'tau', 'theta', 'y']
    """
    pm = import_pymc()

    if not mu_prior.proper:
        raise InputError("the PyMC model needs a proper prior on mu (e.g. normal_mu(0, 100))")
    coords = {"study": list(studies.labels)}
    with pm.Model(coords=coords) as model:
        mu = pm.Normal("mu", mu=mu_prior.mean, sigma=mu_prior.sd)
        tau = _tau(pm, tau_prior)
        if centered:
            theta = pm.Normal("theta", mu=mu, sigma=tau, dims="study")
        else:
            eta = pm.Normal("eta", 0.0, 1.0, dims="study")
            theta = pm.Deterministic("theta", mu + tau * eta, dims="study")
        w = 1 / studies.vi
        pm.Deterministic("beta_f", pm.math.sum(w * theta) / np.sum(w))
        pm.Normal("y", mu=theta, sigma=np.sqrt(studies.vi), observed=studies.yi, dims="study")
    return model
