"""The dashboards as code: committed JSON is the rendered output, and Grafana's SDK model reads all of it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from stream.grafana.dashboards import PROMETHEUS, as_json, dashboards, panel_queries
from tests.helpers import ROOT

FOLDER = ROOT / "deploy/grafana/dashboards"
plugins.register_default_plugins()


def contained(part: Any, whole: Any) -> bool:
    """Every key and value of ``part`` is in ``whole`` (the SDK may add empty defaults)."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(k in whole and contained(v, whole[k]) for k, v in part.items())
    if isinstance(part, list):
        return isinstance(whole, list) and len(part) == len(whole) and all(map(contained, part, whole))
    return part == whole


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_the_committed_dashboard_is_the_rendered_one(name: str) -> None:
    committed = json.loads((FOLDER / f"{name}.json").read_text())
    assert committed == as_json(dashboards()[name]), "run `tapewatch grafana render`"


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_grafanas_sdk_model_reads_every_field(name: str) -> None:
    committed = json.loads((FOLDER / f"{name}.json").read_text())
    decoded = json.loads(json.dumps(Dashboard.from_json(committed), cls=JSONEncoder))
    assert contained(committed, decoded), "the SDK's dashboard model dropped or changed a field"


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_every_panel_queries_the_provisioned_prometheus(name: str) -> None:
    model = json.loads((FOLDER / f"{name}.json").read_text())
    for panel in model["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": PROMETHEUS.uid}, panel["title"]
        assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]
    assert all("tapewatch_" in q or "ALERTS" in q for _, q in panel_queries(model))
    datasources = ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml"
    provisioned = yaml.safe_load(datasources.read_text())
    assert provisioned["datasources"][0]["uid"] == PROMETHEUS.uid


def test_uids_are_what_the_alert_links_and_the_sync_use() -> None:
    from alerts.settings import AlertSettings

    uids = {json.loads(p.read_text())["uid"] for p in FOLDER.glob("*.json")}
    assert uids == {"tapewatch-market", "tapewatch-ticker", "tapewatch-pipeline"}
    assert "/d/tapewatch-market/" in AlertSettings().dashboard_url
