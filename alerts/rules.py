"""Prometheus alerting rules rendered from the detector's thresholds (``tapewatch rules render``).

The worker exports each key's horizons (z-score, distinct negative authors, emergence of names); the
rules fire on the same per-horizon thresholds the detector uses, so Prometheus and the alerts topic
agree on what a spike is. Prometheus adds what the detector leaves to it: ``for:`` durations and
routing. Unlike the detector, which fires a key at its shortest significant horizon, Prometheus
keeps one alert per significant horizon (the ``horizon`` label); Alertmanager groups them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from alerts.detector import NAME_PREFIX, SEVERITIES
from alerts.horizons import horizon_name
from alerts.metrics import AUTHORS, EMERGENCE, ENTITY_INFO, HISTORY, NEGATIVE_AUTHORS, NEGATIVE_RATIO, ZSCORE
from alerts.settings import AlertSettings

HEADER = "# Rendered by `tapewatch rules render` from the TAPEWATCH_ALERT_* settings. Do not edit by hand.\n"


@dataclass(frozen=True)
class Subject:
    """Keys with their own alert name and label: topics (with ``all`` and sources), tickers, entities."""

    alert: str
    label: str
    selector: str  # a PromQL matcher on ``key``; dollars escaped for PromQL's string and then the regex
    prefix: str  # the part of the key the label drops, as a regex

    def name(self) -> str:
        if not self.prefix:
            return "{{ $labels.key }}"
        return f'{{{{ reReplaceAll "{self.prefix}" "" $labels.key }}}}'

    def called(self) -> str:
        """What the entity is called, when the key does not say it: a symbol's name, from the info
        series the worker exports (``tapewatch_entity_info``), in parentheses; nothing without one."""
        if self is not TICKER:
            return ""
        return (
            f'{{{{ with printf "{ENTITY_INFO}{{key=%q}}" $labels.key | query }}}}'
            ' ({{ . | first | label "name" }}){{ end }}'
        )


TOPIC = Subject("NegativeSentimentSpike", "topic", 'key!~"\\\\$.*|entity:.*|name:.*"', "")
TICKER = Subject("NegativeTickerSentimentSpike", "ticker", 'key=~"\\\\$.*"', "^\\\\$")
ENTITY = Subject("NegativeEntitySentimentSpike", "entity", 'key=~"entity:.*|name:.*"', "^(entity|name):")
SUBJECTS = (TOPIC, TICKER, ENTITY)
WATCHED = 'key=~"entity:.*"'  # the two kinds of ENTITY key: watched entities, and names that must emerge
NAMES = f'key=~"{NAME_PREFIX}.*"'


def duration(seconds: int) -> str:
    return f"{seconds // 60}m" if seconds % 60 == 0 and seconds else f"{seconds}s"


def horizon_condition(subject: Subject, horizon_s: int, z: float, z_name: float) -> str:
    """One horizon over its threshold. A name found by capitalization must be emerging at ``z``, as in
    the detector (whose one-day warm-up for names the rules do not see); its share then needs only
    ``z_name``."""
    horizon = f'horizon="{horizon_name(horizon_s)}"'
    if subject is not ENTITY:
        return f"{ZSCORE}{{{subject.selector}, {horizon}}} >= {z:g}"
    watched = f"{ZSCORE}{{{WATCHED}, {horizon}}} >= {z:g}"
    named = f"{ZSCORE}{{{NAMES}, {horizon}}} >= {z_name:g} unless {EMERGENCE}{{{NAMES}, {horizon}}} < {z:g}"
    return f"({watched} or ({named}))"


def spike_rule(settings: AlertSettings, subject: Subject, severity: str) -> dict[str, Any]:
    thresholds = [
        (h, settings.threshold(h, severity), settings.name_threshold(h, severity))
        for h in settings.horizons_s
    ]
    conditions = "\n  or ".join(horizon_condition(subject, h, z, z_name) for h, z, z_name in thresholds)
    expr = f"(\n  {conditions}\n)\nand {NEGATIVE_AUTHORS} >= {settings.min_authors}\n"
    listed = ", ".join(f"{horizon_name(h)} {z:g}" for h, z, _ in thresholds)
    if subject is ENTITY:
        named = ", ".join(f"{horizon_name(h)} {z:g}" for h, _, z in thresholds)
        listed += f"; a name emerging at those, its share at {named}"
    name = subject.name()
    return {
        "alert": subject.alert,
        "expr": expr,
        "for": duration(settings.for_s),
        "keep_firing_for": duration(settings.keep_firing_s),
        "labels": {"severity": severity, subject.label: name},
        "annotations": {
            "summary": f"Negative sentiment spike on {subject.label} {name}{subject.called()} over "
            "{{ $labels.horizon }}",
            "description": (
                'z-score {{ $value | printf "%.1f" }} of the negative share over the last '
                "{{ $labels.horizon }} against the key's baseline "
                f"({severity} at z >= {listed}), with at least {settings.min_authors} distinct authors "
                "of negative documents. Evidence: the {{ $labels.key }} alerts on tapewatch.alerts."
            ),
            "dashboard": (
                f"{settings.dashboard_url}?var-{subject.label}={name[:-3]} | urlquery }}}}"
                "&var-horizon={{ $labels.horizon }}"
            ),
        },
    }


STORY_ALERT = "EmergingNegativeStory"
ENTITY_KEYS = 'key=~"\\\\$.*|entity:.*|name:.*"'
ENTITY_PREFIX = "^(\\\\$|entity:|name:)"


def story_rule(settings: AlertSettings, severity: str) -> dict[str, Any]:
    """An entity key's emerging story, as the detector's ``_story``: its authors' count against its own
    rate at any key's threshold (``tapewatch_entity_emergence``, 0 during the detector's warm-up) and
    above all it had before (``tapewatch_entity_history``), with enough negative authors and a
    negative share above a feed's usual one."""
    thresholds = [(h, settings.threshold(h, severity)) for h in settings.horizons_s]
    conditions = "\n  or ".join(
        f'{EMERGENCE}{{{ENTITY_KEYS}, horizon="{horizon_name(h)}"}} >= {z:g}' for h, z in thresholds
    )
    expr = (
        f"(\n  {conditions}\n)\nand {AUTHORS} > {HISTORY}\n"
        f"and {NEGATIVE_AUTHORS} >= {settings.story_min_negative}\n"
        f"and {NEGATIVE_RATIO} >= {settings.story_share:g}\n"
    )
    listed = ", ".join(f"{horizon_name(h)} {z:g}" for h, z in thresholds)
    name = f'{{{{ reReplaceAll "{ENTITY_PREFIX}" "" $labels.key }}}}'
    called = (
        f'{{{{ with printf "{ENTITY_INFO}{{key=%q}}" $labels.key | query }}}}'
        ' ({{ . | first | label "name" }}){{ end }}'
    )
    return {
        "alert": STORY_ALERT,
        "expr": expr,
        "for": duration(settings.for_s),
        "keep_firing_for": duration(settings.keep_firing_s),
        "labels": {"severity": severity, "entity": name},
        "annotations": {
            "summary": (
                f"Emerging negative story on {{{{ $labels.key }}}}{called} over {{{{ $labels.horizon }}}}"
            ),
            "description": (
                'z-score {{ $value | printf "%.1f" }} of its authors over the last {{ $labels.horizon }} '
                f"against its own rate ({severity} at z >= {listed}) and above all it had before, with "
                f"at least {settings.story_min_negative} distinct authors of negative documents and at least "
                f"{settings.story_share:.0%} of its documents negative. Evidence: the {{{{ $labels.key }}}} "
                "alerts on tapewatch.alerts."
            ),
            "dashboard": (
                f"{settings.dashboard_url}?var-entity={name[:-3]} | urlquery }}}}"
                "&var-horizon={{ $labels.horizon }}"
            ),
        },
    }


def render_rules(settings: AlertSettings) -> str:
    rules = [spike_rule(settings, subject, severity) for subject in SUBJECTS for severity in SEVERITIES]
    rules += [story_rule(settings, severity) for severity in SEVERITIES]
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
