"""Settings of the alerts component: detector thresholds, rule timings, the webhook listener.

One object, so the detector in the worker, the rendered Prometheus rules and backtests all read
the same thresholds from the same ``TAPEWATCH_ALERT_*`` variables.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from common.settings import ComponentSettings


class AlertSettings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="TAPEWATCH_ALERT_", extra="ignore")

    span_windows: int = Field(
        3, ge=1, description="Closed windows summed into one detection window (it hops one window at a time)"
    )
    min_count: int = Field(10, ge=1, description="Documents a detection window needs before it can fire")
    floor: float = Field(0.5, ge=0, le=1, description="Negative ratio a window needs before it can fire")
    z_warning: float = Field(3.0, gt=0, description="z-score of a warning")
    z_critical: float = Field(5.0, gt=0, description="z-score of a critical alert")
    resolve_z: float = Field(1.0, ge=0, description="A firing key resolves when its z-score drops below this")
    alpha: float = Field(0.03, gt=0, le=1, description="EWMA weight of one detection window")
    learn_z: float = Field(
        2.0, gt=0, description="Once trusted, the baseline learns only from windows below this z-score"
    )
    min_std: float = Field(
        0.05, gt=0, description="Lower bound on the spread, against over-confident baselines"
    )
    warmup_windows: int = Field(30, ge=0, description="Windows a key needs before its baseline is trusted")
    cooldown_s: float = Field(600, ge=0, description="Quiet time after a resolve before a key fires again")
    evidence: int = Field(3, ge=0, le=20, description="Most negative documents attached to an alert")

    for_s: int = Field(60, ge=0, description="Prometheus rules: how long a condition holds before firing")
    keep_firing_s: int = Field(120, ge=0, description="Prometheus rules: how long an alert outlives it")
    dashboard_url: str = Field(
        "http://localhost:3000/d/tapewatch-market/market-sentiment",
        description="Grafana dashboard that alert annotations link to",
    )

    listen_host: str = "127.0.0.1"
    listen_port: int = Field(9095, ge=0, le=65535, description="Port of `tapewatch alerts listen`")
    listen_token: SecretStr | None = Field(None, description="Bearer token Alertmanager must send, if set")
    forward_url: str | None = Field(None, description="Where the listener forwards enriched notifications")

    @model_validator(mode="after")
    def _critical_above_warning(self) -> AlertSettings:
        if self.z_critical < self.z_warning:
            raise ValueError(f"z_critical ({self.z_critical}) must be at least z_warning ({self.z_warning})")
        if self.resolve_z >= self.z_warning:
            raise ValueError(f"resolve_z ({self.resolve_z}) must be below z_warning ({self.z_warning})")
        return self
