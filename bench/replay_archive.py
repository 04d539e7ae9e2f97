"""Replay over a large archive: rows/s and peak memory for one day and for 1,000,000 documents, the
partitions read, and --rescore documents/s. Each replay runs in its own process, so its peak RSS
is its own.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from stream.archive import SCHEMA

ROWS = 1_000_000
DAYS = 10
START = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
TITLES = [
    "Oil prices slump 5% as OPEC+ signals higher output",
    "Dollar index little changed in quiet trade",
    "Apple upgraded to buy at Goldman, sees 12% upside",
    "Fed holds rates steady, as expected",
]
TOPICS = ["Energy | Oil", "Currencies", "Analyst Update", "Fed | Central Banks", "Markets", "Earnings"]


def build_archive(root: Path, rows: int = ROWS, days: int = DAYS, seed: int = 1) -> None:
    """A synthetic archive in the live archive's schema and layout: ``days`` day partitions,
    several files each, events over 6.5 market hours a day."""
    rng = np.random.default_rng(seed)
    per_day = rows // days
    for day in range(days):
        opening = START + timedelta(days=day)
        offsets = np.sort(rng.uniform(0, 6.5 * 3600, per_day))
        published = [opening + timedelta(seconds=float(s)) for s in offsets]
        sentiments = rng.choice(["negative", "neutral", "positive"], per_day, p=[0.2, 0.55, 0.25])
        scores = np.where(sentiments == "negative", -0.7, np.where(sentiments == "positive", 0.6, 0.0))
        table = pa.table(
            {
                "id": [f"d{day}-{i}" for i in range(per_day)],
                "source": ["newswire"] * per_day,
                "kind": ["news"] * per_day,
                "title": [TITLES[i % len(TITLES)] for i in range(per_day)],
                "body": [""] * per_day,
                "url": [""] * per_day,
                "author": [""] * per_day,
                "lang": ["en"] * per_day,
                "tickers": [["XOM"] if i % 7 == 0 else [] for i in range(per_day)],
                "published_at": published,
                "received_at": published,
                "topic": rng.choice(TOPICS, per_day).tolist(),
                "topic_confidence": np.full(per_day, 0.9, dtype=np.float32),
                "sentiment": sentiments.tolist(),
                "sentiment_score": scores.astype(np.float32),
                "prob_negative": np.full(per_day, 0.2, dtype=np.float32),
                "prob_neutral": np.full(per_day, 0.5, dtype=np.float32),
                "prob_positive": np.full(per_day, 0.3, dtype=np.float32),
                "model_version": ["bench"] * per_day,
                "scored_at": published,
                "entities": [None] * per_day,  # entity keys count the document's label
                "user_topic": [None] * per_day,  # no topics file
            },
            schema=SCHEMA,
        )
        folder = root / f"date={opening.date().isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        for part, start in enumerate(range(0, per_day, 20_000)):
            pq.write_table(table.slice(start, 20_000), folder / f"part-{part:03d}.parquet")


def replay_in_child(archive: Path, start: datetime, end: datetime, out: Path) -> dict[str, float]:
    """`tapewatch replay` in a child process; its wall time and peak RSS."""
    code = (
        "import resource, sys, time\n"
        "from stream.cli import main\n"
        "started = time.perf_counter()\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "print('BENCH', time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    args = ["replay", "--from", start.isoformat(), "--to", end.isoformat(), "--out", str(out)]
    env = {"TAPEWATCH_ARCHIVE_DIR": str(archive), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True, timeout=1800
    )
    line = next(line for line in done.stdout.splitlines() if line.startswith("BENCH"))
    _, seconds, rss_kib = line.split()
    return {"seconds": float(seconds), "peak_rss_mib": int(rss_kib) / 1024}


def rescore_rate(documents: int = 2000) -> float:
    from model_service.engine import InferenceEngine
    from stream.ingest.synthetic import MarketDay
    from stream.replay.run import rescore
    from stream.settings import StreamSettings

    day = MarketDay(per_minute=60, syndicated_share=0.0, seed=9)
    raw = [d for _, d in zip(range(documents), day.documents(), strict=False)]
    engine = InferenceEngine.load()
    entities = StreamSettings()
    rescore(raw[:64], engine, entities, progress=False)
    started = time.perf_counter()
    rescore(raw, engine, entities, progress=False)
    return len(raw) / (time.perf_counter() - started)


def run() -> dict[str, float]:
    random.seed(1)
    with tempfile.TemporaryDirectory(prefix="tapewatch-bench-replay-") as tmp:
        archive = Path(tmp) / "archive"
        started = time.perf_counter()
        build_archive(archive)
        built = time.perf_counter() - started
        one_day = replay_in_child(archive, START, START + timedelta(days=1), Path(tmp) / "day")
        everything = replay_in_child(archive, START, START + timedelta(days=DAYS), Path(tmp) / "all")
        day_rows = pq.read_table(Path(tmp) / "day" / "documents.parquet", columns=["id"]).num_rows
    return {
        "rows": ROWS,
        "days": DAYS,
        "build_s": built,
        "day_rows": day_rows,
        "day_s": one_day["seconds"],
        "day_rss_mib": one_day["peak_rss_mib"],
        "all_s": everything["seconds"],
        "all_rows_per_s": ROWS / everything["seconds"],
        "all_rss_mib": everything["peak_rss_mib"],
        "rescore_docs_per_s": rescore_rate(),
    }


def markdown(result: dict[str, float]) -> str:
    days, rows = result["days"], result["rows"]
    day_rate = result["day_rows"] / result["day_s"]
    return "\n".join(
        [
            f"`tapewatch replay` over a synthetic archive of {rows:,.0f} scored documents in {days:.0f} day "
            f"partitions (built in {result['build_s']:.0f} s); each replay runs in its own process and "
            "writes its whole report (CSV, Parquet, chart).",
            "",
            "| replay | rows | time | rows/s | peak RSS |",
            "| --- | ---: | ---: | ---: | ---: |",
            f"| one day (reads 1 of {days:.0f} partitions) | {result['day_rows']:,.0f} "
            f"| {result['day_s']:.1f} s | {day_rate:,.0f} | {result['day_rss_mib']:.0f} MiB |",
            f"| all days | {rows:,.0f} | {result['all_s']:.1f} s | {result['all_rows_per_s']:,.0f} "
            f"| {result['all_rss_mib']:.0f} MiB |",
            "",
            f"`--rescore` (current model, batches of 256): {result['rescore_docs_per_s']:,.0f} documents/s.",
        ]
    )


if __name__ == "__main__":
    outcome = run()
    print(json.dumps(outcome, indent=2))
    print(markdown(outcome))
