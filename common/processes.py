"""Child processes that never outlive tapewatch, loopback ports for them to listen on, and the CPUs
this process may use.

The embedded broker, demo and test workers, Prometheus, Alertmanager and the model server in tests
are all started with ``spawn`` and stopped with ``terminate``.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends SIGTERM when the parent dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, output: IO[bytes] | int | None = None
) -> subprocess.Popen[bytes]:
    """Start a child in its own session (Ctrl-C reaches only us, so we stop children in order)."""
    return subprocess.Popen(
        list(args),
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        preexec_fn=_die_with_parent,
        start_new_session=True,
    )


def terminate(process: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> int | None:
    """SIGTERM, then SIGKILL after ``timeout``; returns the exit code. Safe on exited processes."""
    if process is None:
        return None
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    return process.returncode


@contextmanager
def serving(
    args: Sequence[str], env: Mapping[str, str], ready_url: str, log: Path, timeout: float = 180.0
) -> Iterator[subprocess.Popen[bytes]]:
    """A server child (output to ``log``) once ``ready_url`` answers 200; terminated on exit."""
    with log.open("wb") as out:
        process = spawn(args, env=env, output=out)
    try:
        wait_until_answers(ready_url, process, timeout, " ".join(args)[:120], lambda: log.read_text()[-2000:])
        yield process
    finally:
        terminate(process)


def wait_until_answers(
    url: str, process: subprocess.Popen[bytes], timeout: float, name: str, log_tail: Callable[[], str]
) -> None:
    """Until ``url`` answers 200; raise with ``log_tail()`` if ``process`` exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not _answers(url):
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited during start (code {process.returncode}):\n{log_tail()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} did not answer {url} within {timeout:.0f} s:\n{log_tail()}")
        time.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``, for a child process to listen on.

    Chosen below the kernel's ephemeral range: a port from that range (what binding to port 0 gives)
    can be taken by any outgoing connection before the child gets to bind it.
    """
    low, _ = _ephemeral_range()
    candidates = list(range(10_000, low)) if low > 11_000 else []
    random.shuffle(candidates)
    for port in candidates[:200]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def accepts_connections(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def available_cpus(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """The CPUs this process may use: those it may run on, capped by a container's CPU quota (cgroup v2
    ``cpu.max``, "200000 100000" is two), which ``os.cpu_count`` ignores."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota here
    return count
