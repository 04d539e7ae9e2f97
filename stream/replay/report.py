"""What a replay writes: trend.csv, alerts.csv, documents.parquet and chart.png."""

from __future__ import annotations

import textwrap
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from common.records import Alert, TrendPoint
from stream.replay.run import ReplayResult

CHART_TOPICS = 4  # at most this many keys in the chart, the ones with most alerts, then most documents


def trend_frame(points: list[TrendPoint]) -> pd.DataFrame:
    rows = [
        {
            "key": p.key,
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
    columns = ["key", "window_s", "window_start", "window_end", "count", "negative", "neutral", "positive",
               "mean_score", "negative_ratio"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def alert_frame(alerts: list[Alert]) -> pd.DataFrame:
    rows = [
        {
            "id": a.id,
            "key": a.key,
            "state": a.state,
            "severity": a.severity,
            "window_start": a.window_start,
            "window_end": a.window_end,
            "negative_ratio": a.negative_ratio,
            "baseline": a.baseline,
            "zscore": a.zscore,
            "count": a.count,
            "top_evidence": " | ".join(f"{e.score:+.2f} {e.title}" for e in a.evidence),
        }
        for a in alerts
    ]
    columns = ["id", "key", "state", "severity", "window_start", "window_end", "negative_ratio", "baseline",
               "zscore", "count", "top_evidence"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def write_report(
    result: ReplayResult, documents: pa.Table, out: Path, window_s: int, chart: bool = True
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "trend.csv", out / "alerts.csv", out / "documents.parquet"]
    trend = trend_frame(result.trend)
    trend.to_csv(paths[0], index=False)
    alert_frame(result.alerts).to_csv(paths[1], index=False)
    pq.write_table(documents, paths[2])
    if chart:
        paths.append(out / "chart.png")
        draw_chart(trend[trend.window_s == window_s], result.alerts, paths[3])
    return paths


def chart_keys(trend: pd.DataFrame, alerts: list[Alert]) -> list[str]:
    fired = Counter(a.key for a in alerts if a.state == "firing")
    volume = trend.groupby("key")["count"].sum() if len(trend) else pd.Series(dtype=int)
    keys = sorted(volume.index, key=lambda k: (-fired.get(k, 0), -int(volume[k]), k))
    return [k for k in keys if not k.startswith("$")][:CHART_TOPICS] or keys[:CHART_TOPICS]


def draw_chart(trend: pd.DataFrame, alerts: list[Alert], path: Path, smooth_minutes: int = 10) -> None:
    """Per key: negative share and mean sentiment (rolling, so sparse minutes do not jump), documents
    per window as bars, and each alert as a shaded span from firing to resolved with its top headline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = chart_keys(trend, alerts)
    figure, axes = plt.subplots(max(1, len(keys)), 1, figsize=(12, 3.2 * max(1, len(keys))), squeeze=False)
    for axis, key in zip(axes[:, 0], keys, strict=False):
        data = trend[trend.key == key].set_index("window_start").sort_index()
        minutes = data[["count", "negative"]].assign(score=data.mean_score * data["count"])
        minutes = minutes.resample("1min").sum()
        rolling = minutes.rolling(smooth_minutes, min_periods=1).sum()
        share = rolling.negative / rolling["count"].where(rolling["count"] > 0)
        axis.plot(share.index, share, color="tab:red", label=f"negative share ({smooth_minutes}-min rolling)")
        axis.plot(share.index, rolling.score / rolling["count"].where(rolling["count"] > 0), color="tab:blue",
                  label=f"mean sentiment ({smooth_minutes}-min rolling)")  # fmt: skip
        axis.set_ylim(-1.05, 1.05)
        axis.set_title(key, loc="left", fontsize=10)
        volume = axis.twinx()
        volume.bar(minutes.index, minutes["count"], width=1 / 1440, color="grey", alpha=0.35)
        volume.set_ylabel("documents per minute")
        spans = [a for a in alerts if a.key == key]
        for alert in (a for a in spans if a.state == "firing"):
            later = [r.window_end for r in spans if r.state == "resolved" and r.window_end > alert.window_end]
            axis.axvspan(alert.window_end, min(later, default=alert.window_end), color="red", alpha=0.12)
            axis.axvline(alert.window_end, color="black", linestyle="--", linewidth=1)
            headline = textwrap.shorten(alert.evidence[0].title, 70) if alert.evidence else ""
            axis.annotate(
                f"{alert.severity} z={alert.zscore:.1f}: {headline}", (alert.window_end, 0.97), fontsize=7,
                va="top", bbox={"boxstyle": "round", "fc": "white", "alpha": 0.8},
            )  # fmt: skip
        axis.legend(loc="lower left", fontsize=7)
    if not keys:
        axes[0, 0].text(0.5, 0.5, "no documents in the range", ha="center", va="center")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
