"""The base of every component's settings: read from ``TAPEWATCH_*`` variables, one error format.

Each component (stream, alerts, model service, Grafana sync) has one settings class with its own
prefix; ``load`` turns a validation failure into one line that names each variable and its problem,
which the command line shows as a usage error.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import AliasChoices, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(ValueError):
    """Settings that do not validate; the message names each variable and what is wrong with it."""


class ComponentSettings(BaseSettings):
    """Settings of one component; subclasses set their own ``env_prefix``."""

    model_config = SettingsConfigDict(env_prefix="TAPEWATCH_", extra="ignore")

    @classmethod
    def load(cls, **overrides: object) -> Self:
        """The settings from the environment, with the ``overrides`` that are not None on top."""
        try:
            values: dict[str, Any] = {name: value for name, value in overrides.items() if value is not None}
            return cls(**values)
        except ValidationError as exc:
            prefix = cls.model_config.get("env_prefix", "")
            problems = "; ".join(
                f"{prefix}{'_'.join(map(str, error['loc'])).upper()}: {error['msg']}"
                for error in exc.errors()
            )
            raise SettingsError(f"invalid settings: {problems}") from None

    def as_env(self) -> dict[str, str]:
        """The environment variables that give a child process these settings."""
        prefix = self.model_config.get("env_prefix", "")
        return {
            self._variable(prefix, name): value.get_secret_value()
            if isinstance(value, SecretStr)
            else str(value)
            for name, value in self.model_dump(exclude_none=True).items()
        }

    @classmethod
    def _variable(cls, prefix: str, name: str) -> str:
        """A field's variable: its first alias when it has its own name (``TAPEWATCH_TOPICS_PATH``)."""
        alias = cls.model_fields[name].validation_alias
        if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
            return alias.choices[0]
        return f"{prefix}{name.upper()}"
