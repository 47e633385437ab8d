"""Sphinx configuration: the API reference from the docstrings (numpydoc), worked analyses as
MyST notebooks executed at every build, warnings as errors (``-W``) and nothing fetched from
the network when a page is read (no MathJax: formulas are written in Unicode)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

project = "betameta"
author = "the betameta developers"
copyright = "2026, the betameta developers"
release = version = "0.1.0"

extensions = ["sphinx.ext.autodoc", "numpydoc", "myst_nb"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]

# The API reference: members as each module's __all__ lists them, in source order.
autodoc_default_options = {"members": True, "member-order": "bysource", "undoc-members": False}
autodoc_typehints = "none"  # the numpydoc Parameters sections say the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# Worked analyses: executed at every build, from the repository root (paths like
# examples/lecture.csv), a failing cell fails the build.
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 600
nb_execution_in_temp = False
nb_execution_allow_errors = False
nb_kernel_rgx_aliases = {".*": "python3"}
myst_enable_extensions = ["colon_fence"]
nb_execution_show_tb = True
nb_output_stderr = "remove-warn"

html_theme = "pydata_sphinx_theme"
html_title = "betameta"
html_theme_options = {"navigation_with_keys": False, "show_prev_next": True,
                      "secondary_sidebar_items": ["page-toc"], "footer_start": ["copyright"],
                      "footer_end": []}
html_static_path: list[str] = []
# A mode the theme's script reads (without one it logs an error in the console).
html_context = {"default_mode": "light"}
# No remote resources: no MathJax, no web fonts from a CDN.
mathjax_path = "_no_mathjax.js"  # never loaded: no page has math (a test checks)
