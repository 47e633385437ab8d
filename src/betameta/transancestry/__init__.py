"""Trans-ancestry meta-analysis with a partition model (MANTRA-style), computed exactly."""

from .distances import distances_from_frequencies, read_distances
from .model import TransAncestry, transancestry, transancestry_arrays
from .partitions import enumerate_partitions
from .priors import parse_tau2_prior

__all__ = [
    "TransAncestry",
    "distances_from_frequencies",
    "enumerate_partitions",
    "parse_tau2_prior",
    "read_distances",
    "transancestry",
    "transancestry_arrays",
]
