"""A file a running process follows: read at start, read again when it changes, the last good read kept.

The watchlist and the user topics file are edited while workers run; a bad edit must not stop
them, so a file that does not read leaves the previous contents in place and the log says why.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

log = logging.getLogger(__name__)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def read_yaml(path: Path, error: type[Exception]) -> Any:
    """The parsed YAML (or JSON, which is YAML) of a file users write; ``error`` names what failed."""
    try:
        return yaml.safe_load(path.read_text())
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not YAML or JSON: {exc}") from None


def validated(kind: type[M], data: Any, error: type[Exception], what: str) -> M:
    """``data`` as a ``kind``, or ``error`` naming each problem's place ("topics.0.examples: ...")."""
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, item['loc'])) or 'top level'}: {item['msg']}" for item in exc.errors()
        )
        raise error(f"{what}: {problems}") from None


class WatchedFile(Generic[T]):
    """What ``read`` makes of ``path`` now, checked for changes at most every ``check_s`` seconds.

    ``read(None)`` is the default when no path is set. A read that raises one of ``errors`` at start
    is the caller's error; later, it keeps the last good contents. ``version`` counts the reloads that
    succeeded. ``in_background``: a changed file is read in a thread of its own, and ``current`` goes
    on answering with the last good contents meanwhile (a topics file's examples take the model to
    read: scoring must not wait for them).
    """

    def __init__(
        self,
        path: Path | None,
        read: Callable[[Path | None], T],
        errors: tuple[type[Exception], ...],
        what: str,
        check_s: float = 5.0,
        in_background: bool = False,
    ) -> None:
        self.path = path
        self.read = read
        self.errors = errors
        self.what = what
        self.check_s = check_s
        self.in_background = in_background
        self._stamp = self._stat()  # before the read: an edit made while reading is seen at the next check
        self.contents = read(path)
        self.version = 0
        self._checked = 0.0
        self._reading: threading.Thread | None = None

    def current(self, now: float) -> T:
        if self.path is not None and now - self._checked >= self.check_s and not self.reading:
            self._checked = now
            stamp = self._stat()
            if stamp != self._stamp:
                self._stamp = stamp
                if self.in_background:
                    self._reading = threading.Thread(
                        target=self._reload, name=f"reload {self.what}", daemon=True
                    )
                    self._reading.start()
                else:
                    self._reload()
        return self.contents

    @property
    def reading(self) -> bool:
        """A reload is running in the background."""
        return self._reading is not None and self._reading.is_alive()

    def settle(self, timeout_s: float | None = None) -> None:
        """Wait for a reload running in the background to end (for a caller that needs the file as it
        is now, and for tests)."""
        if self._reading is not None:
            self._reading.join(timeout_s)

    def _reload(self) -> None:
        try:
            contents = self.read(self.path)
        except self.errors as exc:
            log.error("%s not reloaded, keeping the previous one: %s", self.what, exc)
            return
        self.contents = contents
        self.version += 1
        log.info("%s %s reloaded", self.what, self.path)

    def _stat(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size
