"""How well the default detector does on the sparse synthetic profile (5 seeds) and on two dense days.

The whole live chain without the broker: preparation (dedupe, pseudonyms, entities), the committed model
(fp32, CPU), windows, horizons, detector; alerts are matched to the labeled incidents the way
``tapewatch backtest`` matches them (``alerts.backtest``). Reports, per seed, the incidents caught, the
horizon and delay of each, and the alerts about no incident. The numbers in docs/alerts.md come from it.

    python -m bench.alert_quality [--seeds 1,2,3,4,5] [--days 120]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from alerts.backtest import Outcome, horizon_summary, readable, score
from alerts.settings import AlertSettings
from model_service.engine import InferenceEngine
from model_service.settings import ModelSettings
from stream.devstack.demo import demo_day
from stream.ingest.sparse import SparseFeed
from stream.ingest.synthetic import THREE_SPIKES, MarketDay
from stream.ingest.synthetic import Incident as Spike
from stream.replay.run import firing
from stream.settings import StreamSettings

SEEDS = (1, 2, 3, 4, 5)


@dataclass
class Run:
    name: str
    outcome: Outcome
    weeks: float


def sparse_run(seed: int, days: int, engine: InferenceEngine, settings: AlertSettings) -> Run:
    feed = SparseFeed(seed=seed, days=days)
    fired = firing(feed.documents(), engine, settings, StreamSettings())
    return Run(
        f"sparse seed {seed}", score(Outcome({}, fired), [i.labeled() for i in feed.incidents]), days / 7
    )


def dense_run(name: str, day: MarketDay, engine: InferenceEngine, settings: AlertSettings) -> Run:
    """A dense day's spikes, labeled on their topic; alerts on the feed, sources, tickers and names while
    a spike lasts are about it too (its documents count there as well)."""
    fired = firing(day.documents(), engine, settings, StreamSettings())
    return Run(name, score(Outcome({}, fired), day.labeled()), 1 / 7)


def report(runs: list[Run]) -> str:
    lines = []
    for run in runs:
        o = run.outcome
        lines.append(
            f"{run.name}: caught {len(o.caught)}/{len(o.caught) + len(o.missed)}, "
            f"{len(o.false)} alerts about no incident in {run.weeks:.1f} weeks; {horizon_summary(o)}"
        )
        for incident, alert in o.caught.items():
            delay = readable((alert.window_end - incident.start).total_seconds())
            lines.append(
                f"  caught {incident.key.split(';')[0]} on {alert.key} at {alert.horizon} after {delay}"
            )
        lines.extend(f"  missed {i.key.split(';')[0]} from {i.start:%Y-%m-%d %H:%M}" for i in o.missed)
        lines.extend(
            f"  other: {a.key} {a.horizon} {a.window_end:%Y-%m-%d %H:%M} z {a.zscore:.1f}, "
            f"{a.negative_authors} of {a.authors} authors negative" for a in o.false
        )  # fmt: skip
    return "\n".join(lines)


def run(seeds: Sequence[int] = SEEDS, days: int = 120, dense: bool = True) -> list[Run]:
    engine = InferenceEngine.load(ModelSettings(backend="torch", device="cpu"))
    settings = AlertSettings()
    runs = [sparse_run(seed, days, engine, settings) for seed in seeds]
    if not dense:
        return runs
    spikes = MarketDay(incidents=[Spike.parse(spec) for spec in THREE_SPIKES], seed=21)
    return [
        *runs,
        dense_run("demo day", demo_day(), engine, settings),
        dense_run("three-spike day", spikes, engine, settings),
    ]


def markdown(runs: list[Run]) -> str:
    rows = []
    for run in runs:
        o = run.outcome
        delays = sorted(o.delays_s.values())
        median = readable(delays[len(delays) // 2]) if delays else "-"
        rows.append(
            f"| {run.name} | {len(o.caught)}/{len(o.caught) + len(o.missed)} | {horizon_summary(o)} "
            f"| {median} | {len(o.false)} in {run.weeks:.1f} weeks |"
        )
    return (
        "The default detector on the sparse profile (`tapewatch ingest synthetic --profile sparse`, "
        "120 days, about 50 documents a day) for 5 seeds, and on two dense days (the demo's, and a thinner "
        "one with three spikes); the whole chain without the broker (preparation, the committed model in "
        "fp32 on CPU, windows, horizons, detector). Alerts are matched to incidents as `tapewatch backtest` "
        "matches them. `python -m bench.alert_quality` prints each alert.\n\n"
        "| feed | incidents caught | alerts by horizon; first catch by horizon | median delay "
        "| alerts about no incident |\n| --- | ---: | --- | ---: | ---: |\n" + "\n".join(rows) + "\n"
    )


def main(argv: Sequence[str] | None = None) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--no-dense", action="store_true")
    args = parser.parse_args(argv)
    runs = run([int(seed) for seed in args.seeds.split(",")], args.days, not args.no_dense)
    print(report(runs))
    print(markdown(runs))


if __name__ == "__main__":
    main()
