"""Prometheus alerting rules rendered from the detector's thresholds (``tapewatch rules render``).

The worker exports each key's detection window (z-score, documents, negative share); the rules
fire on the same thresholds the detector uses, so Prometheus and the alerts topic agree on what
a spike is. Prometheus adds what the detector leaves to it: ``for:`` durations and routing.
"""

from __future__ import annotations

from typing import Any

import yaml

from alerts.metrics import DOCUMENTS, NEGATIVE_RATIO, ZSCORE
from alerts.settings import AlertSettings

HEADER = "# Rendered by `tapewatch rules render` from the TAPEWATCH_ALERT_* settings. Do not edit by hand.\n"
TICKER_KEY = r"\\$.*"  # ticker keys are "$XOM"; a PromQL regex string, backslash escaped once more


def duration(seconds: int) -> str:
    return f"{seconds // 60}m" if seconds % 60 == 0 and seconds else f"{seconds}s"


def spike_rule(settings: AlertSettings, ticker: bool, severity: str) -> dict[str, Any]:
    z = settings.z_critical if severity == "critical" else settings.z_warning
    selector = f'{{key=~"{TICKER_KEY}"}}' if ticker else f'{{key!~"{TICKER_KEY}"}}'
    expr = (
        f"{ZSCORE}{selector} >= {z:g}\n"
        f"and {DOCUMENTS} >= {settings.min_count}\n"
        f"and {NEGATIVE_RATIO} >= {settings.floor:g}\n"
    )
    subject = "ticker" if ticker else "topic"
    name = '{{ reReplaceAll "^\\\\$" "" $labels.key }}' if ticker else "{{ $labels.key }}"
    return {
        "alert": "NegativeTickerSentimentSpike" if ticker else "NegativeSentimentSpike",
        "expr": expr,
        "for": duration(settings.for_s),
        "keep_firing_for": duration(settings.keep_firing_s),
        "labels": {"severity": severity, subject: name},
        "annotations": {
            "summary": f"Negative sentiment spike on {subject} {{{{ $labels.key }}}}",
            "description": (
                'z-score {{ $value | printf "%.1f" }} against the baseline '
                f"({severity} at z >= {z:g}), with at least {settings.min_count} documents "
                f"and at least {settings.floor:.0%} of them negative over the last "
                f"{settings.span_windows} windows. "
                "Evidence: the {{ $labels.key }} alerts on tapewatch.alerts."
            ),
            "dashboard": f"{settings.dashboard_url}?var-{subject}={name[:-3]} | urlquery }}}}",
        },
    }


def render_rules(settings: AlertSettings) -> str:
    rules = [
        spike_rule(settings, ticker, severity)
        for ticker in (False, True)
        for severity in ("warning", "critical")
    ]
    rules.append(
        {
            "alert": "TapewatchModelServiceDown",
            "expr": "tapewatch_model_up == 0\n",
            "for": "2m",
            "labels": {"severity": "critical"},
            "annotations": {
                "summary": "Worker {{ $labels.instance }} cannot reach the model service",
                "description": "Scoring is stalled; documents wait on the raw topic until it answers.",
            },
        }
    )
    document = {"groups": [{"name": "tapewatch", "rules": rules}]}
    return HEADER + yaml.dump(document, Dumper=BlockStrings, sort_keys=False, width=1000, allow_unicode=True)


class BlockStrings(yaml.SafeDumper):
    """Multi-line strings (PromQL) as ``|`` blocks, so the rendered file reads like a hand-written one."""


BlockStrings.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)
