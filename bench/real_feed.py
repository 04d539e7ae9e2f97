"""The default detector on a real social feed it was never tuned on: stocknet's 96,826 tweets about 87
US stocks (2014-2015, about 130 a day), from ``../shared/data/real`` (never copied into the repository).

The whole live chain without the broker (preparation with dedupe and pseudonyms, the model, windows,
horizons, detector). There are no labels: it reports how many alerts fire, per week, per horizon and per
kind of key, and whether the feed's two known days (2015-08-24, a market-wide sell-off; 2015-10-14,
Walmart cutting its outlook) gave alerts on the keys one would expect.

    python -m bench.real_feed [--file PATH] [--backend onnx-int8]
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import get_args

from alerts.settings import AlertSettings
from common.records import Alert, Document
from model_service.engine import InferenceEngine
from model_service.settings import Backend, ModelSettings
from stream.prepare.documents import document_from_fields
from stream.replay.run import firing
from stream.settings import StreamSettings

FEED = ModelSettings().training_data_dir / "real" / "stocknet_tweets.jsonl.gz"  # ../shared/data by default
KNOWN_DAYS = {date(2015, 8, 24): "market-wide sell-off", date(2015, 10, 14): "Walmart cuts its outlook"}


@dataclass
class RealFeedResult:
    documents: int
    weeks: float
    alerts: list[Alert]

    def by(self, label: str) -> Counter[str]:
        kinds = {"horizon": lambda a: a.horizon, "key": lambda a: key_kind(a.key)}
        return Counter(kinds[label](alert) for alert in self.alerts)

    def on(self, day: date) -> list[Alert]:
        """Alerts whose horizon holds part of that day."""
        return [a for a in self.alerts if a.window_start.date() <= day <= a.window_end.date()]


def key_kind(key: str) -> str:
    for prefix, kind in (("$", "ticker"), ("entity:", "entity"), ("name:", "name"), ("source:", "source")):
        if key.startswith(prefix):
            return kind
    return "all" if key == "all" else "topic"


def documents(path: Path) -> Iterator[Document]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            yield document_from_fields(json.loads(line))


def run(path: Path = FEED, backend: Backend = "onnx-int8") -> RealFeedResult:
    if not path.exists():
        raise SystemExit(f"{path} not found: the real feed lives in ../shared/data/real (see its README)")
    feed = list(documents(path))
    engine = InferenceEngine.load(ModelSettings(backend=backend, device="cpu"))
    alerts = firing(feed, engine, AlertSettings(), StreamSettings())
    span = max(d.published_at for d in feed) - min(d.published_at for d in feed)
    return RealFeedResult(len(feed), span.total_seconds() / (7 * 86400), alerts)


def report(result: RealFeedResult) -> str:
    lines = [
        f"{result.documents} documents over {result.weeks:.0f} weeks: {len(result.alerts)} alerts "
        f"({len(result.alerts) / result.weeks:.2f} a week)",
        "by horizon: " + ", ".join(f"{h} {n}" for h, n in sorted(result.by("horizon").items())),
        "by key: " + ", ".join(f"{k} {n}" for k, n in result.by("key").most_common()),
    ]
    for day, what in KNOWN_DAYS.items():
        found = result.on(day)
        listed = ", ".join(f"{a.key} {a.horizon} z {a.zscore:.1f}" for a in found) or "none"
        lines.append(f"{day} ({what}): {listed}")
    return "\n".join(lines)


def markdown(result: RealFeedResult) -> str:
    rows = "\n".join(
        f"| {day} | {what} | "
        + (", ".join(f"`{a.key}` at {a.horizon}" for a in result.on(day)) or "none")
        + " |"
        for day, what in KNOWN_DAYS.items()
    )
    horizons = ", ".join(f"{h} {n}" for h, n in sorted(result.by("horizon").items()))
    keys = ", ".join(f"{k} {n}" for k, n in result.by("key").most_common())
    return (
        "The default detector on stocknet's real tweets (`../shared/data/real`, never tuned on), the whole "
        "chain without the broker, ONNX int8 on CPU: "
        f"{result.documents:,} documents over {result.weeks:.0f} weeks gave **{len(result.alerts)} alerts "
        f"({len(result.alerts) / result.weeks:.2f} a week)**; by horizon {horizons}; by key {keys}. "
        "There are no labels; the known days:\n\n"
        "| day | what happened | alerts |\n| --- | --- | --- |\n" + rows + "\n"
    )


def main(argv: Sequence[str] | None = None) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--file", type=Path, default=FEED)
    parser.add_argument("--backend", default="onnx-int8", choices=get_args(Backend))
    args = parser.parse_args(argv)
    result = run(args.file, args.backend)
    print(report(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
