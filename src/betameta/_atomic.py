"""Atomic file writes: write under a temporary name in the same folder, then rename."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError


def check_folder(path: Path) -> None:
    """Refuse an output ``path`` whose folder does not exist, naming both (not a temporary file)."""
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: the folder {path.parent} does not exist")


def temp_name(path: Path) -> Path:
    """Return a hidden sibling of ``path`` unique to this process (rename is atomic on one filesystem)."""
    check_folder(path)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` so that ``path`` is either absent, the old file, or complete."""
    path = Path(path)
    tmp = temp_name(path)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
