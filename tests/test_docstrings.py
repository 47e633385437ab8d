"""The public entry points' docstrings, checked by numpydoc's own validator: every
parameter documented (and none that does not exist), a Returns section, an Examples section
(run by the doctests), sections known and in numpydoc's order. The list grows as the
docstrings are written (issue 19); the rest of the public API is not yet held to it."""

from __future__ import annotations

import pytest
from conftest import require_module

#: Entry points whose docstrings are complete.
DOCUMENTED = (
    "betameta.classical.meta_analysis",
    "betameta.studies.load_studies",
    "betameta.effect_sizes.escalc",
    "betameta.bayes.posterior.bayes_meta",
    "betameta.bayes.sensitivity.sensitivity_analysis",
    "betameta.kernels.classical.classical_kernel",
    "betameta.kernels.random_effects.random_effects_kernel",
    "betameta.gwas.run.run_gwas",
    "betameta.transancestry.model.transancestry",
    "betameta.metasoft.re2",
    "betameta.metasoft.mvalues",
    "betameta.metasoft.binary_effects",
    "betameta.regression.meta_regression",
    "betameta.tables.read_table",
    "betameta.asset.asset",
    "betameta.pooled.mantel_haenszel",
    "betameta.pooled.peto",
    "betameta.bayes.priors.parse_tau_prior",
    "betameta.bayes.priors.parse_mu_prior",
    "betameta.kernels.bayes.bayes_arrays",
    "betameta.kernels.asset.asset_arrays",
    "betameta.kernels.classical.chi2_sf",
    "betameta.kernels.classical.log10_chi2_sf",
    "betameta.kernels.classical.log10_norm_sf2",
    "betameta.kernels.classical.usable",
    "betameta.kernels.partition.partition_arrays",
    "betameta.transancestry.distances.distances_from_frequencies",
    "betameta.transancestry.distances.read_distances",
    "betameta.subgroups.subgroup_analysis",
    "betameta.regression.design_matrix",
    "betameta.regression.study_design",
    "betameta.regression.moderator_table",
    "betameta.regression.likelihood_ratio_test",
    "betameta.pooled.mantel_haenszel_rates",
    "betameta.gwas.io.read_sumstats",
    "betameta.gwas.harmonise.harmonise",
    "betameta.mcmc.normal_normal.normal_normal_model",
    "betameta.mcmc.sampling.sample",
    "betameta.classical.MetaAnalysis.leave_one_out",
    "betameta.classical.MetaAnalysis.influence",
    "betameta.classical.MetaAnalysis.rank_test",
    "betameta.classical.MetaAnalysis.egger_test",
    "betameta.classical.MetaAnalysis.trim_and_fill",
    "betameta.classical.MetaAnalysis.fail_safe_n",
    "betameta.classical.MetaAnalysis.cumulative",
    "betameta.classical.MetaAnalysis.pet_peese",
    "betameta.classical.MetaAnalysis.refit",
    "betameta.classical.MetaAnalysis.gosh",
    "betameta.bayes.posterior.BayesMeta.sample",
    "betameta.bayes.posterior.BayesMeta.marginal",
    "betameta.bayes.posterior.BayesMeta.to_frame",
    "betameta.bayes.marginals.Marginal.interval",
    "betameta.bayes.marginals.Marginal.stats",
    "betameta.bayes.priors.flat_mu",
    "betameta.bayes.priors.normal_mu",
    "betameta.bayes.priors.fixed_tau",
    "betameta.bayes.priors.fixed_tau2",
    "betameta.bayes.priors.half_normal",
    "betameta.bayes.priors.half_t",
    "betameta.bayes.priors.half_cauchy",
    "betameta.bayes.priors.exponential",
    "betameta.bayes.priors.log_normal",
    "betameta.bayes.priors.uniform",
    "betameta.bayes.priors.flat_tau",
    "betameta.bayes.priors.uniform_tau2",
    "betameta.bayes.priors.log_uniform",
    "betameta.bayes.priors.gamma_precision",
    "betameta.bayes.priors.inverse_gamma_tau2",
    "betameta.bayes.priors.uniform_precision",
    "betameta.bayes.priors.pareto_precision",
    "betameta.bayes.priors.dumouchel",
    "betameta.bayes.priors.uniform_shrinkage",
    "betameta.bayes.priors.jeffreys",
    "betameta.bayes.priors.custom",
    "betameta.bayes.priors.lambert",
    "betameta.bayes.priors.gamma_tau2",
    "betameta.bayes.priors.default_tau_prior",
    "betameta.bayes.priors.resolve_tau_prior",
    "betameta.bayes.priors.uisd",
    "betameta.bayes.priors.prior_quantile",
)
#: What a complete docstring must not lack: PR01 a parameter undocumented, PR02 a documented
#: parameter that does not exist, RT01 no Returns, EX01 no Examples, GL06 an unknown section,
#: GL07 sections out of order, SS01 no summary.
REQUIRED = {"PR01", "PR02", "RT01", "EX01", "GL06", "GL07", "SS01"}


@pytest.mark.parametrize("name", DOCUMENTED)
def test_docstring_is_complete(name):
    validate = require_module("numpydoc.validate").validate
    errors = [(code, message) for code, message in validate(name)["errors"] if code in REQUIRED]
    assert errors == []
