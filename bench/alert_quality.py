"""How well the default detector does on the sparse synthetic profile (5 seeds) and the dense demo day.

The whole live chain without the broker: preparation (dedupe, pseudonyms, entities), the committed
model (fp32, CPU), windows, horizons, detector. Prints, per seed, the incidents caught, the horizon
and delay of each, and the alerts that match no incident; the numbers in docs/alerts.md come from it.

    python -m bench.alert_quality [--seeds 1,2,3,4,5] [--days 120]
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from alerts.monitor import SpikeMonitor
from alerts.settings import AlertSettings
from common.records import Alert, Document
from model_service.engine import InferenceEngine
from model_service.settings import ModelSettings
from stream.ingest.sparse import NamedIncident, SparseFeed
from stream.ingest.synthetic import Incident, MarketDay
from stream.prepare.preparer import DocumentPreparer
from stream.replay.run import rescore
from stream.settings import StreamSettings
from stream.windows import replay_windows

DENSE_SPIKES = ["Energy | Oil@11:00/20m/6x/85%", "Financials@13:00/15m/5x/85%", "Currencies@14:30/10m/4x/80%"]


def firing(documents: list[Document], engine: InferenceEngine, settings: AlertSettings) -> list[Alert]:
    preparer = DocumentPreparer.from_settings(StreamSettings(), b"bench-pseudonym-key")
    scored = rescore(preparer.first_copies(documents), engine, progress=False)
    monitor = SpikeMonitor(settings, 60)
    points = replay_windows(scored, 60, 30)
    return [o.event for o in monitor.observe(points) if o.event is not None and o.event.state == "firing"]


def about(alert: Alert, incident: NamedIncident) -> bool:
    """The alert is on one of the incident's keys, or its evidence names the incident's entity."""
    if alert.key in incident.keys:
        return True
    return any(incident.name in e.title or incident.symbol in e.title for e in alert.evidence)


def sparse_report(seed: int, days: int, engine: InferenceEngine, settings: AlertSettings) -> dict[str, object]:
    feed = SparseFeed(seed=seed, days=days)
    alerts = firing(list(feed.documents()), engine, settings)
    caught: dict[str, tuple[str, float]] = {}
    explained: set[int] = set()
    for incident in feed.incidents:
        hits = [(i, a) for i, a in enumerate(alerts) if about(a, incident)
                and incident.start < a.window_end <= incident.end + timedelta(days=1)]  # fmt: skip
        explained.update(i for i, _ in hits)
        if hits:
            first = hits[0][1]
            caught[incident.name] = (first.horizon, (first.window_end - incident.start).total_seconds() / 3600)
    false = [a for i, a in enumerate(alerts) if i not in explained]
    return {"incidents": len(feed.incidents), "caught": caught, "false": false, "weeks": days / 7}


def dense_report(engine: InferenceEngine, settings: AlertSettings, seed: int = 21) -> dict[str, object]:
    incidents = [Incident.parse(spec) for spec in DENSE_SPIKES]
    day = MarketDay(incidents=incidents, seed=seed)
    alerts = firing(list(day.documents()), engine, settings)
    delays, explained = {}, set()
    for incident in incidents:
        start = datetime.combine(day.day, incident.start, tzinfo=day.begins.tzinfo)
        hits = [(i, a) for i, a in enumerate(alerts) if a.window_end > start
                and a.window_end <= start + timedelta(minutes=incident.minutes + 5)
                and (a.key == incident.topic or incident.topic in {e.title for e in a.evidence}
                     or a.key in ("all",) or a.key.startswith(("source:", "$", "name:")))]  # fmt: skip
        explained.update(i for i, _ in hits)
        topic_hits = [a for _, a in hits if a.key == incident.topic]
        if topic_hits:
            delays[incident.topic] = ((topic_hits[0].window_end - start).total_seconds() / 60, topic_hits[0].horizon)
    false = [a for i, a in enumerate(alerts) if i not in explained]
    return {"delays_min": delays, "false": false}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--no-dense", action="store_true")
    args = parser.parse_args(argv)
    engine = InferenceEngine.load(ModelSettings(backend="torch", device="cpu"))
    settings = AlertSettings()
    horizons: Counter[str] = Counter()
    for seed in (int(s) for s in args.seeds.split(",")):
        report = sparse_report(seed, args.days, engine, settings)
        caught, false = report["caught"], report["false"]
        assert isinstance(caught, dict) and isinstance(false, list)
        horizons.update(h for h, _ in caught.values())
        print(f"sparse seed {seed}: caught {len(caught)}/{report['incidents']}, "
              f"false {len(false)} in {report['weeks']:.1f} weeks")  # fmt: skip
        for name, (horizon, hours) in caught.items():
            print(f"  {name}: {horizon} after {hours:.1f} h")
        for alert in false:
            print(f"  false: {alert.key} {alert.horizon} {alert.window_end:%Y-%m-%d %H:%M} z {alert.zscore:.1f} "
                  f"{alert.negative_authors}/{alert.authors} authors; {[e.title[:60] for e in alert.evidence]}")
    print(f"horizons of first alerts: {dict(horizons)}")
    if not args.no_dense:
        dense = dense_report(engine, settings)
        print(f"dense day: delays {dense['delays_min']}, false {len(dense['false'])}")  # type: ignore[arg-type]
        for alert in dense["false"]:  # type: ignore[attr-defined]
            print(f"  false: {alert.key} {alert.horizon} {alert.window_end:%H:%M} z {alert.zscore:.1f} "
                  f"{alert.negative_authors}/{alert.authors}")


if __name__ == "__main__":
    main()
