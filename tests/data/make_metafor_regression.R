# References for tests/test_meta_regression.py: metafor's meta-regressions on real datasets
# with moderators, every tau2 method, z and Knapp-Hartung tests, converged tightly.
#   Rscript tests/data/make_metafor_regression.R   (from the repository root;
#   R 4.2.2, metafor 3.8-1, Debian bookworm) -> tests/data/metafor_regression/refs.json
# Per fit: coefficients (b, se, zval, pval, ci.lb, ci.ub), tau2 and its Q-profile bounds
# (confint), QE, QM (all moderators, and btt = 3..p where p >= 3), I2, H2, R2, and
# predict() at the first three rows of the design (CI and prediction interval).
suppressMessages(library(metafor))
num <- function(x) paste0("[", paste(ifelse(is.na(x), "null", sprintf("%.17g", x)), collapse = ", "), "]")
one <- function(x) if (is.null(x) || length(x) == 0 || is.na(x)) "null" else sprintf("%.17g", x)
txt <- function(x) paste0("[", paste0('"', x, '"', collapse = ", "), "]")
tight <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
col <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.colditz1994)
bd <- dat.bangertdrowns2004
ra <- dat.raudenbush1985
# name, data, formula, the moderator columns (as our design builder takes them), factors
cases <- list(
  list("bcg_ablat", bcg, ~ ablat, c("ablat"), c()),
  list("bcg_ablat_year", bcg, ~ ablat + year, c("ablat", "year"), c()),
  list("bcg_alloc", bcg, ~ alloc, c("alloc"), c()),
  list("bcg_ablat_alloc", bcg, ~ ablat + alloc, c("ablat", "alloc"), c()),
  list("colditz_year", col, ~ year, c("year"), c()),
  list("bangertdrowns_grade", bd, ~ factor(grade), c("grade"), c("grade")),
  list("bangertdrowns_length_wic", bd, ~ length + wic, c("length", "wic"), c()),
  list("raudenbush_weeks", ra, ~ weeks, c("weeks"), c()),
  list("raudenbush_weeks_tester", ra, ~ weeks + tester, c("weeks", "tester"), c())
)
out <- c()
for (cs in cases) {
  name <- cs[[1]]; d <- cs[[2]]; f <- cs[[3]]; mods <- cs[[4]]; factors <- cs[[5]]
  d <- d[complete.cases(as.data.frame(d)[, c("yi", "vi", mods)]), ]
  cols <- paste(sapply(mods, function(m) {
    x <- d[[m]]
    sprintf('"%s": %s', m, if (is.numeric(x)) num(x) else txt(x))
  }), collapse = ", ")
  fits <- c()
  for (method in c("FE", "DL", "PM", "REML", "ML", "HE", "SJ", "EB")) {
    for (test in c("z", "knha")) {
      m <- rma(yi, vi, mods = f, data = d, method = method, test = test, control = tight)
      p <- length(m$beta)
      ci <- if (method == "FE") NULL else
        tryCatch(confint(m, control = list(tol = 1e-12))$random, error = function(e) NULL)
      X <- model.matrix(m)
      pr <- predict(m, newmods = X[1:3, -1, drop = FALSE])
      btt <- if (p >= 3) {
        mb <- rma(yi, vi, mods = f, data = d, method = method, test = test, control = tight, btt = 3:p)
        sprintf(', "btt": %s, "btt_qm": %.17g, "btt_qm_p": %.17g', num(3:p), mb$QM, mb$QMp)
      } else ""
      fits <- c(fits, sprintf(paste0(
        '"%s_%s": {"terms": %s, "b": %s, "se": %s, "zval": %s, "pval": %s, "ci_lb": %s, "ci_ub": %s, ',
        '"tau2": %.17g, "tau2_lb": %s, "tau2_ub": %s, "QE": %.17g, "QEp": %.17g, "QE_df": %d, ',
        '"QM": %.17g, "QMp": %.17g, "QMdf": %s, "I2": %s, "H2": %s, "R2": %s, ',
        '"pred": %s, "pred_se": %s, "pred_lb": %s, "pred_ub": %s, "pi_lb": %s, "pi_ub": %s%s}'),
        method, test, txt(rownames(m$beta)), num(m$beta), num(m$se), num(m$zval), num(m$pval),
        num(m$ci.lb), num(m$ci.ub), m$tau2,
        if (is.null(ci)) "null" else one(ci["tau^2", "ci.lb"]),
        if (is.null(ci)) "null" else one(ci["tau^2", "ci.ub"]),
        m$QE, m$QEp, m$k - p, m$QM, m$QMp, num(m$QMdf), one(m$I2), one(m$H2), one(m$R2),
        num(pr$pred), num(pr$se), num(pr$ci.lb), num(pr$ci.ub), num(pr$pi.lb), num(pr$pi.ub), btt))
    }
  }
  out <- c(out, sprintf('"%s": {"yi": %s, "vi": %s, "mods": [%s], "factors": %s, "columns": {%s}, "fits": {%s}}',
                        name, num(d$yi), num(d$vi), paste0('"', mods, '"', collapse = ", "),
                        if (length(factors)) txt(factors) else "[]", cols, paste(fits, collapse = ", ")))
}
writeLines(c("{", paste(out, collapse = ",\n"), "}"), "tests/data/metafor_regression/refs.json")
# Subgroups -> tests/data/metafor_regression/subgroups.json: a fit per subgroup, the test of
# subgroup differences with separate tau2 (an FE meta-analysis of the subgroup estimates:
# its Q on G - 1 df) and with a common tau2 (the factor moderator's QM).
sub <- list(list("bcg_alloc", bcg, "alloc"), list("bangertdrowns_grade", bd, "grade"))
out <- c()
for (cs in sub) {
  name <- cs[[1]]; d <- cs[[2]]; g <- cs[[3]]
  d <- d[!is.na(d[[g]]), ]
  fits <- c()
  for (method in c("DL", "REML")) {
    for (test in c("z", "knha")) {
      parts <- split(d, d[[g]])
      res <- lapply(parts, function(x) rma(yi, vi, data = x, method = method, test = test, control = tight))
      est <- sapply(res, function(r) as.numeric(r$beta)); se <- sapply(res, function(r) r$se)
      qb <- rma(est, sei = se, method = "FE")
      common <- rma(yi, vi, mods = as.formula(paste0("~ factor(", g, ")")), data = d, method = method,
                    test = test, control = tight)
      fits <- c(fits, sprintf(paste0('"%s_%s": {"groups": %s, "k": %s, "b": %s, "se": %s, "ci_lb": %s, ',
                                     '"ci_ub": %s, "tau2": %s, "qb": %.17g, "qb_df": %d, "qb_p": %.17g, ',
                                     '"common_qm": %.17g, "common_qm_p": %.17g, "common_qm_df": %s}'),
                              method, test, txt(names(parts)), num(sapply(res, function(r) r$k)), num(est),
                              num(se), num(sapply(res, function(r) r$ci.lb)), num(sapply(res, function(r) r$ci.ub)),
                              num(sapply(res, function(r) r$tau2)), qb$QE, qb$k - 1, qb$QEp, common$QM,
                              common$QMp, num(common$QMdf)))
    }
  }
  col <- d[[g]]
  out <- c(out, sprintf('"%s": {"yi": %s, "vi": %s, "column": "%s", "values": %s, "fits": {%s}}', name,
                        num(d$yi), num(d$vi), g, if (is.numeric(col)) num(col) else txt(col),
                        paste(fits, collapse = ", ")))
}
writeLines(c("{", paste(out, collapse = ",\n"), "}"), "tests/data/metafor_regression/subgroups.json")
# Exact permutation tests -> tests/data/metafor_regression/permutest.json: permutest(exact =
# TRUE) on models small enough to enumerate (metafor counts distinct arrangements of the
# design's rows, so tied rows - a factor - need fewer).
perm <- list(list("bcg6_ablat", bcg[1:6, ], ~ ablat, c("ablat"), c()),
             list("raudenbush7_weeks", ra[1:7, ], ~ weeks, c("weeks"), c()),
             list("bcg9_alloc", bcg[1:9, ], ~ alloc, c("alloc"), c()))
out <- c()
for (cs in perm) {
  name <- cs[[1]]; d <- cs[[2]]; f <- cs[[3]]; mods <- cs[[4]]
  cols <- paste(sapply(mods, function(m) {
    x <- d[[m]]
    sprintf('"%s": %s', m, if (is.numeric(x)) num(x) else txt(x))
  }), collapse = ", ")
  fits <- c()
  for (method in c("DL", "REML")) {
    for (test in c("z", "knha")) {
      m <- rma(yi, vi, mods = f, data = d, method = method, test = test, control = tight)
      pt <- permutest(m, exact = TRUE, progbar = FALSE, control = list(tol = 1e-12))
      fits <- c(fits, sprintf('"%s_%s": {"pval": %s, "QMp": %.17g, "iter": %d}', method, test,
                              num(pt$pval), pt$QMp, pt$exact.iter))
    }
  }
  out <- c(out, sprintf('"%s": {"yi": %s, "vi": %s, "mods": [%s], "columns": {%s}, "fits": {%s}}',
                        name, num(d$yi), num(d$vi), paste0('"', mods, '"', collapse = ", "), cols,
                        paste(fits, collapse = ", ")))
}
writeLines(c("{", paste(out, collapse = ",\n"), "}"), "tests/data/metafor_regression/permutest.json")
# Fit statistics and likelihood-ratio tests -> tests/data/metafor_regression/lrt.json:
# fitstats() (ML and REML log-likelihood, deviance, AIC, BIC, AICc) of every method's fit, and
# anova(full, reduced) between nested ML fits (and REML fits with the same fixed effects are
# not nested in the moderators: not compared).
pairs <- list(list("bcg", bcg, ~ ablat + year, ~ ablat, c("ablat", "year"), c("ablat")),
              list("bcg_int", bcg, ~ ablat, ~ 1, c("ablat"), c()),
              list("raudenbush", ra, ~ weeks + tester, ~ weeks, c("weeks", "tester"), c("weeks")))
out <- c()
for (cs in pairs) {
  name <- cs[[1]]; d <- cs[[2]]
  cols <- paste(sapply(cs[[5]], function(m) {
    x <- d[[m]]
    sprintf('"%s": %s', m, if (is.numeric(x)) num(x) else txt(x))
  }), collapse = ", ")
  fits <- c()
  for (method in c("ML", "REML", "DL", "FE")) {
    full <- rma(yi, vi, mods = cs[[3]], data = d, method = method, control = tight)
    red <- rma(yi, vi, mods = cs[[4]], data = d, method = method, control = tight)
    fs <- function(m, col) num(fitstats(m, REML = col == "REML"))
    lrt <- if (method %in% c("ML", "FE")) {
      a <- anova(full, red)
      sprintf(', "lrt": %.17g, "lrt_p": %.17g, "df": %d', a$LRT, a$pval, a$parms.f - a$parms.r)
    } else ""
    fits <- c(fits, sprintf('"%s": {"full_ml": %s, "full_reml": %s, "reduced_ml": %s, "reduced_reml": %s%s}',
                            method, fs(full, "ML"), fs(full, "REML"), fs(red, "ML"), fs(red, "REML"), lrt))
  }
  out <- c(out, sprintf('"%s": {"yi": %s, "vi": %s, "full": [%s], "reduced": [%s], "columns": {%s}, "fits": {%s}}',
                        name, num(d$yi), num(d$vi), paste0('"', cs[[5]], '"', collapse = ", "),
                        if (length(cs[[6]])) paste0('"', cs[[6]], '"', collapse = ", ") else "",
                        cols, paste(fits, collapse = ", ")))
}
writeLines(c("{", paste(out, collapse = ",\n"), "}"), "tests/data/metafor_regression/lrt.json")
