"""Shared fixtures: the conformance vectors and a real node behind a real HTTP server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import RunningNode, start_node

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """The vendored conformance vectors, ``tests/vectors`` (or ``$AMCHAIN_VECTORS``)."""
    path = Path(os.environ.get("AMCHAIN_VECTORS", REPO / "tests" / "vectors"))
    if not path.is_dir():
        pytest.fail(f"conformance vectors not found at {path} (see tests/vectors/README.md)")
    return path


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """A development chain served over HTTP on a free loopback port (one per test module)."""
    with start_node(tmp_path_factory.mktemp("node")) as running:
        yield running
