# metafor's random-effects fits of the variants in gwas_sample_variants.csv, every tau2
# method, z and Knapp-Hartung tests, converged tightly; Q-profile bounds of tau2 (confint,
# uniroot tol 1e-12) and the prediction interval (predict). Writes gwas_sample_metafor.csv.
# Run from tests/data: Rscript make_gwas_sample_refs.R   (R 4.2.2, metafor 3.8-1, Debian)
library(metafor)
d <- read.csv("gwas_sample_variants.csv")
tight <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
out <- list()
for (v in unique(d$variant)) {
  s <- d[d$variant == v, ]
  for (method in c("DL", "PM", "REML", "ML", "HE", "SJ", "EB")) {
    for (test in c("z", "knha")) {
      m <- rma(yi, vi, data = s, method = method, test = test, control = tight)
      ci <- tryCatch(confint(m, control = list(tol = 1e-12))$random, error = function(e) NULL)
      p <- predict(m)
      out[[length(out) + 1]] <- data.frame(
        variant = v, method = method, test = test, k = m$k, tau2 = m$tau2,
        estimate = as.numeric(m$beta), se = m$se, ci_lb = m$ci.lb, ci_ub = m$ci.ub, pval = m$pval,
        pi_lb = p$pi.lb, pi_ub = p$pi.ub,
        tau2_lb = if (is.null(ci)) NA else ci["tau^2", "ci.lb"],
        tau2_ub = if (is.null(ci)) NA else ci["tau^2", "ci.ub"])
    }
  }
}
write.csv(do.call(rbind, out), "gwas_sample_metafor.csv", row.names = FALSE)
