"""Settings of the alerts component: detector thresholds, rule timings, the webhook listener.

One object, so the detector in the worker, the rendered Prometheus rules and backtests all read
the same thresholds from the same ``TAPEWATCH_ALERT_*`` variables.
"""

from __future__ import annotations

import math
import re

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from alerts.significance import upper_tail, z_of_tail
from common.auth import BearerToken
from common.settings import ComponentSettings

REFERENCE_HORIZON_S = 300  # z_warning and z_critical are stated for this horizon

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_HORIZON = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")


def parse_horizons(text: str) -> list[int]:
    """``"5m,1h,6h,1d"`` -> seconds, shortest first."""
    seconds = []
    for part in text.split(","):
        match = _HORIZON.match(part)
        if not match or int(match[1]) <= 0:
            raise ValueError(
                f"horizon {part.strip()!r}: expected a number and a unit (s, m, h, d), e.g. 5m,1h,1d"
            )
        seconds.append(int(match[1]) * UNITS[match[2]])
    return sorted(set(seconds))


class AlertSettings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="TAPEWATCH_ALERT_", extra="ignore")

    horizons: str = Field(
        "5m,1h,6h,1d",
        description="Detection horizons, shortest first (s, m, h, d; multiples of the window); a key fires "
        "at the shortest that is significant",
    )
    z_warning: float = Field(
        4.5,
        gt=0,
        description="z-score of a warning at a 5-minute horizon; a longer horizon, tested less often, needs "
        "the z-score of a tail as many times wider (same false alerts per week at every horizon)",
    )
    z_critical: float = Field(6.0, gt=0, description="z-score of a critical alert at a 5-minute horizon")
    resolve_z: float = Field(1.5, ge=0, description="A firing key resolves when its horizon drops below this")
    min_authors: int = Field(
        5, ge=1, description="Distinct authors of negative documents a horizon needs before it can fire"
    )
    prior_share: float = Field(
        0.2, gt=0, lt=1, description="Negative share a key without history is assumed to have"
    )
    prior_weight: float = Field(20, gt=0, description="How many documents' worth that assumption counts")
    baseline_cap: float = Field(
        100,
        gt=0,
        description="A baseline is never surer than this many documents: the share of real keys drifts",
    )
    baseline_horizons: float = Field(
        24, gt=0, description="A baseline forgets over this many of its horizons (event time)"
    )
    name_prior_days: float = Field(
        7, gt=0, description="A name never seen before is assumed to be mentioned once in this many days"
    )
    story_min_negative: int = Field(
        3,
        ge=1,
        description="Distinct authors of negative documents an emerging story on an entity key needs",
    )
    story_share: float = Field(
        0.35,
        gt=0,
        le=1,
        description="Negative share of its documents an emerging story needs: above what a feed usually "
        "carries (0.2 to 0.3 on the feeds measured)",
    )
    max_keys: int = Field(
        10_000, ge=100, description="Keys a detector remembers; the least recently seen are forgotten"
    )
    cooldown_s: float = Field(
        600, ge=0, description="Quiet time after a resolve (at least the horizon) before a key fires again"
    )
    evidence: int = Field(3, ge=0, le=20, description="Most negative documents attached to an alert")

    for_s: int = Field(60, ge=0, description="Prometheus rules: how long a condition holds before firing")
    keep_firing_s: int = Field(120, ge=0, description="Prometheus rules: how long an alert outlives it")
    dashboard_url: str = Field(
        "http://localhost:3000/d/tapewatch-market/market-sentiment",
        description="Grafana dashboard that alert annotations link to",
    )

    listen_host: str = "127.0.0.1"
    listen_port: int = Field(9095, ge=0, le=65535, description="Port of `tapewatch alerts listen`")
    listen_token: BearerToken = Field(None, description="Bearer token Alertmanager must send, if set")
    listen_evidence_wait_s: float = Field(
        2.0,
        ge=0,
        le=20,
        description="How long a notification waits for the detector's evidence (all alerts at once)",
    )
    listen_max_body_bytes: int = Field(
        4 * 1024 * 1024, gt=0, description="Largest notification the listener reads"
    )
    forward_url: str | None = Field(None, description="Where the listener forwards enriched notifications")

    @field_validator("horizons")
    @classmethod
    def _readable_horizons(cls, value: str) -> str:
        parse_horizons(value)
        return value

    @property
    def horizons_s(self) -> list[int]:
        return parse_horizons(self.horizons)

    def threshold(self, horizon_s: int, severity: str = "warning") -> float:
        """The z-score a horizon needs: the 5-minute one's tail, widened in proportion to the horizon.
        Rounded to two decimals, so the detector and the rendered Prometheus rules hold the same number."""
        z = self.z_critical if severity == "critical" else self.z_warning
        return round(z_of_tail(upper_tail(z) * horizon_s / REFERENCE_HORIZON_S), 2)

    def name_threshold(self, horizon_s: int, severity: str = "warning") -> float:
        """The z-score an emerging name's negative share needs. The name must also pass the full threshold
        for emergence; under no incident the two are independent, so a share tail as wide as the square
        root of the horizon's tail keeps names' false alerts no likelier than any other key's."""
        tail = upper_tail(self.threshold(horizon_s, severity))
        return round(z_of_tail(math.sqrt(tail)), 2)

    @model_validator(mode="after")
    def _critical_above_warning(self) -> AlertSettings:
        if self.z_critical < self.z_warning:
            raise ValueError(f"z_critical ({self.z_critical}) must be at least z_warning ({self.z_warning})")
        if self.resolve_z >= self.z_warning:
            raise ValueError(f"resolve_z ({self.resolve_z}) must be below z_warning ({self.z_warning})")
        return self
