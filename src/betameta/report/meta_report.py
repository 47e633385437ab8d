"""The report of a study-level meta-analysis: data, forest plot, classical and Bayesian results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._atomic import write_text_atomic
from .._options import REPORT_SECTIONS
from ..bayes import bayes_meta, sensitivity_analysis
from ..bayes.priors import MuPrior, TauPrior, flat_mu, resolve_tau_prior
from ..classical import meta_analysis
from ..errors import InputError
from ..studies import StudyTable
from .html import esc, figure, fmt, page, provenance, table

SECTIONS = REPORT_SECTIONS


def meta_report(
    studies: StudyTable,
    out: str | Path,
    *,
    tau_prior: TauPrior | None = None,
    mu_prior: MuPrior | None = None,
    sections: Sequence[str] = SECTIONS,
    title: str = "Meta-analysis report",
    command: str | None = None,
) -> Path:
    """Write the meta-analysis report: one self-contained HTML file.

    The Bayesian sections use ``tau_prior`` and ``mu_prior``, by default those of
    :func:`betameta.bayes.bayes_meta` (:func:`~betameta.bayes.priors.default_tau_prior` and a
    flat µ, under which the Bayes factor for µ = 0 is not defined and is shown as such).

    Parameters
    ----------
    studies : StudyTable
        The studies.
    out : str or pathlib.Path
        The HTML file to write (atomically).
    tau_prior : TauPrior or None
        The τ prior of the Bayesian sections.
    mu_prior : MuPrior or None
        The µ prior of the Bayesian sections (default flat).
    sections : sequence of str
        Which of ``SECTIONS`` (``data``, ``classical``, ``bayes``, ``sensitivity``, ``explain``)
        to include, in that order.
    title : str
        The page title.
    command : str or None
        The command line that made it, recorded with the versions.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    InputError
        An unknown section.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import betameta as bm
    >>> from betameta.report.meta_report import meta_report
    >>> studies = bm.load_studies("examples/lecture.csv", measure="MD")
    >>> out = meta_report(studies, Path(tempfile.mkdtemp()) / "report.html", sections=("classical",))
    >>> out.read_text().startswith("<!DOCTYPE html>")
    True
    """
    bad = [s for s in sections if s not in SECTIONS]
    if bad:
        raise InputError(f"unknown report sections {bad}; choose from {', '.join(SECTIONS)}")
    import matplotlib

    matplotlib.use("Agg")
    tau_prior = resolve_tau_prior(tau_prior, studies)
    mu_prior = mu_prior or flat_mu()
    fe = meta_analysis(studies, method="FE")
    dl = meta_analysis(studies, method="DL")
    reml = meta_analysis(studies, method="REML")
    reml_hk = meta_analysis(studies, method="REML", test="hksj")
    post = bayes_meta(studies, tau_prior=tau_prior, mu_prior=mu_prior)
    parts: list[str] = [f"<p>k = {studies.k} studies"
                        + (f", effect measure {esc(studies.measure)}" if studies.measure else "")
                        + ".</p>"]
    if "data" in sections:
        frame = studies.to_frame()
        parts.append("<h2>Data</h2>" + table(list(frame.columns), frame.itertuples(index=False)))
        parts.append(figure(dl.plot_forest().figure, "Forest plot: studies with 95% CIs; diamonds "
                            "for the fixed-effect and DerSimonian–Laird random-effects means; the "
                            "line through the lower diamond is the 95% prediction interval."))
    if "classical" in sections:
        f, h, t = fe.fixed, fe.heterogeneity, fe.total_test
        rows = [["fixed effect (inverse variance)", f.estimate, f.se, f.ci_low, f.ci_high, f.p]]
        for name, fit in (("random, DL, z", dl), ("random, REML, z", reml),
                          ("random, REML, HKSJ (t)", reml_hk)):
            r = fit.random
            rows.append([name, r.estimate, r.se, r.ci_low, r.ci_high, r.p])
        parts.append("<h2>Classical results</h2>" + table(
            ["model", "estimate", "se", "95% CI low", "95% CI high", "p"], rows))
        het = [["Cochran's Q", h.q], ["df", h.df], ["p (heterogeneity)", h.p], ["I²", f"{100 * h.i2:.1f}%"],
               ["H²", h.h2], ["ζ̂² = (Q − df)/Σw (truncated at 0)", h.zeta2]]
        for name, fit in (("DL", dl), ("REML", reml)):
            r = fit.random
            het.append([f"τ² ({name}) [Q-profile 95% CI]",
                        f"{fmt(r.tau2)} [{fmt(r.tau2_ci_low)}, {fmt(r.tau2_ci_high)}]"])
        het.append(["prediction interval (REML)", f"[{fmt(reml.random.pi_low)}, "
                    f"{fmt(reml.random.pi_high)}]"])
        het.append(["total test Z² = Z²_F + Q (k df)",
                    f"{fmt(t.z2, 3)} = {fmt(t.z2_fixed, 3)} + {fmt(t.q, 3)}, p = {fmt(t.p)}"])
        parts.append(table(["heterogeneity", "value"], het))
    if "bayes" in sections:
        d = post.to_dict()
        rows = [[q, *(d[q][c] for c in ("mean", "sd", "median", "ci_low", "ci_high"))]
                for q in ("mu", "tau", "tau2", "beta_f", "zeta2", "theta_new")]
        parts.append(f"<h2>Bayesian results</h2><p>Exact posterior of the normal–normal model with "
                     f"τ ~ {esc(tau_prior.name)} and µ ~ {esc(mu_prior.name)}.</p>"
                     + table(["quantity", "mean", "sd", "median", "2.5%", "97.5%"], rows))
        bf = [[k, d[k]] for k in ("log_marginal_likelihood", "bf_mu0", "bf_tau0")]
        parts.append(table(["evidence", "value"], bf))
        if d["notes"]:
            parts.append("".join(f"<p class='note'>{esc(n)}</p>" for n in d["notes"]))
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
        post.plot_posterior("mu", ax=axes[0])
        post.plot_posterior("tau", ax=axes[1])
        parts.append(figure(fig, "Posterior densities of µ and τ with their priors (dashed)."))
        parts.append(figure(post.plot_shrinkage().figure,
                            "Shrinkage: observed yᵢ (open) and posterior θᵢ (filled) with 95% intervals."))
    if "sensitivity" in sections:
        sens = sensitivity_analysis(studies)
        parts.append("<h2>Prior sensitivity</h2><p>Posterior means and 95% intervals under "
                     "ψ² ∈ {0.1, 1, 1000} × fixed τ² ∈ {1/4, 1, 25, 100} and the vague priors "
                     "L1–L11 (ψ² = 1000). Priors move µ and τ; βF and ζ hardly move.</p>")
        parts.append(figure(sens.plot()[0].figure, "Prior-sensitivity panels: (a) βF, (b) µ, "
                            "(c) ζ, (d) τ under each prior; (e, f) the posterior against a fixed "
                            "τ² for ψ² = 1 and 1000."))
    if "explain" in sections:
        parts.append(_explain(fe, dl, post))
    parts.append(provenance(command))
    return write_text_atomic(out, page(title, parts))


def _explain(fe, dl, post) -> str:
    f, r = fe.fixed, dl.random
    zeta = float(np.sqrt(fe.heterogeneity.zeta2))
    rows = [
        ["Is there a common effect β₀ shared by all studies?", "common-effect estimate",
         f"{fmt(f.estimate)} [{fmt(f.ci_low)}, {fmt(f.ci_high)}]",
         "only if Q shows no heterogeneity"],
        ["What is the precision-weighted average of these studies' own effects?", "βF (fixed effects)",
         f"{fmt(post.beta_f.mean)} (posterior), {fmt(f.estimate)} (classical)",
         "valid under heterogeneity; its spread is ζ"],
        ["How much do these studies' effects differ?", "ζ (precision-weighted spread)",
         f"ζ̂ = {fmt(zeta)}; posterior median ζ = {fmt(float(np.sqrt(post.zeta2.median)))}",
         "about these studies, not the population"],
        ["What is the mean effect in the population of studies?", "µ (random-effects mean)",
         f"{fmt(r.estimate)} [{fmt(r.ci_low)}, {fmt(r.ci_high)}] (DL); posterior "
         f"{fmt(post.mu.median)} [{fmt(post.mu.quantile(0.025))}, {fmt(post.mu.quantile(0.975))}]",
         "depends on the τ prior (see the sensitivity panel)"],
        ["How much do true effects vary across the population?", "τ (between-study sd)",
         f"{fmt(r.tau)} (DL); posterior median {fmt(post.tau.median)}", "poorly determined for small k"],
        ["What effect should a new study expect?", "θ_new (prediction)",
         f"[{fmt(post.theta_new.quantile(0.025))}, {fmt(post.theta_new.quantile(0.975))}]",
         "the widest interval: it adds τ"],
    ]
    return ("<h2>Which number answers which question</h2>"
            + table(["question", "quantity", "this dataset", "keep in mind"], rows))
