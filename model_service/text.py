"""What the model reads: the text with URLs removed and whitespace collapsed.

Shortened links (``https://t.co/...``) are about ten word pieces of noise per tweet; dropping them
makes batches shorter and the labels no worse. Training and inference use this same function.
"""

from __future__ import annotations

import re

_URL = re.compile(r"https?://\S+|www\.\S+")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\S+")


def model_text(text: str) -> str:
    return _SPACE.sub(" ", _URL.sub(" ", text)).strip() or text.strip()


def model_text_map(text: str) -> tuple[str, list[int]]:
    """``model_text(text)`` and, for each of its characters, where it stands in ``text``: so a span
    found in what the model read is given back in the text as it came."""
    blanked = _URL.sub(lambda m: " " * len(m.group()), text)
    words = list(_WORD.finditer(blanked))
    if not words:
        stripped = text.strip()
        first = len(text) - len(text.lstrip())
        return stripped, list(range(first, first + len(stripped)))
    parts: list[str] = []
    origin: list[int] = []
    for i, match in enumerate(words):
        if i:
            parts.append(" ")
            origin.append(match.start() - 1)
        parts.append(match.group())
        origin.extend(range(match.start(), match.end()))
    return "".join(parts), origin
