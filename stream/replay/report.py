"""What a replay writes: trend.csv, alerts.csv, documents.parquet and chart.png."""

from __future__ import annotations

import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from common.records import Alert, TrendPoint
from stream.replay.run import ReplayResult

CHART_TOPICS = 4  # at most this many keys in the chart, the ones with most alerts, then most documents
MAX_POINTS = 300  # per panel: a year is drawn as fast as an hour
DOCUMENTS_PER_BIN = 5  # on average per key, so that a bin's negative share means something
BIN_SIZES_S = (60, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 2 * 86_400,
               3 * 86_400, 7 * 86_400)  # fmt: skip
ANNOTATED_ALERTS = 3  # the strongest of a key carry their headline


def trend_frame(points: list[TrendPoint]) -> pd.DataFrame:
    rows = [
        {
            "key": p.key,
            "name": p.name,
            "window_s": int((p.window_end - p.window_start).total_seconds()),
            "window_start": p.window_start,
            "window_end": p.window_end,
            "count": p.count,
            "negative": p.negative,
            "neutral": p.neutral,
            "positive": p.positive,
            "mean_score": p.mean_score,
            "negative_ratio": p.negative_ratio,
        }
        for p in points
    ]
    columns = ["key", "name", "window_s", "window_start", "window_end", "count", "negative", "neutral",
               "positive", "mean_score", "negative_ratio"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def alert_frame(alerts: list[Alert]) -> pd.DataFrame:
    rows = [
        {
            "id": a.id,
            "key": a.key,
            "name": a.name,
            "kind": a.kind,
            "state": a.state,
            "severity": a.severity,
            "window_start": a.window_start,
            "window_end": a.window_end,
            "horizon": a.horizon,
            "negative_ratio": a.negative_ratio,
            "baseline": a.baseline,
            "zscore": a.zscore,
            "count": a.count,
            "negative": a.negative,
            "authors": a.authors,
            "negative_authors": a.negative_authors,
            "top_evidence": " | ".join(f"{e.score:+.2f} {e.title}" for e in a.evidence),
        }
        for a in alerts
    ]
    columns = ["id", "key", "name", "kind", "state", "severity", "window_start", "window_end", "horizon",
               "negative_ratio", "baseline", "zscore", "count", "negative", "authors", "negative_authors",
               "top_evidence"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def write_report(
    result: ReplayResult, documents: pa.Table, out: Path, window_s: int, detection_s: int, chart: bool = True
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "trend.csv", out / "alerts.csv", out / "documents.parquet"]
    trend = trend_frame(result.trend)
    trend.to_csv(paths[0], index=False)
    alert_frame(result.alerts).to_csv(paths[1], index=False)
    pq.write_table(documents, paths[2])
    if chart:
        paths.append(out / "chart.png")
        draw_chart(trend[trend.window_s == window_s], result.alerts, paths[3], detection_s)
    return paths


def chart_keys(trend: pd.DataFrame, alerts: list[Alert]) -> list[str]:
    fired = Counter(a.key for a in alerts if a.state == "firing")
    volume = trend.groupby("key")["count"].sum() if len(trend) else pd.Series(dtype=int)
    keys = sorted(volume.index, key=lambda k: (-fired.get(k, 0), -int(volume[k]), k))
    return [k for k in keys if not k.startswith("$")][:CHART_TOPICS] or keys[:CHART_TOPICS]


def chart_bin(span: pd.Timedelta, documents: int, keys: int, detection_s: int) -> pd.Timedelta:
    """One bin per point: at most ``MAX_POINTS`` over the range, no finer than the detection window,
    and wide enough to hold a few documents of a key on average, rounded up to a readable size."""
    per_key = documents / max(1, keys)
    by_volume = span.total_seconds() * DOCUMENTS_PER_BIN / per_key if per_key else 0
    wanted = max(detection_s, span.total_seconds() / MAX_POINTS, by_volume)
    seconds = next((s for s in BIN_SIZES_S if s >= wanted), None)
    if seconds is None:
        seconds = int(-(-wanted // BIN_SIZES_S[-1]) * BIN_SIZES_S[-1])
    return pd.Timedelta(seconds=seconds)


def binned(
    trend: pd.DataFrame, key: str, bin_size: pd.Timedelta, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Documents, negative share and mean sentiment of ``key`` per bin; empty bins are NaN (gaps)."""
    data = trend[trend.key == key]
    sums = (
        data.assign(score=data.mean_score * data["count"], bin=data.window_start.dt.floor(bin_size))
        .groupby("bin")[["count", "negative", "score"]]
        .sum()
    )
    index = pd.date_range(start.floor(bin_size), end, freq=bin_size, tz=start.tz)
    sums = sums.reindex(index, fill_value=0)
    counted = sums["count"].where(sums["count"] > 0)
    return pd.DataFrame(
        {"count": sums["count"], "share": sums.negative / counted, "mean": sums.score / counted}, index=index
    )


def draw_chart(trend: pd.DataFrame, alerts: list[Alert], path: Path, detection_s: int) -> None:
    """Per key: negative share and mean sentiment per bin as steps (no documents, no line), documents
    per bin as a filled step, and each alert as a shaded span from firing to resolved; the strongest
    alerts of a key carry their top headline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = chart_keys(trend, alerts)
    figure, axes = plt.subplots(max(1, len(keys)), 1, figsize=(12, 3.2 * max(1, len(keys))), squeeze=False)
    if not keys:
        axes[0, 0].text(0.5, 0.5, "no documents in the range", ha="center", va="center")
    else:
        start, end = trend.window_start.min(), trend.window_end.max()
        shown = trend[trend.key.isin(keys)]
        bin_size = chart_bin(end - start, int(shown["count"].sum()), len(keys), detection_s)
        for axis, key in zip(axes[:, 0], keys, strict=False):
            data = binned(shown, key, bin_size, start, end)
            draw_key(axis, key, data, bin_size, [a for a in alerts if a.key == key])
        figure.suptitle(f"one point per {_human(bin_size)}", x=0.99, ha="right", fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def draw_key(axis: Any, key: str, data: pd.DataFrame, bin_size: pd.Timedelta, alerts: list[Alert]) -> None:
    axis.step(data.index, data["share"], where="post", color="tab:red", label="negative share")
    axis.step(data.index, data["mean"], where="post", color="tab:blue", label="mean sentiment")
    axis.set_ylim(-1.05, 1.05)
    axis.set_title(key, loc="left", fontsize=10)
    volume = axis.twinx()
    volume.fill_between(data.index, data["count"], step="post", color="grey", alpha=0.3, linewidth=0)
    volume.set_ylabel(f"documents per {_human(bin_size)}")
    volume.set_ylim(bottom=0)
    axis.set_zorder(volume.get_zorder() + 1)  # the lines over the volume, not under it
    axis.patch.set_visible(False)
    resolved = sorted(a.window_end for a in alerts if a.state == "resolved")
    firing = [a for a in alerts if a.state == "firing"]
    for alert in firing:  # at least a bin wide, so that a short alert still shows on a long range
        until = next((at for at in resolved if at > alert.window_end), alert.window_end)
        axis.axvspan(alert.window_end, max(until, alert.window_end + bin_size), color="red", alpha=0.25, lw=0)
    middle = data.index[0] + (data.index[-1] - data.index[0]) / 2
    for row, alert in enumerate(sorted(firing, key=lambda a: -a.zscore)[:ANNOTATED_ALERTS]):
        headline = textwrap.shorten(alert.evidence[0].title, 50) if alert.evidence else ""
        axis.annotate(
            f"{alert.severity} z={alert.zscore:.1f}: {headline}", (alert.window_end, 0.97 - 0.16 * row),
            fontsize=7, va="top", ha="right" if alert.window_end > middle else "left",
            bbox={"boxstyle": "round", "fc": "white", "alpha": 0.8},
        )  # fmt: skip
    axis.legend(loc="lower left", fontsize=7)


def _human(size: pd.Timedelta) -> str:
    seconds = int(size.total_seconds())
    for unit, length in (("week", 604_800), ("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds % length == 0:
            count = seconds // length
            return f"{count} {unit}{'s' if count > 1 else ''}" if count > 1 else unit
    return f"{seconds} s"
