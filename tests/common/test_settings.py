"""Settings of every component: read from prefixed variables, one error format, passed to children."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from alerts.settings import AlertSettings
from common.settings import SettingsError
from model_service.settings import ModelSettings
from stream.settings import StreamSettings


def test_settings_read_prefixed_environment(monkeypatch) -> None:
    from stream.settings import StreamSettings

    monkeypatch.setenv("TAPEWATCH_BROKER_URL", "k1:9092, k2:9092")
    monkeypatch.setenv("TAPEWATCH_TOPIC_PARTITIONS", "12")
    settings = StreamSettings()
    assert settings.bootstrap_servers == ["k1:9092", "k2:9092"]
    assert settings.topic_partitions == 12


@pytest.mark.parametrize(
    ("kind", "variable", "value"),
    [
        (StreamSettings, "TAPEWATCH_TOPIC_PARTITIONS", "zero"),
        (AlertSettings, "TAPEWATCH_ALERT_MIN_AUTHORS", "-1"),
        (AlertSettings, "TAPEWATCH_ALERT_HORIZONS", "5m,soon"),
        (ModelSettings, "TAPEWATCH_MODEL_PORT", "99999"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(monkeypatch, kind, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        kind.load()
    message = str(raised.value)
    assert message.startswith("invalid settings: ") and f"{variable}: " in message and "\n" not in message


def test_overrides_win_over_the_environment_and_none_means_unset(monkeypatch) -> None:
    monkeypatch.setenv("TAPEWATCH_ALERT_LISTEN_PORT", "9999")
    assert AlertSettings.load(listen_port=None).listen_port == 9999
    assert AlertSettings.load(listen_port=1234).listen_port == 1234


def test_as_env_gives_a_child_the_same_settings(monkeypatch, tmp_path) -> None:
    settings = StreamSettings(data_dir=tmp_path, web_port=7001, ingest_token=SecretStr("s3cret"))
    env = settings.as_env()
    assert env["TAPEWATCH_INGEST_TOKEN"] == "s3cret" and "TAPEWATCH_MODEL_URL" not in env
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert StreamSettings.load() == settings
