"""Bearer tokens: the one check every tapewatch server makes, and the settings type that holds one.

A header arrives as whatever bytes a client sent (servers decode them as Latin-1 or with surrogate
escapes), so the comparison works on bytes that any string encodes to: a strange header is a plain
mismatch (401), never an encoding error (500).
"""

from __future__ import annotations

import hmac
from typing import Annotated

from pydantic import AfterValidator, SecretStr


def _encoded(text: str) -> bytes:
    return text.encode("utf-8", "backslashreplace")


def bearer_matches(header: str | None, token: str) -> bool:
    """True when ``header`` (an ``Authorization`` value) is ``Bearer <token>``, compared in constant time."""
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(_encoded(given.strip()), _encoded(token))


def _not_blank(token: SecretStr | None) -> SecretStr | None:
    if token is not None and not token.get_secret_value().strip():
        raise ValueError(
            "is set but empty: an empty token would let a bare 'Bearer' header in; unset the variable "
            "to run without a token, or set a secret (openssl rand -hex 24)"
        )
    return token


BearerToken = Annotated[SecretStr | None, AfterValidator(_not_blank)]
"""A token setting: unset means no token is required; set means a non-blank secret."""
