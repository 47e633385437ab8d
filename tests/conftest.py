"""Shared fixtures: the metafor reference cases copied from ../shared/refs/metafor/cases.

Each JSON file records metafor 3.8-1 output (R 4.2.2) for one real dataset; see
tests/data/README.md for how they were made.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).parent / "data"
CASES = sorted(p.stem for p in DATA.glob("*.json"))


def load_case(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


@pytest.fixture(scope="session")
def lecture_frame() -> pd.DataFrame:
    """The lecture's six trials as shipped in examples/lecture.csv."""
    return pd.read_csv(Path(__file__).parents[1] / "examples" / "lecture.csv")
