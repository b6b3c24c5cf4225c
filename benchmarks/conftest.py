"""Benchmark configuration: the shared shape table, environment info, no timing in plain runs.

``pytest --benchmark-only`` (from the repository root) runs every ``bench_*.py``; a plain
``pytest`` run skips them, so the test suite spends no time on benchmarks. A benchmark that takes
a ``shape`` argument is parametrised over ``SHAPES`` (the one table of sizes).
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Shape:
    """One benchmark size: D (dim), K (negatives per pair) and the window for corpus pairs."""

    dim: int
    n_neg: int
    window: int = 5

    @property
    def id(self) -> str:
        return f"D{self.dim}-K{self.n_neg}"


SHAPES: tuple[Shape, ...] = (Shape(dim=300, n_neg=5), Shape(dim=300, n_neg=15))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "shape" in metafunc.fixturenames:
        metafunc.parametrize("shape", SHAPES, ids=[s.id for s in SHAPES])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("benchmark_only", default=False):
        return
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason="benchmarks run with `pytest --benchmark-only`")
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@pytest.fixture(scope="session")
def env_info() -> dict[str, str | int]:
    """CPU, core count and library versions, for ``benchmark.extra_info``."""
    info: dict[str, str | int] = {"cpu": _cpu_name(), "cores": os.cpu_count() or 1}
    for name in ("numpy", "numba", "torch", "triton", "gensim"):
        try:
            info[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info[name] = "absent"
    return info
