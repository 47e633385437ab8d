"""Every public name's docstring, checked by numpydoc's own validator (issue 19).

The public API is what the reference pages document: each module named by an ``automodule``
line under ``docs/api/`` and the functions and classes its ``__all__`` lists (or the
``:members:`` the page chooses), with every public method defined in those classes. Each
must have every parameter documented (and none that does not exist), a Returns section, an
Examples section (run by the doctests), known sections in numpydoc's order and a summary;
for a class the Parameters are its fields. A second test keeps the reference complete: a
name in any module's ``__all__`` is public and must be on a page.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from conftest import require_module

DOCS_API = Path(__file__).resolve().parents[1] / "docs" / "api"

#: What a complete docstring must not lack: PR01 a parameter undocumented, PR02 a documented
#: parameter that does not exist, RT01 no Returns, EX01 no Examples, GL06 an unknown section,
#: GL07 sections out of order, SS01 no summary.
REQUIRED = {"PR01", "PR02", "RT01", "EX01", "GL06", "GL07", "SS01"}
_AUTOMODULE = re.compile(r"^\.\. automodule:: (\S+)\n((?:   :\w+:.*\n)*)", re.M)


def documented_modules() -> dict[str, list[str] | None]:
    """Each module on a reference page, with the members the page names (None: its __all__)."""
    modules: dict[str, list[str] | None] = {}
    for page in sorted(DOCS_API.glob("*.rst")):
        for name, options in _AUTOMODULE.findall(page.read_text()):
            members = re.search(r":members: (.+)", options)
            modules[name] = [m.strip() for m in members.group(1).split(",")] if members else None
    return modules


def public_names() -> list[str]:
    """Every documented function, class and public method, by the module that defines it."""
    names: dict[str, None] = {}
    for module, members in documented_modules().items():
        mod = importlib.import_module(module)
        for attr in members if members is not None else getattr(mod, "__all__", []):
            obj = getattr(mod, attr)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue  # constants and type aliases are documented by their comments
            home = f"{obj.__module__}.{obj.__qualname__}"
            names[home] = None
            if inspect.isclass(obj):
                for method, value in vars(obj).items():
                    if isinstance(value, (staticmethod, classmethod)):
                        value = value.__func__
                    if not method.startswith("_") and inspect.isfunction(value):
                        names[f"{home}.{method}"] = None
    return list(names)


PUBLIC = public_names()


def test_the_census_covers_the_api():
    # Guards the enumeration itself: it must find the entry points a user starts from (a
    # broken page parser would otherwise make the test below pass vacuously).
    assert len(PUBLIC) > 250
    for name in ("betameta.classical.meta_analysis", "betameta.classical.MetaAnalysis.summary",
                 "betameta.gwas.run.run_gwas", "betameta.mcmc.growth.fit_growth",
                 "betameta.transancestry.partitions.partitions_of"):
        assert name in PUBLIC


@pytest.mark.parametrize("name", PUBLIC)
def test_docstring_is_complete(name):
    validate = require_module("numpydoc.validate").validate
    errors = [(code, message) for code, message in validate(name)["errors"] if code in REQUIRED]
    assert errors == []


def test_every_name_in_an_all_is_on_a_reference_page():
    # A module's __all__ makes its names public; each must be documented where it is defined
    # or where it is re-exported (betameta.gwas lists what betameta.gwas.run defines).
    import betameta

    documented = set(PUBLIC)
    missing = []
    for info in pkgutil.walk_packages(betameta.__path__, "betameta."):
        parts = info.name.split(".")[1:]
        if any(p.startswith("_") for p in parts) or parts[0] == "cli":
            continue  # private modules, and the command line (documented by its --help)
        module = importlib.import_module(info.name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                home = f"{obj.__module__}.{obj.__qualname__}"
                if home not in documented:
                    missing.append(f"{info.name}.{attr}")
    assert missing == []
