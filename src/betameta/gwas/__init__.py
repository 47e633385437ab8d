"""Genome-wide meta-analysis: summary statistics in, per-variant results out."""

from .harmonise import Harmonised, harmonise
from .io import read_sumstats
from .run import GwasRun, run_gwas

__all__ = ["GwasRun", "Harmonised", "harmonise", "read_sumstats", "run_gwas"]
