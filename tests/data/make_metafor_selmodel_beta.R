# References for the beta selection model (metafor 3.8-1, R 4.2.2, Debian bookworm):
#   Rscript tests/data/make_metafor_selmodel_beta.R   (from the repository root)
# selmodel(type = "beta") (Citkowicz & Vevea 2017) on Hackshaw et al. (1998, log odds ratios,
# k = 37) and Baskerville et al. (2012, standardised mean differences, k = 23), ML and FE fits.
# Each A_i is integrated with rel.tol 1e-6 where metafor's optimisation succeeds with it, else at
# metafor's default (rel.tol = eps^0.25); the tolerance used is recorded as "rel_tol".
# -> tests/data/metafor_extra/selmodel_beta.json
suppressMessages(library(metafor))
num <- function(x) paste0("[", paste(ifelse(is.na(x), "null", sprintf("%.17g", x)), collapse = ", "), "]")
bask <- dat.baskerville2012
sets <- list(hackshaw = dat.hackshaw1998[, c("yi", "vi")],
             baskerville = data.frame(yi = bask$smd, vi = bask$se^2))
out <- c()
for (nm in names(sets)) for (m in c("ML", "FE")) {
  d <- sets[[nm]]
  fit <- rma(yi, vi, data = d, method = m)
  tol <- 1e-6
  s <- try(selmodel(fit, type = "beta", control = list(intCtrl = list(rel.tol = tol))), silent = TRUE)
  if (inherits(s, "try-error")) {
    tol <- .Machine$double.eps^0.25
    s <- selmodel(fit, type = "beta")
  }
  out <- c(out, sprintf('"%s_%s": {"yi": %s, "vi": %s, "method": "%s", "rel_tol": %.17g, "beta": %.17g, "se": %.17g, "tau2": %.17g, "delta": %s, "se_delta": %s, "lrt": %.17g, "lrt_p": %.17g, "ll": %.17g}',
                        nm, m, num(d$yi), num(d$vi), m, tol, s$beta, s$se, s$tau2, num(s$delta),
                        num(s$se.delta), s$LRT, s$LRTp, s$ll))
}
writeLines(c("{", paste(out, collapse = ",\n"), "}"), "tests/data/metafor_extra/selmodel_beta.json")
