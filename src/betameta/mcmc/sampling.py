"""Running NUTS through PyMC's own sampler, nutpie or numpyro."""

from __future__ import annotations

import importlib.util
from typing import Any, Literal

from .._options import check_option
from ..errors import InputError

#: The MCMC engines: ``auto`` (nutpie when installed, else NumPyro, else PyMC's own NUTS).
Sampler = Literal["auto", "nutpie", "numpyro", "pymc"]
SAMPLERS: tuple[str, ...] = ("auto", "nutpie", "numpyro", "pymc")


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def import_pymc():
    """``import pymc``, or an ImportError that says which extra to install."""
    try:
        import pymc
    except ImportError as exc:
        raise ImportError("this needs PyMC: pip install 'betameta[mcmc]'") from exc
    return pymc


def resolve_sampler(sampler: Sampler) -> str:
    """``auto`` picks nutpie, then numpyro.

    Then PyMC's own NUTS (fastest first on the rats benchmark, benchmarks/results_hier.txt).
    """
    sampler = check_option("sampler", sampler, SAMPLERS)  # type: ignore[assignment]
    if sampler == "auto":
        for name in ("nutpie", "numpyro"):
            if _installed(name):
                return name
        return "pymc"
    if sampler != "pymc" and not _installed(sampler):
        raise InputError(f"sampler={sampler!r} is not installed (pip install {sampler})")
    return sampler


def sample(
    model: Any,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int | None = None,
    sampler: Sampler = "auto",
    cores: int | None = None,
    progressbar: bool = False,
    target_accept: float = 0.8,
) -> Any:
    """NUTS on a PyMC ``model``; returns ArviZ ``InferenceData``.

    ``cores`` defaults to ``min(chains, CPUs)``: PyMC's own default (half the CPUs)
    runs the 4 chains one after another on a 2-core machine.

    Parameters
    ----------
    model
        A PyMC model.
    draws, tune, chains
        Kept draws and tuning steps per chain, and the number of chains.
    seed
        Seed of every chain (an integer; None for fresh entropy).
    sampler
        ``auto`` (nutpie when installed, else NumPyro, else PyMC's own NUTS), ``nutpie``,
        ``numpyro`` or ``pymc``.
    cores
        Chains run at once (default ``min(chains, CPUs)``).
    progressbar
        Show the engine's progress bar.
    target_accept
        NUTS's target acceptance rate (raise it against divergences).

    Returns
    -------
    arviz.InferenceData
        The posterior draws and the sampler's statistics (divergences among them).

    Raises
    ------
    InputError
        An unknown ``sampler``, or one asked for by name that is not installed.

    Examples
    --------
    >>> import warnings
    >>> import betameta as bm
    >>> from betameta.bayes import priors
    >>> from betameta.mcmc import normal_normal_model, sample
    >>> warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
    >>> studies = bm.load_studies("examples/lecture.csv", measure="MD")
    >>> model = normal_normal_model(studies, priors.half_normal(1.0), priors.normal_mu(0, 10))
    >>> idata = sample(model, draws=500, tune=500, chains=2, seed=1)
    >>> idata.posterior.sizes["chain"], idata.posterior.sizes["draw"]
    (2, 500)
    >>> abs(float(idata.posterior["mu"].mean()) - (-1.2498)) < 0.2  # the exact posterior mean
    True
    """
    import os

    pm = import_pymc()

    engine = resolve_sampler(sampler)
    cores = cores or max(1, min(chains, os.cpu_count() or 1))
    kwargs: dict[str, Any] = {"draws": draws, "tune": tune, "chains": chains, "random_seed": seed,
                              "progressbar": progressbar, "target_accept": target_accept}
    with model:
        if engine == "pymc":
            return pm.sample(cores=cores, **kwargs)
        return pm.sample(nuts_sampler=engine, cores=cores, **kwargs)
