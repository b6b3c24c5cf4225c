"""Test configuration: Triton's interpreter on machines without CUDA, data location, seeds."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

# NOTE: TRITON_INTERPRET must be set before anything imports triton.
if (
    shutil.which("nvidia-smi") is None
    or subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode != 0
):
    os.environ.setdefault("TRITON_INTERPRET", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tests.helpers import data_dir  # noqa: E402


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, seeded NumPy generator per test."""
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or ``$GRAMFAST_DATA``); skips the test when it is absent."""
    path = data_dir()
    if path is None:
        pytest.skip("shared data not found: set GRAMFAST_DATA to the folder with corpus/ etc.")
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
