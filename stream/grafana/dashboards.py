"""The three dashboards, built with Grafana's foundation SDK, rendered by ``tapewatch grafana render``.

Every panel queries the metrics the worker exports; ``tests/e2e`` runs each panel's PromQL
against a real Prometheus that scraped a worker fed with the synthetic day.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders.dashboard import (
    AnnotationQuery,
    Dashboard,
    DashboardLink,
    QueryVariable,
    Row,
)
from grafana_foundation_sdk.builders.prometheus import Dataquery as PromQuery
from grafana_foundation_sdk.builders.stat import Panel as Stat
from grafana_foundation_sdk.builders.table import Panel as Table
from grafana_foundation_sdk.builders.timeseries import Panel as TimeSeries
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as models
from grafana_foundation_sdk.models.common import BigValueTextMode
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DashboardLinkType,
    DataSourceRef,
    VariableHide,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from alerts.metrics import ENTITY_INFO

PROMETHEUS = DataSourceRef(type_val="prometheus", uid="prometheus")  # provisioned with this uid
TOPICS = 'key!~"\\\\$.*|entity:.*|name:.*|topic:.*"'  # not tickers ("$XOM"; PromQL escapes the dollar),
# entities, nor the user's topics
USER_TOPICS = 'key=~"topic:.*"'  # topics of the user's topics file (TAPEWATCH_TOPICS_PATH)
ENTITIES = 'key=~"\\\\$.*|entity:.*|name:.*"'
SPIKES = 'alertname=~"Negative.*SentimentSpike"'  # the topic, ticker and entity alerts
FOLDER = "tapewatch"
PERCENT = "percentunit"
RATE = "[$__rate_interval]"
MARKET_UID, TICKER_UID, PIPELINE_UID = "tapewatch-market", "tapewatch-ticker", "tapewatch-pipeline"


def query(expr: str, legend: str = "", instant: bool = False, ref: str = "A") -> PromQuery:
    q = PromQuery().expr(expr).ref_id(ref).datasource(PROMETHEUS)
    if legend:
        q = q.legend_format(legend)
    if instant:
        q = q.instant().format(PromQueryFormat.TABLE)
    return q


def quantile(q: float, histogram: str) -> str:
    return f"histogram_quantile({q:g}, sum by (le) (rate({histogram}_bucket{RATE})))"


def series(title: str, expr: str, legend: str, unit: str = "short", width: int = 12) -> TimeSeries:
    return (
        TimeSeries()
        .title(title)
        .datasource(PROMETHEUS)
        .unit(unit)
        .height(8)
        .span(width)
        .with_target(query(expr, legend))
    )


def alert_annotations(alertname: str, selector: str) -> AnnotationQuery:
    """Firing alerts from Prometheus's ALERTS series, drawn across every time series panel."""
    return (
        AnnotationQuery()
        .name(f"{alertname} alerts")
        .datasource(PROMETHEUS)
        .enable(True)
        .icon_color("red")
        .expr(f'ALERTS{{alertname="{alertname}", alertstate="firing", {selector}}}')
    )


def horizon_variable() -> QueryVariable:
    """The detection horizons the worker exports (5m ... 1d by default)."""
    return (
        QueryVariable("horizon")
        .label("horizon")
        .datasource(PROMETHEUS)
        .query("label_values(tapewatch_detector_zscore, horizon)")
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
    )


def instant_table(title: str, *targets: tuple[str, str]) -> Table:
    """One row per series, a column per (ref, expr) target."""
    table = Table().title(title).datasource(PROMETHEUS).height(8).span(12)
    for ref, expr in targets:
        table = table.with_target(query(expr, instant=True, ref=ref))
    return table


def links() -> list[Builder[models.DashboardLink]]:
    return [
        DashboardLink("tapewatch").type(DashboardLinkType.DASHBOARDS).tags(["tapewatch"]).as_dropdown(True)
    ]


def market_sentiment() -> Dashboard:
    topic = (
        QueryVariable("topic")
        .label("topic")
        .datasource(PROMETHEUS)
        .query(f"label_values(tapewatch_topic_volume{{{TOPICS}}}, key)")
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )
    user_topic = (
        QueryVariable("user_topic")
        .label("your topic")
        .datasource(PROMETHEUS)
        .query(f"label_values(tapewatch_topic_volume{{{USER_TOPICS}}}, key)")
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )
    horizon = 'horizon=~"$horizon"'
    selected = f'key=~"$topic", {TOPICS}, {horizon}'
    mine = f'key=~"$user_topic", {USER_TOPICS}, {horizon}'
    return (
        Dashboard("tapewatch: market sentiment")
        .uid(MARKET_UID)
        .tags(["tapewatch"])
        .description(
            "Per-topic sentiment, negative share and volume in 1-minute event-time windows; the detector's "
            "horizons (5 minutes to a day) and the entities on the rise."
        )
        .refresh("30s")
        .time("now-6h", "now")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .links(links())
        .with_variable(topic)
        .with_variable(user_topic)
        .with_variable(horizon_variable())
        .annotation(alert_annotations("NegativeSentimentSpike", 'topic=~"$topic"'))
        .with_row(Row("Sentiment by topic"))
        .with_panel(
            series(
                "Mean sentiment (p(positive) - p(negative))",
                f"tapewatch_topic_mean_sentiment{{{selected}}}",
                "{{key}}",
            )
            .min(-1)
            .max(1)
        )
        .with_panel(
            series("Negative share", f"tapewatch_topic_negative_ratio{{{selected}}}", "{{key}}", PERCENT)
            .min(0)
            .max(1)
        )
        .with_panel(series("Documents per window", f"tapewatch_topic_volume{{{selected}}}", "{{key}}"))
        .with_panel(
            instant_table(
                "Current z-scores per horizon (negative share against the key's baseline)",
                ("A", f"sort_desc(tapewatch_detector_zscore{{{selected}}})"),
                ("B", f"tapewatch_detector_negative_ratio{{{selected}}}"),
                ("C", f"tapewatch_detector_baseline{{{selected}}}"),
                ("D", f"tapewatch_detector_negative_authors{{{selected}}}"),
            )
        )
        .with_row(Row("Your topics (defined by example in TAPEWATCH_TOPICS_PATH)"))
        .with_panel(
            series("Negative share", f"tapewatch_topic_negative_ratio{{{mine}}}", "{{key}}", PERCENT)
            .min(0)
            .max(1)
        )
        .with_panel(series("Documents per window", f"tapewatch_topic_volume{{{mine}}}", "{{key}}"))
        .with_row(Row("Entities: names, symbols and watched entities"))
        .with_panel(
            instant_table(
                "Emerging entities (authors far above the entity's own rate)",
                ("A", f"sort_desc(topk(20, tapewatch_entity_emergence{{{horizon}}}))"),
                ("B", f"tapewatch_detector_zscore{{{ENTITIES}, {horizon}}}"),
                ("C", f"tapewatch_detector_authors{{{ENTITIES}, {horizon}}}"),
                ("D", f"tapewatch_detector_negative_authors{{{ENTITIES}, {horizon}}}"),
            )
        )
        .with_panel(
            series(
                "Emergence of the top entities (z-score of their authors)",
                f"topk(10, tapewatch_entity_emergence{{{horizon}}})",
                "{{key}} {{horizon}}",
            )
        )
        .with_row(Row("Alerts"))
        .with_panel(
            series(
                "Firing alerts by key, severity and horizon",
                f'sum by (key, severity, horizon) (ALERTS{{{SPIKES}, alertstate="firing", {horizon}}})',
                "{{key}} {{severity}} {{horizon}}",
                width=24,
            )
        )
    )


def ticker_drilldown() -> Dashboard:
    ticker = (
        QueryVariable("ticker")
        .label("ticker")
        .datasource(PROMETHEUS)
        .query('label_values(tapewatch_topic_volume{key=~"\\\\$.*"}, key)')
        .regex("/^\\$(.*)$/")  # the watchlist's tickers, shown without the "$" of their key
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )
    key = 'key="$${ticker}"'  # a literal dollar, then Grafana's ${ticker}
    name = (
        QueryVariable("name")  # the ticker's name ("Exxon Mobil" for XOM), for the titles
        .label("name")
        .datasource(PROMETHEUS)
        .query(f"label_values({ENTITY_INFO}{{{key}}}, name)")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .hide(VariableHide.HIDE_VARIABLE)
    )
    legend = "${ticker}"
    return (
        Dashboard("tapewatch: ticker drill-down")
        .uid(TICKER_UID)
        .tags(["tapewatch"])
        .description(
            "One ticker of the watchlist: the sentiment of what is written about it (toward the ticker, "
            "not the whole document's tone), its volume and its alerts."
        )
        .refresh("30s")
        .time("now-6h", "now")
        .links(links())
        .with_variable(ticker)
        .with_variable(name)
        .with_variable(horizon_variable())
        .annotation(alert_annotations("NegativeTickerSentimentSpike", 'ticker="${ticker}"'))
        .with_panel(
            Stat()
            .title("${ticker}: what its documents call it")
            .datasource(PROMETHEUS)
            .height(4)
            .span(24)
            .text_mode(BigValueTextMode.NAME)
            .with_target(query(f"max by (name) ({ENTITY_INFO}{{{key}}})", "{{name}}", instant=True))
        )
        .with_panel(
            series(
                "Mean sentiment toward ${name} (${ticker})",
                f"tapewatch_topic_mean_sentiment{{{key}}}",
                legend,
            )
            .min(-1)
            .max(1)
        )
        .with_panel(
            series(
                "Share negative toward ${name} (${ticker})",
                f"tapewatch_topic_negative_ratio{{{key}}}",
                legend,
                PERCENT,
            )
        )
        .with_panel(series("Documents per window", f"tapewatch_topic_volume{{{key}}}", legend))
        .with_panel(
            series(
                "z-score against the baseline, per horizon",
                f'tapewatch_detector_zscore{{{key}, horizon=~"$horizon"}}',
                "{{horizon}}",
            )
        )
        .with_panel(
            Table()
            .title("Alerts for this ticker")
            .datasource(PROMETHEUS)
            .height(8)
            .span(24)
            .with_target(
                query('ALERTS{alertname="NegativeTickerSentimentSpike", ticker="${ticker}"}', instant=True)
            )
        )
    )


def pipeline_health() -> Dashboard:
    return (
        Dashboard("tapewatch: pipeline health")
        .uid(PIPELINE_UID)
        .tags(["tapewatch"])
        .description("Throughput, latency, model batches, consumer lag, dead letters and duplicates.")
        .refresh("30s")
        .time("now-1h", "now")
        .links(links())
        .with_panel(
            series(
                "Documents received per second, by source",
                f"sum by (source) (rate(tapewatch_documents_received_total{RATE}))",
                "{{source}}",
                "reqps",
            )
        )
        .with_panel(
            series(
                "Ingest to scored latency",
                quantile(0.5, "tapewatch_ingest_to_scored_seconds"),
                "p50",
                "s",
            ).with_target(query(quantile(0.99, "tapewatch_ingest_to_scored_seconds"), "p99", ref="B"))
        )
        .with_panel(
            series(
                "Model batch size (mean)",
                f"sum(rate(tapewatch_model_batch_size_sum{RATE}))\n"
                f"/ sum(rate(tapewatch_model_batch_size_count{RATE}))",
                "texts per batch",
            )
        )
        .with_panel(
            series(
                "Model batch latency",
                quantile(0.99, "tapewatch_model_batch_latency_seconds"),
                "p99",
                "s",
            )
        )
        .with_panel(
            series(
                "Consumer lag (messages not yet committed)",
                "sum by (topic) (tapewatch_consumer_lag)",
                "{{topic}}",
            )
        )
        .with_panel(
            series(
                "Dead letters per second, by reason",
                f"sum by (reason) (rate(tapewatch_deadletters_total{RATE}))",
                "{{reason}}",
                "reqps",
            )
        )
        .with_panel(
            series(
                "Duplicates per second, by kind",
                f"sum by (kind) (rate(tapewatch_duplicates_total{RATE}))",
                "{{kind}}",
                "reqps",
            )
        )
        .with_panel(
            Stat()
            .title("Model service up")
            .datasource(PROMETHEUS)
            .height(8)
            .span(12)
            .with_target(query("min(tapewatch_model_up)", instant=True))
        )
    )


def dashboards() -> dict[str, Dashboard]:
    """File name (without .json) -> dashboard builder."""
    return {
        "market-sentiment": market_sentiment(),
        "ticker-drilldown": ticker_drilldown(),
        "pipeline-health": pipeline_health(),
    }


def as_json(dashboard: Dashboard) -> dict[str, Any]:
    """The dashboard model as Grafana's JSON (through the SDK's own encoder)."""
    return json.loads(json.dumps(dashboard.build(), cls=JSONEncoder))


def render(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, dashboard in dashboards().items():
        path = directory / f"{name}.json"
        path.write_text(json.dumps(as_json(dashboard), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def panel_queries(model: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, PromQL) of every panel target and annotation of a dashboard's JSON."""
    for panel in model.get("panels", []):
        for target in panel.get("targets", []) or []:
            if target.get("expr"):
                yield panel.get("title", ""), target["expr"]
    for annotation in (model.get("annotations") or {}).get("list", []):
        if annotation.get("expr"):
            yield annotation.get("name", ""), annotation["expr"]
