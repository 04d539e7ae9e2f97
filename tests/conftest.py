"""Shared fixtures: one real embedded broker per test session, isolated settings per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stream.broker import EmbeddedBroker, free_port
from stream.settings import StreamSettings


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """The real Tansu broker on a free loopback port."""
    with EmbeddedBroker() as server:
        yield server


def unique_settings(broker: EmbeddedBroker, directory: Path, **overrides: object) -> StreamSettings:
    """Settings on ``broker`` with a topic namespace and consumer group of their own."""
    unique = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "broker_url": broker.bootstrap,
        "app_id": f"test-{unique}",
        "topic_prefix": f"t{unique}",
        "data_dir": directory / f"data-{unique}",
        "web_port": free_port(),
        **overrides,
    }
    return StreamSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def make_settings(broker: EmbeddedBroker, tmp_path: Path) -> Callable[..., StreamSettings]:
    """Settings on the session broker with a topic namespace and consumer group of the test's own."""

    def make(**overrides: object) -> StreamSettings:
        return unique_settings(broker, tmp_path, **overrides)

    return make


@pytest.fixture(scope="session")
def engine():
    """The committed artifact on the packaged encoder, PyTorch fp32 on CPU."""
    from model_service.engine import InferenceEngine
    from model_service.settings import ModelSettings

    return InferenceEngine.load(ModelSettings(backend="torch", device="cpu"))


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export per test session."""
    return tmp_path_factory.mktemp("onnx-cache")
