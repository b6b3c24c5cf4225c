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


SLICE_SENTENCES = 2000


@pytest.fixture(scope="session")
def corpus_slice(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 2,000 lines (sentences) of the Brown corpus as a text file."""
    src = shared_data / "corpus" / "nltk_brown" / "brown.txt"
    if not src.is_file():
        pytest.skip(f"{src} not found")
    path = tmp_path_factory.mktemp("slice") / "brown2000.txt"
    with open(src, encoding="utf-8") as f:
        path.write_text("".join(next(f) for _ in range(SLICE_SENTENCES)), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def corpus_slice_store(corpus_slice: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The slice parsed once per session by the real English pipeline (several shards)."""
    from gramfast.corpus.parse import ParseConfig, parse

    out = tmp_path_factory.mktemp("stores") / "brown2000.store"
    parse(ParseConfig(inputs=(str(corpus_slice),), out=out, shard_size=15_000))
    return out


@pytest.fixture(scope="session")
def ewt_dev(shared_data: Path) -> Path:
    path = shared_data / "treebank" / "UD_English-EWT" / "en_ewt-ud-dev.conllu"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path
