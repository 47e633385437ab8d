"""Reading METAL's MARKER column: the compiled split against the rules written out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from betameta.errors import InputError
from betameta.gwas import io
from betameta.gwas.io import read_sumstats

# (marker, chromosome as read, position): the text before the first ':' (chr prefix dropped,
# upper case, 23 read as X), the position up to the next ':' as pandas' to_numeric reads it.
CASES = [
    ("1:100", "1", 100.0),
    ("chr2:200:A:G", "2", 200.0),
    ("X:300_A_G", "X", np.nan),
    ("23:400", "X", 400.0),
    ("1:1e3", "1", 1000.0),
    ("1:abc", "1", np.nan),
    ("1:", "1", np.nan),
    ("rs7", "RS7", np.nan),
    ("chrY:12345678901", "Y", 12345678901.0),
    ("1: 500", "1", 500.0),
    (None, None, np.nan),
]


def _metal(path, markers):
    n = len(markers)
    pd.DataFrame({"MARKER": markers, "Allele1": ["a"] * n, "Allele2": ["g"] * n,
                  "Effect": [0.1] * n, "StdErr": [0.02] * n}).to_csv(path, sep="\t", index=False)
    return path


@pytest.mark.parametrize("limit", [4096, 1])  # compiled split; the regular-expression fallback
def test_markers_split_as_written(tmp_path, monkeypatch, limit):
    monkeypatch.setattr(io, "_MAX_CHROMOSOMES", limit)
    d = read_sumstats(_metal(tmp_path / "m.tsv", [c[0] for c in CASES]))
    chromosome = [None if pd.isna(c) else c for c in d["chromosome"]]
    assert chromosome == [c[1] for c in CASES]
    np.testing.assert_array_equal(d["base_pair_location"], [c[2] for c in CASES])


def test_markers_over_many_blocks_and_chromosomes(tmp_path, monkeypatch):
    # Blocks of a few rows each (the reader's block size shrunk), 60 distinct chromosome
    # names against a limit of 50 per block: both paths in one file, one categorical.
    rng = np.random.default_rng(3)
    names = [f"c{i}" for i in range(60)]
    chrom = rng.choice(names, 3000)
    pos = rng.integers(1, 10**9, 3000)
    monkeypatch.setattr(io, "_MAX_CHROMOSOMES", 50)
    original = io.pacsv.ReadOptions
    monkeypatch.setattr(io.pacsv, "ReadOptions", lambda **kw: original(**(kw | {"block_size": 4096})))
    d = read_sumstats(_metal(tmp_path / "m.tsv", [f"{c}:{p}" for c, p in zip(chrom, pos, strict=True)]))
    assert d["chromosome"].astype(str).tolist() == [c.upper() for c in chrom]
    np.testing.assert_array_equal(d["base_pair_location"], pos.astype(float))


def test_marker_without_colon_is_an_rsid(tmp_path):
    d = read_sumstats(_metal(tmp_path / "m.tsv", ["rs1", "rs2"]))
    assert d["rsid"].tolist() == ["rs1", "rs2"] and "chromosome" not in d


def test_negative_marker_position_names_the_row(tmp_path):
    with pytest.raises(InputError, match="row 2, column 'MARKER'"):
        read_sumstats(_metal(tmp_path / "m.tsv", ["1:5", "1:-5"]))


def test_quoted_header_and_values_as_r_writes_them(tmp_path):
    # R's write.table(quote = TRUE) quotes every name and text value.
    path = tmp_path / "r.tsv"
    path.write_text('"MARKER"\t"Allele1"\t"Allele2"\t"Effect"\t"StdErr"\n'
                    '"1:100"\t"a"\t"g"\t0.1\t0.02\n"2:200"\t"c"\t"t"\t-0.2\t0.03\n')
    d = read_sumstats(path)
    assert d["chromosome"].astype(str).tolist() == ["1", "2"]
    assert d["base_pair_location"].tolist() == [100.0, 200.0]
    assert d["effect_allele"].astype(str).tolist() == ["A", "C"] and d["beta"].tolist() == [0.1, -0.2]


def test_a_column_named_twice_is_refused(tmp_path):
    """Arrow kept one of two ``beta`` columns without a word; which one is meant cannot be known.
    (Empty names from doubled separators in a space-separated header are not names.)"""
    path = tmp_path / "dup.tsv"
    path.write_text("chromosome\tbase_pair_location\teffect_allele\tother_allele\tbeta\tbeta\t"
                    "standard_error\tp_value\n1\t100\tA\tG\t0.1\t0.2\t0.05\t0.04\n")
    with pytest.raises(InputError, match=r"column 'beta' appears more than once .*\(columns 5, 6\)"):
        read_sumstats(path)


def test_two_columns_that_could_each_be_one_field_are_refused(tmp_path):
    """``beta`` and ``Effect`` (METAL's name) in one file: the first alias was taken without a
    word. Refused, unless the user says which (``columns=``, ``--column STUDY:beta=COL``)."""
    path = tmp_path / "two.tsv"
    path.write_text("chromosome\tbase_pair_location\teffect_allele\tother_allele\tbeta\tEffect\t"
                    "standard_error\tp_value\n1\t100\tA\tG\t0.1\t0.2\t0.05\t0.04\n")
    with pytest.raises(InputError, match="columns 'beta' and 'Effect' could each be beta; choose one with "
                                         "--column STUDY:beta=COL"):
        read_sumstats(path)
    assert read_sumstats(path, columns={"beta": "Effect"})["beta"].tolist() == [0.2]
