# References for tests/test_metafor_extra.py (metafor 3.8-1, R 4.2.2, Debian bookworm):
#   Rscript tests/data/make_metafor_extra.R   (from the repository root)
# 1. escalc(measure = "RD") with zero cells (its default add = 1/2, to = "only0").
# 2. regtest() on Knapp-Hartung fits (test = "knha"): t on k - 2 df.
# 3. rma.mh() and rma.peto(); 4. trimfill(estimator = "R0"); 5. fsn(); 6. influence(); 7. regtest() predictors;
# 8. cumul() and leave1out(); 9. baujat(); 10. gosh();
# 11. escalc() of the measures added for issue 16 (below); 12. PET-PEESE's two regressions;
# 13. escalc's add/to/drop00 options; 14. rma.mh for IRR and IRD; 15. selmodel (own file).
# (selmodel(type = "beta"): tests/data/make_metafor_selmodel_beta.R.)
suppressMessages(library(metafor))
num <- function(x) paste0("[", paste(ifelse(is.na(x), "null", sprintf("%.17g", x)), collapse = ", "), "]")
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
# 3. rma.mh (OR, RR, RD) and rma.peto on the BCG trials and on Yusuf et al.'s table 6
#    (sparse: zero cells and double-zero trials).

y6 <- subset(dat.yusuf1985, table == "6" & !is.na(ai))
sets <- list(bcg = with(dat.bcg, rbind(tpos, tneg, cpos, cneg)),
             yusuf6 = with(y6, rbind(ai, n1i - ai, ci, n2i - ci)))
out2 <- c()
for (nm in names(sets)) {
  t <- sets[[nm]]
  fits <- list(MH_OR = rma.mh(measure = "OR", ai = t[1, ], bi = t[2, ], ci = t[3, ], di = t[4, ]),
               MH_RR = rma.mh(measure = "RR", ai = t[1, ], bi = t[2, ], ci = t[3, ], di = t[4, ]),
               MH_RD = rma.mh(measure = "RD", ai = t[1, ], bi = t[2, ], ci = t[3, ], di = t[4, ]),
               PETO = rma.peto(ai = t[1, ], bi = t[2, ], ci = t[3, ], di = t[4, ]))
  for (fn in names(fits)) {
    f <- fits[[fn]]
    extra <- if (fn == "MH_OR") sprintf(', "cmh": %.17g, "cmh_p": %.17g, "tarone": %.17g, "tarone_p": %.17g',
                                        f$MH, f$MHp, f$TA, f$TAp) else ""
    out2 <- c(out2, sprintf('"%s_%s": {"tables": [%s, %s, %s, %s], "b": %.17g, "se": %.17g, "z": %.17g, "p": %.17g, "q": %.17g, "q_p": %.17g, "i2": %.17g, "h2": %.17g%s}',
                            nm, fn, num(t[1, ]), num(t[2, ]), num(t[3, ]), num(t[4, ]), f$b, f$se, f$zval, f$pval,
                            f$QE, f$QEp, f$I2, f$H2, extra))
  }
}
# 4. trimfill(estimator = "R0" and "Q0") (the shared cases hold L0 only), FE and REML (tight control).
out3 <- c()
r0sets <- list(bcg_rr = bcg, hackshaw = dat.hackshaw1998, egger2001 =
                 escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001))
for (nm in names(r0sets)) {
  d <- r0sets[[nm]]
  for (method in c("FE", "REML")) {
    for (est in c("R0", "Q0")) {
      # (Q0 fails inside trimfill where its square root's argument turns negative: left out.)
      tf <- tryCatch(trimfill(rma(yi, vi, data = d, method = method,
                                  control = list(threshold = 1e-15, maxiter = 1000)), estimator = est),
                     error = function(e) NULL)
      if (is.null(tf)) next
      out3 <- c(out3, sprintf('"trimfill_%s_%s_%s": {"yi": %s, "vi": %s, "k0": %d, "se_k0": %.17g, "side": "%s", "estimate": %.17g, "filled_yi": %s}',
                              est, nm, method, num(d$yi), num(d$vi), tf$k0, tf$se.k0, tf$side, tf$beta,
                              if (tf$k0 > 0) num(tail(tf$yi, tf$k0)) else "[]"))
    }
  }
}
# 5. fsn() of every type on the BCG trials (RR) and on Hackshaw et al. (1998).
out4 <- c()
one <- function(x) if (is.na(x)) "null" else sprintf("%.17g", x)  # NA as JSON null
for (nm in c("bcg_rr", "hackshaw")) {
  d <- r0sets[[nm]]
  for (ty in c("Rosenthal", "Orwin", "Rosenberg")) {
    f <- fsn(yi, vi, data = d, type = ty)
    out4 <- c(out4, sprintf('"fsn_%s_%s": {"yi": %s, "vi": %s, "n": %d, "p": %s, "meanes": %s, "target": %s}',
                            nm, ty, num(d$yi), num(d$vi), as.integer(f$fsnum), one(f$pval), one(f$meanes),
                            one(f$target)))
  }
}
# 6. influence() of REML (tight control) and FE fits: BCG (RR), Egger et al. 2001, Hackshaw.
out5 <- c()
for (nm in c("bcg_rr", "egger2001", "hackshaw")) {
  d <- r0sets[[nm]]
  for (method in c("REML", "FE")) {
    inf <- influence(rma(yi, vi, data = d, method = method, control = list(threshold = 1e-15, maxiter = 1000)))
    i <- inf$inf
    out5 <- c(out5, sprintf('"influence_%s_%s": {"yi": %s, "vi": %s, "rstudent": %s, "dffits": %s, "cook_d": %s, "cov_r": %s, "tau2_del": %s, "qe_del": %s, "hat": %s, "weight": %s, "dfbetas": %s, "inf": [%s]}',
                            nm, method, num(d$yi), num(d$vi), num(i$rstudent), num(i$dffits), num(i$cook.d),
                            num(i$cov.r), num(i$tau2.del), num(i$QE.del), num(i$hat), num(i$weight),
                            num(inf$dfbs$intrcpt), paste(ifelse(inf$is.infl, "true", "false"), collapse = ", ")))
  }
}
# 7. regtest() with every predictor, models rma (REML, tight control) and lm, on the BCG trials
#    (sample sizes from the 2x2 tables).
out6 <- c()
bcgn <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
ni <- with(dat.bcg, tpos + tneg + cpos + cneg)
for (pred in c("sei", "vi", "ni", "ninv", "sqrtninv")) {
  for (model in c("rma", "lm")) {
    r <- regtest(rma(bcgn$yi, bcgn$vi, ni = ni, method = "REML",
                     control = list(threshold = 1e-15, maxiter = 1000)), model = model, predictor = pred)
    out6 <- c(out6, sprintf('"regtest_%s_%s": {"ai": %s, "bi": %s, "ci": %s, "di": %s, "stat": %.17g, "p": %.17g, "slope": %.17g, "slope_se": %.17g, "limit": %s}',
                            pred, model, num(dat.bcg$tpos), num(dat.bcg$tneg), num(dat.bcg$cpos), num(dat.bcg$cneg),
                            r$zval, r$pval, coef(r$fit)[2], sqrt(diag(vcov(r$fit)))[2],
                            one(if (is.null(r$est)) NA else r$est)))  # no limit estimate for ni
  }
}
# 8. cumul() ordered by year and leave1out() of REML (tight control) and FE fits on the BCG trials.
out7 <- c()
for (method in c("REML", "FE")) {
  f <- rma(yi, vi, data = bcgn, method = method, control = list(threshold = 1e-15, maxiter = 1000))
  for (what in c("cumul", "leave1out")) {
    r <- if (what == "cumul") cumul(f, order = dat.bcg$year) else leave1out(f)
    out7 <- c(out7, sprintf('"%s_%s": {"yi": %s, "vi": %s, "year": %s, "estimate": %s, "se": %s, "zval": %s, "pval": %s, "ci_lb": %s, "ci_ub": %s, "Q": %s, "Qp": %s, "tau2": %s, "I2": %s, "H2": %s}',
                            what, method, num(bcgn$yi), num(bcgn$vi), num(dat.bcg$year), num(r$estimate), num(r$se),
                            num(r$zval), num(r$pval), num(r$ci.lb), num(r$ci.ub), num(r$Q), num(r$Qp),
                            num(if (is.null(r$tau2)) rep(0, length(r$estimate)) else r$tau2),
                            num(r$I2), num(r$H2)))
  }
}
# 9. baujat() coordinates of a REML fit (tight control).
pdf(NULL)
bj <- baujat(rma(yi, vi, data = bcgn, method = "REML", control = list(threshold = 1e-15, maxiter = 1000)))
out8 <- sprintf('"baujat_bcg": {"yi": %s, "vi": %s, "x": %s, "y": %s}', num(bcgn$yi), num(bcgn$vi), num(bj$x), num(bj$y))
# 10. gosh() of FE and REML fits on the lecture data (k = 6: all 63 subsets).
lec <- read.csv("examples/lecture.csv")
lec <- escalc(measure = "MD", m1i = m1, sd1i = sd1, n1i = n1, m2i = m2, sd2i = sd2, n2i = n2, data = lec)
out9 <- c()
for (method in c("FE", "REML")) {
  g <- gosh(rma(yi, vi, data = lec, method = method, control = list(threshold = 1e-15, maxiter = 1000)))
  code <- as.vector(as.matrix(g$incl) %*% 2^(0:(ncol(g$incl) - 1)))
  out9 <- c(out9, sprintf('"gosh_%s": {"yi": %s, "vi": %s, "code": %s, "estimate": %s, "tau2": %s, "QE": %s, "I2": %s, "H2": %s}',
                          method, num(lec$yi), num(lec$vi), num(code), num(g$res$estimate), num(g$res$tau2),
                          num(g$res$QE), num(g$res$I2), num(g$res$H2)))
}
# 11. escalc() for the measures added in issue 16, with zero counts where a correction applies.
esc <- list(
  PR = list(data.frame(xi = c(0, 3, 10, 12), ni = c(10, 20, 10, 40)), "xi = xi, ni = ni"),
  IR = list(data.frame(xi = c(0, 3, 10), ti = c(100, 50, 80.5)), "xi = xi, ti = ti"),
  IRR = list(data.frame(x1i = c(0, 3, 10), t1i = c(100, 50, 80), x2i = c(2, 0, 7), t2i = c(90, 60, 70.5)),
             "x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i"),
  MN = list(data.frame(mi = c(2.5, 4.1, 0.7), sdi = c(1.1, 2.0, 0.3), ni = c(12, 30, 8)), "mi = mi, sdi = sdi, ni = ni"),
  COR = list(data.frame(ri = c(0.1, -0.45, 0.8), ni = c(20, 35, 12)), "ri = ri, ni = ni"),
  ROM = list(data.frame(m1i = c(2.5, 4.1, 0.7), sd1i = c(1.1, 2.0, 0.3), n1i = c(12, 30, 8),
                        m2i = c(2.0, 5.0, 0.9), sd2i = c(0.9, 2.5, 0.5), n2i = c(10, 28, 9)),
             "m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i"),
  SMC = list(data.frame(m1i = c(10.2, 5.5, 7.1), m2i = c(8.1, 5.9, 6.0), sd1i = c(2.1, 1.5, 3.0),
                        sd2i = c(2.5, 1.2, 2.2), ni = c(20, 15, 9), ri = c(0.5, 0.7, 0.2)),
             "m1i = m1i, m2i = m2i, sd1i = sd1i, sd2i = sd2i, ni = ni, ri = ri"),
  TBL = list(data.frame(ai = c(0, 3, 5), bi = c(10, 7, 15), ci = c(2, 1, 0), di = c(8, 9, 16)),
             "ai = ai, bi = bi, ci = ci, di = di"))
esc$SMD <- list(data.frame(m1i = c(10.2, 5.5, 7.1, 3.0), sd1i = c(2.1, 1.5, 3.0, 0.8), n1i = c(20, 15, 9, 40),
                          m2i = c(8.1, 5.9, 6.0, 2.2), sd2i = c(2.5, 1.2, 2.2, 1.4), n2i = c(22, 14, 12, 35)),
                "m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i")
groups <- list(SMD = c("SMDH", "SMD1"), PR = c("PR", "PLO", "PAS", "PFT"), IR = c("IR", "IRLN", "IRS", "IRFT"),
               IRR = c("IRR", "IRD"), MN = c("MN", "MNLN"), COR = c("COR", "UCOR"), ROM = c("ROM", "CVR", "VR"),
               SMC = c("SMCR", "SMCC"), TBL = "PETO")
out10 <- c()
for (g in names(groups)) {
  d <- esc[[g]][[1]]
  for (m in groups[[g]]) {
    e <- eval(parse(text = sprintf("escalc(measure = '%s', %s, data = d)", m, esc[[g]][[2]])))
    cols <- paste(sprintf('"%s": %s', sub("i$", "", names(d)), sapply(d, num)), collapse = ", ")
    out10 <- c(out10, sprintf('"escalc_%s": {%s, "yi": %s, "vi": %s}', m, cols, num(e$yi), num(e$vi)))
  }
}
# 12. PET and PEESE: regtest(model = "lm") with predictors sei and vi; the limit estimate b0,
#     its CI and its two-sided p from the weighted lm fit (Stanley & Doucouliagos 2014).
out11 <- c()
pp <- list(bcg_rr = bcg, hackshaw = dat.hackshaw1998, egger2001 =
             escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001))
for (nm in names(pp)) {
  d <- pp[[nm]]
  res <- sapply(c("sei", "vi"), function(pred) {
    r <- regtest(rma(yi, vi, data = d, method = "FE"), model = "lm", predictor = pred)
    cf <- coef(summary(r$fit))
    sprintf('"%s": {"est": %.17g, "ci_lb": %.17g, "ci_ub": %.17g, "p": %.17g}',
            c(sei = "pet", vi = "peese")[[pred]], r$est, r$ci.lb, r$ci.ub, cf[1, 4])
  })
  out11 <- c(out11, sprintf('"petpeese_%s": {"yi": %s, "vi": %s, %s}', nm, num(d$yi), num(d$vi),
                            paste(res, collapse = ", ")))
}
# 13. escalc's continuity-correction options (add, to, drop00) for OR, RR and RD on Yusuf et
#     al.'s table 6 (zero cells and double-zero trials): NA where escalc gives NA.
out12 <- c()
for (m in c("OR", "RR", "RD")) {
  for (to in c("all", "only0", "if0all", "none")) {
    for (add in c(0.5, 0.25)) {
      for (d00 in c(FALSE, TRUE)) {
        e <- suppressWarnings(escalc(measure = m, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = y6,
                                     add = add, to = to, drop00 = d00))
        out12 <- c(out12, sprintf('"cc_%s_%s_%g_%s": {"yi": %s, "vi": %s}', m, to, add,
                                  tolower(d00), num(ifelse(is.finite(e$yi), e$yi, NA)),
                                  num(ifelse(is.finite(e$vi), e$vi, NA))))
      }
    }
  }
}
out12 <- c(out12, sprintf('"cc_data_yusuf6": {"ai": %s, "n1": %s, "ci": %s, "n2": %s}', num(y6$ai), num(y6$n1i),
                          num(y6$ci), num(y6$n2i)))
# 14. rma.mh for incidence rates (IRR, IRD) on Nielweise et al. (2008) and on a copy with a
#     zero count and a double-zero study.
out13 <- c()
nw0 <- dat.nielweise2008
nw0$x1i[5] <- 0
nw0$x1i[6] <- 0
nw0$x2i[6] <- 0
for (nm in c("nielweise", "nielweise_zeros")) {
  d <- if (nm == "nielweise") dat.nielweise2008 else nw0
  for (m in c("IRR", "IRD")) {
    f <- rma.mh(measure = m, x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, data = d)
    extra <- if (m == "IRR") sprintf(', "mh": %.17g, "mh_p": %.17g', f$MH, f$MHp) else ""
    out13 <- c(out13, sprintf('"mhrate_%s_%s": {"x1": %s, "t1": %s, "x2": %s, "t2": %s, "b": %.17g, "se": %.17g, "z": %.17g, "p": %.17g, "q": %.17g, "q_p": %.17g, "i2": %.17g, "h2": %.17g, "k": %d%s}',
                              nm, m, num(d$x1i), num(d$t1i), num(d$x2i), num(d$t2i), f$b, f$se, f$zval,
                              f$pval, f$QE, f$QEp, f$I2, f$H2, f$k, extra))
  }
}
writeLines(paste0("{\n", paste(c(out, out2, out3, out4, out5, out6, out7, out8, out9, out10, out11, out12, out13),
                                 collapse = ",\n"), "\n}"),
           "tests/data/metafor_extra/refs.json")
# 15. selmodel(type = "stepfun") on Hackshaw et al. (1998), ML and FE fits, two sets of cut
#     points, metafor's default optimiser -> tests/data/metafor_extra/selmodel.json.
sel <- c()
for (m in c("ML", "FE")) {
  for (st in list(c(0.025, 1), c(0.025, 0.5, 1))) {
    s <- selmodel(rma(yi, vi, data = dat.hackshaw1998, method = m, control = list(threshold = 1e-12,
                  maxiter = 10000)), type = "stepfun", steps = st)
    sel <- c(sel, sprintf('"hackshaw_%s_%d": {"yi": %s, "vi": %s, "steps": %s, "method": "%s", "beta": %.17g, "se": %.17g, "tau2": %.17g, "delta": %s, "se_delta": %s, "lrt": %.17g, "lrt_p": %.17g, "ll": %.17g}',
                          m, length(st), num(dat.hackshaw1998$yi), num(dat.hackshaw1998$vi), num(st), m,
                          s$beta, s$se, s$tau2, num(s$delta), num(s$se.delta), s$LRT, s$LRTp, s$ll))
  }
}
writeLines(c("{", paste(sel, collapse = ",\n"), "}"), "tests/data/metafor_extra/selmodel.json")
