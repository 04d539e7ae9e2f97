"""Metrics helpers shared by every component."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from common.metrics import OTHER, BoundedLabel, exposition, process_registry


def test_bounded_label_caps_distinct_values() -> None:
    label = BoundedLabel(limit=2)
    assert [label(v) for v in ["a", "b", "c", "a", "d", "b"]] == ["a", "b", OTHER, "a", OTHER, "b"]


def test_each_registry_exposes_only_what_was_created_on_it() -> None:
    first, second = CollectorRegistry(), process_registry()
    Counter("tapewatch_probe_total", "a probe", registry=first).inc(3)
    assert first.get_sample_value("tapewatch_probe_total") == 3
    assert second.get_sample_value("tapewatch_probe_total") is None
    body, content_type = exposition(second)
    assert b"process_cpu_seconds_total" in body and b"tapewatch_probe_total" not in body
    assert content_type.startswith("text/plain")
