"""Random-intercept / random-slope models (the BUGS "rats" growth curves) in PyMC.

Model, for unit i and observation j:
``yᵢⱼ ~ N(αᵢ + βᵢ (xᵢⱼ − x̄), 1/τ_c)``, ``αᵢ ~ N(µ_α, 1/τ_α)``, ``βᵢ ~ N(µ_β, 1/τ_β)``
with the BUGS-style vague priors (``priors="bugs"``): ``µ_α, µ_β ~ N(0, precision 1e-6)``
and ``τ_α, τ_β, τ_c ~ Gamma(0.001, 0.001)``. ``x̄ = 0`` unless ``center_x``; the
reported ``mu_alpha`` is always the population intercept at ``x = 0`` and
``sigma = 1/√τ_c`` (Gelfand et al. 1990; WinBUGS Examples Vol. 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._options import check_option
from .._results import Result, Summary
from ..errors import InputError
from .sampling import Sampler, import_pymc, resolve_sampler, sample

__all__ = ["GrowthFit", "fit_growth", "growth_model", "model_graph", "read_long", "two_stage_slopes"]

Parameterization = Literal["centered", "noncentered"]
HYPER = ("mu_alpha", "mu_beta", "tau_alpha", "tau_beta", "tau", "sigma")


def read_long(data: pd.DataFrame, unit: str, x: str, y: str, source: str = "data") -> pd.DataFrame:
    """Validate long-format data: one row per observation, columns unit, x, y.

    Parameters
    ----------
    data : pandas.DataFrame
        The observations.
    unit, x, y : str
        The columns holding the unit (e.g. the rat), the covariate (day) and the response
        (weight).
    source : str
        What the data are called in error messages.

    Returns
    -------
    pandas.DataFrame
        Columns ``unit`` (as text), ``x`` and ``y`` (floats), in the data's order.

    Raises
    ------
    InputError
        A column missing, a value that is not a finite number, fewer than 2 units, or a unit
        with fewer than 2 distinct x values (its slope is not identified).

    Examples
    --------
    >>> import pandas as pd
    >>> from betameta.mcmc.growth import read_long
    >>> rats = read_long(pd.read_csv("examples/rats/rats.csv"), "rat", "day", "weight")
    >>> len(rats), rats["unit"].nunique(), rats.columns.tolist()
    (150, 30, ['unit', 'x', 'y'])
    """
    for col in (unit, x, y):
        if col not in data.columns:
            raise InputError(f"{source}: column {col!r} not found; columns are {list(data.columns)}")
    out = pd.DataFrame({"unit": data[unit].astype(str)})
    for col, name in ((x, "x"), (y, "y")):
        values = pd.to_numeric(data[col], errors="coerce")
        bad = np.flatnonzero(~np.isfinite(values.to_numpy(dtype=float)))
        if bad.size:
            raise InputError(f"{source}: row {bad[0] + 1}, column {col!r}: "
                             f"{data[col].iloc[bad[0]]!r} is not a finite number")
        out[name] = values.to_numpy(dtype=float)
    counts = out.groupby("unit", sort=False).size()
    if counts.size < 2:
        raise InputError(f"{source}: a hierarchical model needs at least 2 units, got {counts.size}")
    if (out.groupby("unit", sort=False)["x"].nunique() < 2).any():
        unit_bad = counts.index[(out.groupby("unit", sort=False)["x"].nunique() < 2).to_numpy()][0]
        raise InputError(f"{source}: unit {unit_bad!r} has fewer than 2 distinct x values: "
                         "its slope is not identified")
    return out


def growth_model(
    data: pd.DataFrame,
    *,
    center_x: bool = False,
    parameterization: Parameterization = "centered",
    correlated: bool = False,
    priors: Literal["bugs"] = "bugs",
) -> Any:
    """Build the PyMC model for long data with columns ``unit, x, y`` (see :func:`read_long`).

    ``parameterization="noncentered"`` writes ``αᵢ = µ_α + z/√τ_α`` (better when
    units carry little information); ``correlated=True`` replaces the two
    independent normals by a bivariate normal with an LKJ(2) prior on the
    correlation and half-normal(100) scales (precisions are then derived).

    Parameters
    ----------
    data : pandas.DataFrame
        Columns ``unit``, ``x``, ``y``.
    center_x : bool
        Centre x at its mean inside the model (the reported ``mu_alpha`` is still at x = 0).
    parameterization : {"centered", "noncentered"}
        How the unit effects are written.
    correlated : bool
        A bivariate normal with an LKJ prior for (αᵢ, βᵢ).
    priors : {"bugs"}
        The vague priors of the BUGS example.

    Returns
    -------
    pymc.Model
        The model, with the data observed.

    Examples
    --------
    >>> import pandas as pd
    >>> from betameta.mcmc.growth import read_long
    >>> rats = read_long(pd.read_csv("examples/rats/rats.csv"), "rat", "day", "weight")
    >>> from betameta.mcmc.growth import growth_model
    >>> sorted(growth_model(rats).named_vars)[:6]
    ['alpha', 'beta', 'mu_alpha', 'mu_alpha_c', 'mu_beta', 'sigma']
    """
    pm = import_pymc()

    parameterization = check_option("parameterization", parameterization,  # type: ignore[assignment]
                                    ("centered", "noncentered"))
    check_option("priors", priors, ("bugs",))
    units, idx = np.unique(data["unit"].to_numpy(), return_inverse=True)
    x = data["x"].to_numpy(dtype=float)
    xbar = float(x.mean()) if center_x else 0.0
    xc = x - xbar
    coords = {"unit": list(units)}
    vague = {"alpha": 0.001, "beta": 0.001}
    with pm.Model(coords=coords) as model:
        mu_a = pm.Normal("mu_alpha_c", 0.0, sigma=1000.0)  # precision 1e-6
        mu_b = pm.Normal("mu_beta", 0.0, sigma=1000.0)
        tau_c = pm.Gamma("tau", alpha=vague["alpha"], beta=vague["beta"])
        if correlated:
            chol, _, _ = pm.LKJCholeskyCov("chol", n=2, eta=2.0,
                                           sd_dist=pm.HalfNormal.dist(100.0, shape=2),
                                           compute_corr=True)
            z = pm.Normal("z", 0.0, 1.0, dims=("unit", "coef"), shape=(len(units), 2))
            ab = pm.Deterministic("ab", pm.math.stack([mu_a, mu_b]) + pm.math.dot(z, chol.T))
            alpha, beta = ab[:, 0], ab[:, 1]
            sd = pm.math.sqrt(pm.math.sum(chol**2, axis=1))
            pm.Deterministic("tau_alpha", 1 / sd[0] ** 2)
            pm.Deterministic("tau_beta", 1 / sd[1] ** 2)
        else:
            tau_a = pm.Gamma("tau_alpha", alpha=0.001, beta=0.001)
            tau_b = pm.Gamma("tau_beta", alpha=0.001, beta=0.001)
            if parameterization == "centered":
                alpha = pm.Normal("alpha", mu_a, tau=tau_a, dims="unit")
                beta = pm.Normal("beta", mu_b, tau=tau_b, dims="unit")
            else:
                za = pm.Normal("z_alpha", 0.0, 1.0, dims="unit")
                zb = pm.Normal("z_beta", 0.0, 1.0, dims="unit")
                alpha = pm.Deterministic("alpha", mu_a + za / pm.math.sqrt(tau_a), dims="unit")
                beta = pm.Deterministic("beta", mu_b + zb / pm.math.sqrt(tau_b), dims="unit")
        pm.Deterministic("mu_alpha", mu_a - xbar * mu_b)
        pm.Deterministic("sigma", 1 / pm.math.sqrt(tau_c))
        pm.Normal("y", alpha[idx] + beta[idx] * xc, tau=tau_c, observed=data["y"].to_numpy(float))
    return model


@dataclass(frozen=True, repr=False)
class GrowthFit(Result):
    """Posterior of a growth model: ArviZ ``InferenceData`` and its summary table.

    Parameters
    ----------
    idata : arviz.InferenceData
        The draws, with the hyperparameters ``HYPER`` and the unit slopes ``beta``.
    sampler : str
        The NUTS engine that drew them.
    seconds : float
        The sampling time.
    divergences : int
        Divergent transitions over all chains.

    Examples
    --------
    :func:`fit_growth` makes one by sampling; any InferenceData with those variables will do
    (here made by hand, so that the example does not sample):

    >>> import arviz as az
    >>> import numpy as np
    >>> from betameta.mcmc.growth import HYPER, GrowthFit
    >>> rng = np.random.default_rng(1)
    >>> draws = {name: rng.normal(1.0, 0.1, (2, 200)) for name in HYPER}
    >>> draws["beta"] = rng.normal(6.0, 0.5, (2, 200, 3))
    >>> fit = GrowthFit(az.from_dict(posterior=draws), "nutpie", 1.0, 0)
    >>> fit
    GrowthFit(sampler=nutpie, divergences=0)
    """

    idata: Any = field(compare=False)
    sampler: str
    seconds: float
    divergences: int

    def to_frame(self, var_names: tuple[str, ...] = HYPER, level: float = 0.95) -> pd.DataFrame:
        """Return ArviZ's summary of the parameters as a tidy table.

        Parameters
        ----------
        var_names : tuple of str
            The parameters (default the hyperparameters).
        level : float
            The probability of the highest-density interval.

        Returns
        -------
        pandas.DataFrame
            One row per parameter: ``parameter``, ``mean``, ``sd``, ``hdi_low``, ``hdi_high``,
            ``mcse_mean``, ``mcse_sd``, ``ess_bulk``, ``ess_tail``, ``r_hat``.

        Examples
        --------
        >>> import arviz as az
        >>> import numpy as np
        >>> from betameta.mcmc.growth import HYPER, GrowthFit
        >>> rng = np.random.default_rng(1)
        >>> draws = {name: rng.normal(1.0, 0.1, (2, 200)) for name in HYPER}
        >>> draws["beta"] = rng.normal(6.0, 0.5, (2, 200, 3))
        >>> fit = GrowthFit(az.from_dict(posterior=draws), "nutpie", 1.0, 0)
        >>> fit.to_frame(("mu_beta",), level=0.9)["parameter"].tolist()
        ['mu_beta']
        """
        import arviz as az

        table = az.summary(self.idata, var_names=list(var_names), hdi_prob=level)
        lo, hi = [c for c in table.columns if c.startswith("hdi_")][:2]
        table = table.rename(columns={lo: "hdi_low", hi: "hdi_high"})
        return table.rename_axis("parameter").reset_index()

    def summary(self, var_names: tuple[str, ...] = HYPER, level: float = 0.95) -> Summary:
        """Return :meth:`to_frame` titled with the sampler and its divergences.

        Parameters
        ----------
        var_names : tuple of str
            The parameters (default the hyperparameters).
        level : float
            The probability of the highest-density interval.

        Returns
        -------
        Summary
            Its table is :meth:`to_frame`.

        Examples
        --------
        >>> import arviz as az
        >>> import numpy as np
        >>> from betameta.mcmc.growth import HYPER, GrowthFit
        >>> rng = np.random.default_rng(1)
        >>> draws = {name: rng.normal(1.0, 0.1, (2, 200)) for name in HYPER}
        >>> draws["beta"] = rng.normal(6.0, 0.5, (2, 200, 3))
        >>> fit = GrowthFit(az.from_dict(posterior=draws), "nutpie", 1.0, 0)
        >>> print(fit.summary().title)
        Growth model sampled with nutpie in 1.0 s, 0 divergences
        """
        return Summary(f"Growth model sampled with {self.sampler} in {self.seconds:.1f} s, "
                       f"{self.divergences} divergences", self.to_frame(var_names, level))

    def to_dict(self) -> dict[str, Any]:
        """Return the fit as a JSON-ready dict.

        Returns
        -------
        dict
            ``sampler``, ``seconds``, ``divergences`` and ``parameters``: each hyperparameter's
            ``mean``, ``sd``, ``hdi_low``, ``hdi_high``, ``ess_bulk`` and ``r_hat``.

        Examples
        --------
        >>> import arviz as az
        >>> import numpy as np
        >>> from betameta.mcmc.growth import HYPER, GrowthFit
        >>> rng = np.random.default_rng(1)
        >>> draws = {name: rng.normal(1.0, 0.1, (2, 200)) for name in HYPER}
        >>> draws["beta"] = rng.normal(6.0, 0.5, (2, 200, 3))
        >>> fit = GrowthFit(az.from_dict(posterior=draws), "nutpie", 1.0, 0)
        >>> sorted(fit.to_dict()["parameters"]["mu_beta"])
        ['ess_bulk', 'hdi_high', 'hdi_low', 'mean', 'r_hat', 'sd']
        """
        keys = ["mean", "sd", "hdi_low", "hdi_high", "ess_bulk", "r_hat"]
        return {"sampler": self.sampler, "seconds": self.seconds, "divergences": self.divergences,
                "parameters": {row["parameter"]: {k: float(row[k]) for k in keys}
                               for _, row in self.to_frame().iterrows()}}

    def __repr__(self) -> str:
        return f"GrowthFit(sampler={self.sampler}, divergences={self.divergences})"

    def plot(self, kind: Literal["trace", "forest"] = "forest", ax: Any = None) -> Any:
        """Draw ArviZ's trace plot of the hyperparameters or forest plot of the unit slopes.

        Parameters
        ----------
        kind : {"forest", "trace"}
            Which plot.
        ax : matplotlib.axes.Axes or numpy.ndarray or None
            Where to draw (for ``trace`` an (n, 2) array of axes); new axes when ``None``.

        Returns
        -------
        matplotlib.axes.Axes or numpy.ndarray
            The axes drawn on (an array of them for ``trace``).

        Examples
        --------
        >>> import arviz as az
        >>> import numpy as np
        >>> from betameta.mcmc.growth import HYPER, GrowthFit
        >>> rng = np.random.default_rng(1)
        >>> draws = {name: rng.normal(1.0, 0.1, (2, 200)) for name in HYPER}
        >>> draws["beta"] = rng.normal(6.0, 0.5, (2, 200, 3))
        >>> fit = GrowthFit(az.from_dict(posterior=draws), "nutpie", 1.0, 0)
        >>> fit.plot().get_title()
        '95.0% HDI'
        """
        import arviz as az

        if kind == "trace":
            return az.plot_trace(self.idata, var_names=list(HYPER), axes=ax)
        out = az.plot_forest(self.idata, var_names=["beta"], combined=True, hdi_prob=0.95, ax=ax)
        return out[0] if ax is None else ax


def model_graph(model: Any, path: str | Path) -> Path:
    """Render the PyMC model graph to ``path`` (.png/.svg/.pdf) with graphviz.

    Parameters
    ----------
    model : pymc.Model
        The model (e.g. :func:`growth_model`).
    path : str or pathlib.Path
        The file to write; its suffix chooses the format (PNG without one).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    RuntimeError
        The graphviz Python package or its ``dot`` program is missing (the message says what to
        install).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import pandas as pd
    >>> from betameta.mcmc.growth import read_long
    >>> rats = read_long(pd.read_csv("examples/rats/rats.csv"), "rat", "day", "weight")
    >>> from betameta.mcmc.growth import growth_model, model_graph
    >>> out = model_graph(growth_model(rats), Path(tempfile.mkdtemp()) / "rats.svg")
    >>> out.name, out.stat().st_size > 1000
    ('rats.svg', True)
    """
    import shutil

    pm = import_pymc()

    path = Path(path)
    try:
        import graphviz  # noqa: F401
    except ImportError:
        raise RuntimeError("drawing the model graph needs the graphviz Python package "
                           "(pip install graphviz) and its 'dot' program (apt-get install graphviz)"
                           ) from None
    if shutil.which("dot") is None:
        raise RuntimeError("drawing the model graph needs graphviz's 'dot' program "
                           "(apt-get install graphviz)")
    graph = pm.model_to_graphviz(model)
    graph.format = path.suffix.lstrip(".") or "png"
    graph.render(path.with_suffix(""), cleanup=True)
    return path


def two_stage_slopes(data: pd.DataFrame) -> pd.DataFrame:
    """Per-unit least-squares slopes with their standard errors (the first stage).

    ``se = s / √Σ(x − x̄)²`` with ``s²`` the unit's residual variance on ``n − 2`` df.

    Parameters
    ----------
    data : pandas.DataFrame
        Columns ``unit``, ``x``, ``y`` (:func:`read_long`).

    Returns
    -------
    pandas.DataFrame
        One row per unit: ``study``, ``yi`` (the slope) and ``sei``, for
        :func:`betameta.load_studies`.

    Raises
    ------
    InputError
        A unit with fewer than 3 observations.

    Examples
    --------
    >>> import pandas as pd
    >>> from betameta.mcmc.growth import read_long
    >>> rats = read_long(pd.read_csv("examples/rats/rats.csv"), "rat", "day", "weight")
    >>> from betameta.mcmc.growth import two_stage_slopes
    >>> two_stage_slopes(rats).round(4).head(2).values.tolist()
    [['1', 6.0286, 0.2309], ['2', 7.3143, 0.1979]]
    """
    rows = []
    for unit, g in data.groupby("unit", sort=False):
        x, y = g["x"].to_numpy(), g["y"].to_numpy()
        if x.size < 3:
            raise InputError(f"unit {unit!r}: a slope SE needs at least 3 observations")
        sxx = ((x - x.mean()) ** 2).sum()
        b = ((x - x.mean()) * (y - y.mean())).sum() / sxx
        resid = y - y.mean() - b * (x - x.mean())
        rows.append({"study": unit, "yi": b, "sei": np.sqrt((resid**2).sum() / (x.size - 2) / sxx)})
    return pd.DataFrame(rows)


def fit_growth(
    data: pd.DataFrame,
    *,
    draws: int = 3000,
    tune: int = 1000,
    chains: int = 4,
    seed: int | None = 1,
    sampler: Sampler = "auto",
    center_x: bool = False,
    parameterization: Parameterization = "centered",
    correlated: bool = False,
) -> GrowthFit:
    """Build and sample :func:`growth_model`; divergences are counted and reported.

    Parameters
    ----------
    data : pandas.DataFrame
        Columns ``unit``, ``x``, ``y`` (:func:`read_long`).
    draws, tune, chains : int
        Draws kept and tuning steps per chain, and the number of chains.
    seed : int or None
        The sampler's seed.
    sampler : {"auto", "nutpie", "numpyro", "pymc"}
        The NUTS engine (``auto``: the first installed, in that order).
    center_x, parameterization, correlated
        As :func:`growth_model`.

    Returns
    -------
    GrowthFit
        The draws, the engine, the sampling time and the divergences.

    Examples
    --------
    >>> import warnings
    >>> import pandas as pd
    >>> from betameta.mcmc.growth import read_long
    >>> rats = read_long(pd.read_csv("examples/rats/rats.csv"), "rat", "day", "weight")
    >>> from betameta.mcmc.growth import fit_growth
    >>> warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
    >>> fit = fit_growth(rats, draws=300, tune=300, chains=2, seed=1, center_x=True)
    >>> mu_beta = fit.to_frame().set_index("parameter").loc["mu_beta", "mean"]
    >>> bool(abs(mu_beta - 6.186) < 0.1)  # the published posterior mean (WinBUGS rats)
    True
    """
    import time

    model = growth_model(data, center_x=center_x, parameterization=parameterization,
                         correlated=correlated)
    engine = resolve_sampler(sampler)
    t0 = time.perf_counter()
    idata = sample(model, draws=draws, tune=tune, chains=chains, seed=seed, sampler=engine)
    seconds = time.perf_counter() - t0
    div = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else 0
    return GrowthFit(idata, engine, seconds, div)
