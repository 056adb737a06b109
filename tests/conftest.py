"""Shared fixtures: repository paths and the seed texts."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    if not SEEDS_DIR.is_dir():
        pytest.skip(f"seed texts not found at {SEEDS_DIR}")
    return SEEDS_DIR


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` (minutes each) run only with ANISO_SLOW=1, so that the README's test command stays
    within CI's time; ``ANISO_SLOW=1 .venv/bin/python -m pytest -m slow`` runs them."""
    import os

    if os.environ.get("ANISO_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set ANISO_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
