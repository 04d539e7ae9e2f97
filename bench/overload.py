"""Overload: 250 concurrent clients against ``tapewatch serve-model``, each sending one text at a time.

The load comes from a separate process (so the server's event loop has the server to itself). Each
request carries ``X-Deadline-Ms``; the server answers in time or refuses at once with 503 and
``Retry-After``. The same load is run once more with a deadline no request can miss (as before
admission control: every request waits its turn) to show what the refusal buys.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from common.processes import free_port, serving
from model_service.client import retry_after_delay

CLIENTS = 250
SECONDS = 20.0
DEADLINE_MS = 1000
TOKEN = "bench-overload"
TEXT = (  # a headline and the start of its story: about 110 tokens, near the model's 128
    "Oil prices slump as inventories surge and refiners cut runs. Crude futures fell for a fourth "
    "straight session on Tuesday after government data showed stockpiles rising far more than analysts "
    "had expected, while refiners in the Gulf Coast region trimmed processing rates as margins narrowed. "
    "Traders said demand worries and a stronger dollar weighed on the market, and shares of producers "
    "including Exxon and Chevron slipped in early trading as investors braced for weaker earnings."
)


@dataclass(frozen=True)
class Outcome:
    status: int
    seconds: float
    retry_after: str | None
    sent_at: float  # seconds since the load began
    server_s: float | None  # the server's part (its Server-Timing header)


async def _load(url: str, clients: int, seconds: float, deadline_ms: float) -> list[Outcome]:
    import aiohttp  # a lighter client than httpx: the load generator shares the CPU with the server

    headers = {"Authorization": f"Bearer {TOKEN}", "X-Deadline-Ms": f"{deadline_ms:g}"}
    body = {"documents": [{"id": "1", "text": TEXT}]}
    outcomes: list[Outcome] = []
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as client:
        began = time.perf_counter()
        end = began + seconds

        async def one_client() -> None:
            while time.perf_counter() < end:
                started = time.perf_counter()
                async with client.post("/v1/classify", json=body, headers=headers) as response:
                    await response.read()
                elapsed = time.perf_counter() - started
                retry_after = response.headers.get("Retry-After")
                timing = response.headers.get("Server-Timing", "")
                server_s = float(timing.partition("dur=")[2]) / 1000 if "dur=" in timing else None
                outcomes.append(Outcome(response.status, elapsed, retry_after, started - began, server_s))
                if response.status == 503:  # as the worker's client does
                    await asyncio.sleep(retry_after_delay(float(retry_after or 1)))

        await asyncio.gather(*(one_client() for _ in range(clients)))
    return outcomes


def load(url: str, clients: int, seconds: float, deadline_ms: float) -> list[Outcome]:
    """``clients`` clients for ``seconds``; run in its own process."""
    return asyncio.run(_load(url, clients, seconds, deadline_ms))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


WARMUP_S = 2.0  # the first burst: 250 connections at once, before any refused client has backed off


@dataclass(frozen=True)
class Run:
    label: str
    deadline_ms: float
    outcomes: list[Outcome]
    seconds: float

    def latencies(self, status: int, after_s: float = 0.0) -> list[float]:
        return [o.seconds for o in self.outcomes if o.status == status and o.sent_at >= after_s]

    def server_latencies(self, status: int) -> list[float]:
        return [o.server_s for o in self.outcomes if o.status == status and o.server_s is not None]

    @property
    def other(self) -> int:
        return sum(o.status not in (200, 503) for o in self.outcomes)


def run_server_and_load(label: str, deadline_ms: float, tmp: Path, **settings: str) -> Run:
    port = free_port()
    env = {"TAPEWATCH_MODEL_PORT": str(port), "TAPEWATCH_MODEL_TOKEN": TOKEN, **settings}
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "stream.cli", "serve-model"]
    with serving(command, env, f"{url}/readyz", tmp / f"server-{deadline_ms:g}.log", timeout=300):
        auth = {"Authorization": f"Bearer {TOKEN}"}
        for _ in range(3):  # the batcher times its first batches
            httpx.post(f"{url}/v1/classify", json={"documents": [{"id": "w", "text": TEXT}]}, headers=auth)
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            outcomes = pool.apply(load, (url, CLIENTS, SECONDS, deadline_ms))
        return Run(label, deadline_ms, outcomes, SECONDS)


def run() -> list[Run]:
    with tempfile.TemporaryDirectory(prefix="tapewatch-overload-") as tmp:
        return [
            run_server_and_load(f"{DEADLINE_MS} ms", DEADLINE_MS, Path(tmp)),
            run_server_and_load(
                f"{DEADLINE_MS} ms, `TAPEWATCH_MODEL_THREADS=1`",
                DEADLINE_MS,
                Path(tmp),
                TAPEWATCH_MODEL_THREADS="1",
            ),
            run_server_and_load("none (every request waits its turn)", 600_000, Path(tmp)),
        ]


def markdown(runs: list[Run]) -> str:
    def ms(values: list[float], q: float) -> str:
        return f"{percentile(values, q) * 1000:,.0f}" if values else "-"

    lines = [
        f"{CLIENTS} concurrent clients (`bench/overload.py`, a separate process) for {SECONDS:g} s against "
        "`tapewatch serve-model` (CPU, default backend), one text of about 110 tokens per request, each "
        "with `X-Deadline-Ms`; a refused client waits its `Retry-After` (and up to half again, at random) "
        "before it asks again, as the worker's client does. Latencies are the client's, in ms (the "
        "server's own, from its `Server-Timing` header, in brackets); "
        f'"steady" leaves out requests sent in the first {WARMUP_S:g} s (the opening burst of '
        f"{CLIENTS} connections at once).",
        "",
        "| deadline | answered 200 | 200s p50 / p99 (server's p99) | late 200s | refused 503 "
        "| 503s p50 / p99 | 503s p99 steady |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        ok, refused = run.latencies(200), run.latencies(503)
        late = sum(s > run.deadline_ms / 1000 for s in ok)
        lines.append(
            f"| {run.label} | {len(ok):,} ({len(ok) / run.seconds:.0f}/s) | {ms(ok, 50)} / {ms(ok, 99)} "
            f"({ms(run.server_latencies(200), 99)}) | "
            f"{late} ({late / max(len(ok), 1):.1%}) | {len(refused):,} | "
            f"{ms(refused, 50)} / {ms(refused, 99)} | {ms(run.latencies(503, WARMUP_S), 99)} |"
        )
    lines += ["", "Goal: refusals p99 under 100 ms, answers p99 under the deadline."]
    for run in runs[:-1]:
        ok, refused = run.latencies(200), run.latencies(503)
        answers_met = percentile(ok, 99) <= run.deadline_ms / 1000
        lines.append(
            f"- {run.label}: refusals p99 {'met' if percentile(refused, 99) < 0.1 else 'missed'} overall, "
            f"{'met' if percentile(run.latencies(503, WARMUP_S), 99) < 0.1 else 'missed'} steady; "
            f"answers p99 {'met' if answers_met else 'missed'}; other statuses {run.other}."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(run()))
