# References for tests/test_metafor_extra.py (metafor 3.8-1, R 4.2.2, Debian bookworm):
#   Rscript tests/data/make_metafor_extra.R   (from the repository root)
# 1. escalc(measure = "RD") with zero cells (its default add = 1/2, to = "only0").
# 2. regtest() on Knapp-Hartung fits (test = "knha"): t on k - 2 df.
suppressMessages(library(metafor))
num <- function(x) paste0("[", paste(sprintf("%.17g", x), collapse = ", "), "]")
out <- c()
d <- data.frame(ai = c(0, 3, 0, 5, 7), bi = c(10, 7, 12, 15, 0), ci = c(2, 1, 0, 4, 3), di = c(8, 9, 12, 16, 4))
e <- escalc(measure = "RD", ai = ai, bi = bi, ci = ci, di = di, data = d)
out <- c(out, sprintf('"rd_zero": {"ai": %s, "bi": %s, "ci": %s, "di": %s, "yi": %s, "vi": %s}',
                      num(d$ai), num(d$bi), num(d$ci), num(d$di), num(e$yi), num(e$vi)))
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
for (method in c("REML", "DL")) {
  # tight control (regtest refits with it): the root itself, not metafor's default stopping point
  r <- regtest(rma(yi, vi, data = bcg, method = method, test = "knha",
                   control = list(threshold = 1e-15, maxiter = 1000)))
  out <- c(out, sprintf('"regtest_knha_%s": {"yi": %s, "vi": %s, "stat": %.17g, "p": %.17g, "df": %d, "limit": %.17g}',
                        method, num(bcg$yi), num(bcg$vi), r$zval, r$pval, r$dfs, r$est))
}
writeLines(paste0("{\n", paste(out, collapse = ",\n"), "\n}"), "tests/data/metafor_extra/refs.json")
