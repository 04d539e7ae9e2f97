"""What the model reads: the text with URLs removed and whitespace collapsed.

Shortened links (``https://t.co/...``) are about ten word pieces of noise per tweet; dropping them
makes batches shorter and the labels no worse. Training and inference use this same function.
"""

from __future__ import annotations

import re

_URL = re.compile(r"https?://\S+|www\.\S+")
_SPACE = re.compile(r"\s+")


def model_text(text: str) -> str:
    return _SPACE.sub(" ", _URL.sub(" ", text)).strip() or text.strip()
