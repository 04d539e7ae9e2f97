from __future__ import annotations

from stream.metrics import OTHER, BoundedLabel


def test_bounded_label_caps_distinct_values() -> None:
    label = BoundedLabel(limit=2)
    assert [label(v) for v in ["a", "b", "c", "a", "d", "b"]] == ["a", "b", OTHER, "a", OTHER, "b"]


def test_settings_read_prefixed_environment(monkeypatch) -> None:
    from stream.settings import StreamSettings

    monkeypatch.setenv("TAPEWATCH_BROKER_URL", "k1:9092, k2:9092")
    monkeypatch.setenv("TAPEWATCH_TOPIC_PARTITIONS", "12")
    settings = StreamSettings()
    assert settings.bootstrap_servers == ["k1:9092", "k2:9092"]
    assert settings.topic_partitions == 12
