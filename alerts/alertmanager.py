"""The shipped Alertmanager configuration, and the copy the demo and the end-to-end test run.

The file is package data (``alerts/templates/alertmanager.yml``, linked from ``deploy/alertmanager/``
for the compose stack), so an installed tapewatch has it without the source tree.
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import yaml


def shipped_config() -> dict[str, Any]:
    """Routing by severity, grouping, inhibition, and webhooks to the listener at ``listener:9095``."""
    text = resources.files("alerts").joinpath("templates/alertmanager.yml").read_text()
    return dict(yaml.safe_load(text))


def routed_to(
    config: dict[str, Any], webhook_url: str, token_file: Path | None, group_s: float | None = None
) -> dict[str, Any]:
    """``config`` with every webhook at ``webhook_url``, sending the bearer token in ``token_file`` (none
    when None), and, given ``group_s``, quicker grouping."""
    routed = copy.deepcopy(config)
    for receiver in routed.get("receivers", []):
        for webhook in receiver.get("webhook_configs", []):
            webhook["url"] = webhook_url
            webhook.pop("http_config", None)
            if token_file is not None:
                bearer = {"type": "Bearer", "credentials_file": str(token_file)}
                webhook["http_config"] = {"authorization": bearer}
    if group_s is not None:
        for route in [routed["route"], *routed["route"].get("routes", [])]:
            for timing in ("group_wait", "group_interval"):
                if timing in route:
                    route[timing] = f"{group_s:g}s"
    return routed
