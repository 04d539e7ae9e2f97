"""Cleaning text before classification and storage: HTML, unicode, whitespace, length, personal data.

Pure functions. Authors are pseudonymized with a keyed hash (HMAC-SHA256): stable, so one author's
posts can still be grouped, but not reversible by hashing a list of known handles without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re
import unicodedata

_TAG = re.compile(r"<[^>]{0,500}>")
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202f\ufeff]")
_SPACE = re.compile(r"\s+")
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_PHONE = re.compile(r"(?<![\w$])\+?\d[\d\s().-]{7,}\d(?![\w%])")
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{1,30}\b")


def clean_text(text: str, max_chars: int) -> str:
    """Text without HTML, normalized to NFKC, control characters removed, whitespace collapsed, capped."""
    text = html.unescape(_TAG.sub(" ", _SCRIPT.sub(" ", text)))
    text = unicodedata.normalize("NFKC", text)
    text = _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()
    if len(text) > max_chars:
        cut = text.rfind(" ", 0, max_chars)
        text = text[: cut if cut > max_chars // 2 else max_chars].rstrip()
    return text


def scrub_personal_data(text: str) -> str:
    """Emails, phone numbers and @handles replaced by placeholders, for text that is stored."""
    text = _EMAIL.sub("[email]", text)
    text = _PHONE.sub("[phone]", text)
    return _HANDLE.sub("@[user]", text)


def pseudonymize(author: str, key: bytes) -> str:
    """A stable pseudonym for an author or handle; empty stays empty."""
    name = author.strip().lstrip("@").lower()
    if not name:
        return ""
    return "anon-" + hmac.new(key, name.encode(), hashlib.sha256).hexdigest()[:16]
