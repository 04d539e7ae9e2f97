"""Metrics of the spike detector. The Prometheus rules are written against these names.

Built against a registry passed in (``DetectorMetrics.create``); the worker serves them with the
pipeline's, and a test reads them on a fresh ``CollectorRegistry``.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge

from alerts.detector import Observation
from common.metrics import BoundedLabel, label_value
from common.records import Alert

ZSCORE = "tapewatch_detector_zscore"
NEGATIVE_RATIO = "tapewatch_detector_negative_ratio"
DOCUMENTS = "tapewatch_detector_documents"
AUTHORS = "tapewatch_detector_authors"
NEGATIVE_AUTHORS = "tapewatch_detector_negative_authors"
EMERGENCE = "tapewatch_entity_emergence"
HISTORY = "tapewatch_entity_history"
ENTITY_INFO = "tapewatch_entity_info"  # exported with the windows' gauges (``stream/pipeline/metrics.py``)
MAX_ENTITY_SERIES = 500  # entity keys with gauges at once; the least recently on the rise go first


@dataclass(frozen=True)
class DetectorMetrics:
    zscore: Gauge
    negative_ratio: Gauge
    documents: Gauge
    authors: Gauge
    negative_authors: Gauge
    baseline: Gauge
    emergence: Gauge
    history: Gauge
    events: Counter
    keys: Gauge  # per keyed partition: the keys the horizons remember (bounded by max_keys)
    key_label: BoundedLabel  # shared with the window gauges, so a key is "other" in both or neither
    entity_series: OrderedDict[tuple[str, str], None] = field(default_factory=OrderedDict)
    # per series, its child of each gauge: ``labels()`` costs more than the ``set`` it precedes
    children: dict[tuple[str, str, bool], tuple[Gauge, ...]] = field(default_factory=dict)

    @classmethod
    def create(cls, registry: CollectorRegistry, key_label: BoundedLabel) -> DetectorMetrics:
        def gauge(name: str, help_text: str) -> Gauge:
            return Gauge(name, help_text, ["key", "horizon"], registry=registry)

        return cls(
            zscore=gauge(ZSCORE, "z-score of the key's negative share over the horizon against its baseline"),
            negative_ratio=gauge(NEGATIVE_RATIO, "Negative share of the documents over the horizon"),
            documents=gauge(DOCUMENTS, "Documents over the horizon"),
            authors=gauge(AUTHORS, "Distinct authors over the horizon"),
            negative_authors=gauge(
                NEGATIVE_AUTHORS, "Distinct authors of negative documents over the horizon"
            ),
            baseline=gauge(
                "tapewatch_detector_baseline", "The key's baseline negative share for the horizon"
            ),
            emergence=gauge(
                EMERGENCE,
                "z-score of an entity's authors over the horizon against its own rate (an emerging story); "
                "exported while above 0",
            ),
            history=gauge(
                HISTORY,
                "Distinct authors an entity had before its longest horizon (fading): an emerging story "
                "must outnumber them",
            ),
            events=Counter(
                "tapewatch_alert_events_total",
                "Spike events published to the alerts topic",
                ["severity", "state", "horizon"],
                registry=registry,
            ),
            keys=Gauge(
                "tapewatch_detector_keys",
                "Keys whose horizons a keyed partition remembers (at most TAPEWATCH_ALERT_MAX_KEYS)",
                ["partition"],
                registry=registry,
            ),
            key_label=key_label,
        )

    def export_latest(self, observations: Iterable[Observation]) -> None:
        """Every event counted; the gauges set from each series' latest observation only. A scrape sees
        a gauge's last value, so a history going by at full speed need not set it at every window end."""
        latest: dict[tuple[str, str], Observation] = {}
        for observation in observations:
            if observation.event is not None:
                self._count(observation.event)
            series = (observation.key, observation.horizon)
            latest.pop(series, None)  # re-inserted: the order is that of the last observation
            latest[series] = observation
        for observation in latest.values():
            self._set(observation)

    def export(self, observation: Observation) -> None:
        """The horizon's numbers as gauges. An entity has series only while it is on the rise (emergence
        or the share's z-score at least 1: a ticker's share spike must hold for the rules' ``for:``, and
        in the detector's warm-up its emergence reads 0) or has an event, and at most
        ``MAX_ENTITY_SERIES`` of them: there is no end to names."""
        self.export_latest([observation])

    def _count(self, event: Alert) -> None:
        self.events.labels(severity=event.severity, state=event.state, horizon=event.horizon).inc()

    def _set(self, observation: Observation) -> None:
        series = (label_value(observation.key), observation.horizon)
        if observation.emergence is not None:
            if observation.event is None and max(observation.emergence, observation.zscore) < 1:
                self._drop(series)
                return
            self.entity_series[series] = None
            self.entity_series.move_to_end(series)
            while len(self.entity_series) > MAX_ENTITY_SERIES:
                self._drop(next(iter(self.entity_series)))
            values = [observation.emergence, observation.history or 0.0]
        else:
            series = (self.key_label(observation.key), observation.horizon)
            values = []
        window = observation.window
        values += [window.count, window.authors, window.negative_authors, window.negative_ratio,
                   observation.baseline, observation.zscore]  # fmt: skip
        entity = observation.emergence is not None
        children = self.children.get((*series, entity))
        if children is None:
            gauges = [self.emergence, self.history] if entity else []
            gauges += [self.documents, self.authors, self.negative_authors, self.negative_ratio,
                       self.baseline, self.zscore]  # fmt: skip
            children = self.children[(*series, entity)] = tuple(gauge.labels(*series) for gauge in gauges)
        for child, value in zip(children, values, strict=True):
            child.set(value)

    def _drop(self, series: tuple[str, str]) -> None:
        if series in self.entity_series:
            del self.entity_series[series]
            self.children.pop((*series, True), None)
            for gauge in self.gauges:
                with contextlib.suppress(KeyError):
                    gauge.remove(*series)

    @property
    def gauges(self) -> list[Gauge]:
        return [self.zscore, self.negative_ratio, self.documents, self.authors, self.negative_authors,
                self.baseline, self.emergence, self.history]  # fmt: skip
