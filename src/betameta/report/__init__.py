"""Self-contained HTML reports (plots inline as SVG/PNG data; no network needed)."""

from .gwas_report import gwas_report
from .meta_report import meta_report

__all__ = ["gwas_report", "meta_report"]
