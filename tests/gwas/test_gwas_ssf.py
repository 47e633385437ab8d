"""GWAS-SSF output checked by the GWAS Catalog's own validator (gwas-sumstats-tools).

The validator pins old libraries (pandas 1.5, typer 0.7) that cannot live beside
ours, so the test installs it into its own virtual environment with the pins it
needs to start (numpy < 2, click < 8.2, six) and runs its ``gwas-ssf validate``
command on our TSV output.
"""

from __future__ import annotations

import subprocess
import venv

import numpy as np
import pytest

from betameta.gwas import run_gwas
from betameta.gwas.run import p_text
from betameta.gwas.synthetic import generate


def test_p_text_is_exact_where_doubles_underflow():
    assert p_text(np.array([2.0]))[0] == "1e-2"
    assert p_text(np.array([350.5]))[0] == "3.16228e-351"
    assert float(p_text(np.array([3.2]))[0]) == pytest.approx(10**-3.2, rel=1e-6)


@pytest.mark.slow
def test_output_passes_the_gwas_catalog_validator(tmp_path_factory):
    env_dir = tmp_path_factory.mktemp("gst") / "venv"
    venv.create(env_dir, with_pip=True)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q"]
    res = subprocess.run([*pip, "gwas-sumstats-tools==1.0.25", "numpy<2", "click<8.2", "six"],
                         capture_output=True, text=True, timeout=600, check=False)
    if res.returncode != 0:
        pytest.skip(f"gwas-sumstats-tools does not install here: {res.stderr[-300:]}")
    work = tmp_path_factory.mktemp("ssf")
    truth = generate(work / "in", k=3, m=3000, seed=8)
    out = work / "meta.tsv.gz"
    run_gwas(truth.paths, out, methods=("fe", "re", "z2"), progress=False, plots=False)
    check = subprocess.run([str(env_dir / "bin" / "gwas-ssf"), "validate", str(out), "-m", "1000"],
                           capture_output=True, text=True, timeout=600, check=False)
    assert "Validation status: True" in check.stdout, check.stdout[-2000:] + check.stderr[-2000:]
