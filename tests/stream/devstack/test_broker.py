"""The embedded broker's lifecycle: ready when started, clear errors, gone when its parent dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common.processes import accepts_connections, free_port
from stream.devstack.broker import BrokerError, EmbeddedBroker
from tests.helpers import wait_until

pytestmark = pytest.mark.integration


def test_broker_accepts_connections_when_started_and_none_after_stop() -> None:
    broker = EmbeddedBroker().start()
    try:
        assert accepts_connections(broker.host, broker.port)
    finally:
        broker.stop()
    assert not broker.running
    assert not accepts_connections(broker.host, broker.port)


def test_a_binary_that_cannot_run_gives_a_clear_error(tmp_path) -> None:
    fake = tmp_path / "tansu"
    fake.write_text("not a program")
    with pytest.raises(BrokerError, match="not executable"):
        EmbeddedBroker(binary=str(fake)).start()
    fake.chmod(0o755)
    fake.write_text("#!/bin/sh\necho boom >&2\nexit 3\n")
    with pytest.raises(BrokerError, match="exited at start with code 3: boom"):
        EmbeddedBroker(binary=str(fake)).start()


def test_busy_port_is_a_clear_error(broker) -> None:
    with pytest.raises(BrokerError, match="already in use"):
        EmbeddedBroker(port=broker.port).start()


def test_broker_dies_with_its_parent() -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from stream.devstack.broker import EmbeddedBroker\nb = EmbeddedBroker().start()\n"
            "print(b.port, flush=True)\nimport time\ntime.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    port = int(parent.stdout.readline())
    assert accepts_connections("127.0.0.1", port)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    wait_until(lambda: not accepts_connections("127.0.0.1", port), 10, "the orphaned broker to stop")


def test_tapewatch_broker_stops_at_once_on_sigterm_and_reaps_tansu() -> None:
    """Issue 14 item 8: it took over 10 s, its Tansu child defunct meanwhile."""
    port = free_port()
    command = subprocess.Popen(
        [sys.executable, "-m", "stream.cli", "broker", "--port", str(port)], stdout=subprocess.PIPE, text=True
    )
    assert "broker ready" in command.stdout.readline()
    children = Path(f"/proc/{command.pid}/task/{command.pid}/children").read_text().split()
    assert len(children) == 1
    tansu = int(children[0])
    started = time.monotonic()
    command.send_signal(signal.SIGTERM)
    assert command.wait(timeout=10) == 0
    assert time.monotonic() - started < 3
    assert (
        not Path(f"/proc/{tansu}").exists() or "Z" not in Path(f"/proc/{tansu}/stat").read_text().split()[2]
    )
    assert not accepts_connections("127.0.0.1", port)
