"""Trans-ancestry meta-analysis with a partition model (MANTRA-style), computed exactly."""

from ..kernels.partition import PartitionArrays, partition_arrays
from .distances import distances_from_frequencies, read_distances
from .model import TransAncestry, transancestry
from .partitions import enumerate_partitions
from .priors import parse_tau2_prior

__all__ = [
    "PartitionArrays",
    "TransAncestry",
    "distances_from_frequencies",
    "enumerate_partitions",
    "parse_tau2_prior",
    "partition_arrays",
    "read_distances",
    "transancestry",
]
