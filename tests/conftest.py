"""Shared fixtures: one real embedded broker per test session, isolated settings per test, a fresh
metrics registry per test; and the cost markers, derived from what a test uses.

A test that uses the broker, the model or the ONNX export is marked ``integration`` here, so
``make test-fast`` (``-m "not integration and not e2e and not slow and not fuzz"``) can never pick it up
by mistake.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from stream.devstack.broker import EmbeddedBroker
from stream.settings import StreamSettings
from tests.helpers import unique_settings

COSTLY_FIXTURES = {"broker", "make_settings", "engine", "default_engine", "onnx_cache"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if COSTLY_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """The real Tansu broker on a free loopback port."""
    with EmbeddedBroker() as server:
        yield server


@pytest.fixture
def make_settings(broker: EmbeddedBroker, tmp_path: Path) -> Callable[..., StreamSettings]:
    """Settings on the session broker with a topic namespace and consumer group of the test's own."""

    def make(**overrides: object) -> StreamSettings:
        return unique_settings(broker, tmp_path, **overrides)

    return make


@pytest.fixture
def registry() -> CollectorRegistry:
    """A metrics registry of the test's own: values read from it are this test's alone."""
    return CollectorRegistry()


@pytest.fixture(scope="session")
def engine():
    """The committed artifact on the packaged encoder, PyTorch fp32 on CPU."""
    from model_service.engine import InferenceEngine
    from model_service.settings import ModelSettings

    return InferenceEngine.load(ModelSettings(backend="torch", device="cpu"))


@pytest.fixture(scope="session")
def default_engine(onnx_cache: Path):
    """The backend a worker gets on this machine when nothing is configured (ONNX int8 on CPU): what the
    pipeline's labels come from."""
    from model_service.engine import InferenceEngine
    from model_service.settings import ModelSettings

    return InferenceEngine.load(ModelSettings(cache_dir=onnx_cache))


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export per test session."""
    return tmp_path_factory.mktemp("onnx-cache")
