"""The bearer check every server makes, and the token settings: an empty token is an error, not a hole."""

from __future__ import annotations

import pytest

from alerts.settings import AlertSettings
from common.auth import bearer_matches
from common.settings import SettingsError
from model_service.settings import ModelSettings
from stream.settings import StreamSettings


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        ("Bearer s3cret", True),
        ("bearer s3cret", True),
        ("Bearer s3cret ", True),
        ("Bearer", False),
        ("Bearer ", False),
        ("", False),
        (None, False),
        ("Basic s3cret", False),
        ("Bearer s3cre", False),
        ("Bearer \udce9\udce9", False),  # how a server hands over the bytes \xe9\xe9
        ("Bearer éé", False),
    ],
)
def test_only_the_exact_token_matches(header: str | None, matches: bool) -> None:
    assert bearer_matches(header, "s3cret") is matches


@pytest.mark.parametrize(
    ("kind", "variable", "field"),
    [
        (StreamSettings, "TAPEWATCH_INGEST_TOKEN", "ingest_token"),
        (StreamSettings, "TAPEWATCH_MODEL_TOKEN", "model_token"),
        (ModelSettings, "TAPEWATCH_MODEL_TOKEN", "token"),
        (AlertSettings, "TAPEWATCH_ALERT_LISTEN_TOKEN", "listen_token"),
    ],
)
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_token_is_a_settings_error(monkeypatch, kind, variable: str, field: str, value: str) -> None:
    """Issue 14 item 6: ``${TOKEN:-}`` gave an empty secret that a bare ``Bearer`` header could match."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=f"{variable}: .*is set but empty"):
        kind.load()
    monkeypatch.setenv(variable, "s3cret")
    assert getattr(kind.load(), field).get_secret_value() == "s3cret"
    monkeypatch.delenv(variable)
    assert getattr(kind.load(), field) is None  # unset: no token required
