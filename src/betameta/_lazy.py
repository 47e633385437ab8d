"""Names of a package loaded on first use (PEP 562), so importing it imports nothing heavy."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_names(package: str, names: dict[str, str], public: list[str],
               space: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``.

    Each name in ``names`` comes from the submodule it maps to (a name mapped to itself is the submodule),
    cached in ``space`` (the package's globals) on first use.
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f".{names[name]}", package)
        value = module if names[name] == name else getattr(module, name)
        space[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(space) | set(public))

    return __getattr__, __dir__
