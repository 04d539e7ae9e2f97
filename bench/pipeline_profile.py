"""Where a document's time goes in a worker: a burst of real tweets through broker + one worker at full
speed, sampled by py-spy (a flame graph, and a table of the worker's CPU by part of the pipeline).

The table splits each thread's CPU time (from /proc) by py-spy's samples of it: the event loop's
thread by the part of the pipeline each sampled stack is in (the innermost frame that names one), the
other threads likewise; ONNX Runtime's own threads are invisible to py-spy and the model's process (the
worker's child) is not sampled, so the worker's CPU (its children's included) that no sampled thread
accounts for is inference too. The broker and the sending process are their own rows.
Self-contained (no ``bench`` imports), so it can profile an older checkout: run it from that
checkout's directory with ``PYTHONPATH`` set to it.

    python -m bench.pipeline_profile [--documents N] [--label after] [--out docs/profile]
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from common.processes import free_port
from common.records import Document
from stream.devstack.broker import EmbeddedBroker
from stream.devstack.worker_process import WorkerProcess
from stream.ingest.pacing import send_paced
from stream.ingest.producer import DocumentProducer
from stream.prepare.documents import document_from_fields
from stream.settings import StreamSettings
from stream.topics import ensure_topics

FEED = Path("../shared/data/real/stocknet_tweets.jsonl.gz")
DOCUMENTS = 8000
WARM_UP = 64
RATE_HZ = 97

# The innermost frame matching one of these (file or function) names the part of the pipeline.
PARTS: list[tuple[str, str]] = [
    ("inference", r"Session\.run|onnx_backend"),
    ("tokenization", r"tokenization_utils|tokenizers|InferenceEngine\.encode|_encode_with_entities \("),
    ("entity extraction", r"entity_spans|stream/prepare/entities\.py|stream/prepare/watchlist\.py"),
    ("cleaning and dedupe", r"stream/prepare/(dedupe|normalize|preparer|documents)\.py"),
    ("decoding", r"decode_record|decode_keyed|decode_fields|Record\.from_data|json/decoder|parse_json"),
    ("encoding", r"dumps|JSONEncoder|to_representation|json/encoder"),
    (
        "labels from the model's output",
        r"model_service/engine\.py|model_service/user_topics\.py|stream/labels",
    ),
    ("aggregation: detector and its gauges", r"alerts/"),
    ("aggregation: windows and trend points", r"stream/windows\.py|stream/lanes\.py|PartitionWindows"),
    ("archive", r"archive\.py|archiver\.py|pyarrow"),
    (
        "producing",
        r"aiokafka/producer|Producer\.send|Topic\.send|_send_now|publish_message|aiokafka/(client|conn)",
    ),
    ("consuming", r"aiokafka/consumer|faust/transport/consumer|Fetcher"),
    ("metrics", r"prometheus_client|/metrics|exposition"),
    ("classify and aggregate agents (rest)", r"stream/pipeline/|stream/routing\.py"),
]
FAUST = ("Faust, mode and asyncio", r"faust/|mode/|asyncio|aiohttp|selectors")


def part_of(stack: Sequence[str]) -> str:
    for frame in reversed(stack):
        for name, pattern in PARTS:
            if re.search(pattern, frame):
                return name
    return FAUST[0] if any(re.search(FAUST[1], frame) for frame in stack) else "other"


def tweets(path: Path) -> Iterator[Document]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            yield document_from_fields(json.loads(line))


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    where = f"/proc/{pid}/task/{tid}/stat" if tid is not None else f"/proc/{pid}/stat"
    fields = Path(where).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_seconds(pid: int) -> float:
    """A process's CPU and its children's (the broker binary runs under a wrapper)."""
    total = cpu_seconds(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else []:
        total += process_seconds(int(child))
    return total


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("py-spy not found: `make install` installs it (dev dependencies)")
    return found


def sample(pid: int, output: Path, kind: str) -> subprocess.Popen[bytes]:
    command = [py_spy(), "record", "-p", str(pid), "--rate", str(RATE_HZ), "--nonblocking"]
    return subprocess.Popen([*command, "--format", kind, "-o", str(output)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip


@dataclass
class Profile:
    label: str
    documents: int
    docs_per_s: float
    worker_cpu_s: float
    event_loop_cpu_s: float
    broker_cpu_s: float
    sender_cpu_s: float
    parts: dict[str, float]  # CPU seconds of the worker by part of the pipeline

    def ms_per_document(self, seconds: float) -> float:
        return 1000 * seconds / self.documents


def run(path: Path, count: int, label: str, out: Path) -> Profile:
    """Profile the burst; the flame graph goes to ``out/pipeline-<label>.svg``."""
    if not path.exists():
        raise SystemExit(f"{path} not found: the real feed lives in ../shared/data/real (see its README)")
    feed = list(itertools.islice(tweets(path), count + WARM_UP))
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tapewatch-profile-") as tmp, EmbeddedBroker() as broker:
        settings = StreamSettings(
            broker_url=broker.bootstrap, data_dir=Path(tmp), web_port=free_port(), app_id="profile",
            topic_prefix="profile",
        )  # fmt: skip
        ensure_topics(settings)
        raw = Path(tmp) / "stacks.txt"
        with WorkerProcess(settings, Path(tmp) / "worker.log", loglevel="warn") as worker:
            worker.wait_ready(180)
            assert worker.process is not None and broker._process is not None
            pid, broker_pid = worker.process.pid, broker._process.pid
            with DocumentProducer(settings) as producer:
                send_paced(producer, feed[:WARM_UP], None, progress=False)
                while worker.documents_done() < WARM_UP:
                    time.sleep(1.0)
                threads = {int(t): cpu_seconds(pid, int(t)) for t in os.listdir(f"/proc/{pid}/task")}
                before = (process_seconds(pid), process_seconds(broker_pid), cpu_seconds(os.getpid()))
                samplers = [sample(pid, raw, "raw"), sample(pid, out / f"pipeline-{label}.svg", "flamegraph")]
                started = time.perf_counter()
                send_paced(producer, feed[WARM_UP:], None, description=f"profile ({label})")
                while worker.documents_done() < len(feed):
                    time.sleep(1.0)
                seconds = time.perf_counter() - started
                main = cpu_seconds(pid, pid) - threads[pid]
                after = (process_seconds(pid), process_seconds(broker_pid), cpu_seconds(os.getpid()))
                for sampler in samplers:
                    sampler.send_signal(2)
                    sampler.wait(120)
        worker_cpu, broker_cpu, sender_cpu = (b - a for a, b in zip(before, after, strict=True))
        on_loop, elsewhere = Counter[str](), Counter[str]()
        for line in raw.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not count_text.isdigit():
                continue
            frames = stack.split(";")
            on_thread = elsewhere if "_bootstrap" in frames[0] else on_loop
            on_thread[part_of(frames)] += int(count_text)
    seconds_by_part: dict[str, float] = defaultdict(float)
    loop_samples = sum(on_loop.values()) or 1
    for part, taken in on_loop.items():
        seconds_by_part[part] += main * taken / loop_samples
    for part, taken in elsewhere.items():
        seconds_by_part[part] += taken / RATE_HZ
    seconds_by_part["inference"] += max(0.0, worker_cpu - sum(seconds_by_part.values()))
    return Profile(label, count, count / seconds, worker_cpu, main, broker_cpu, sender_cpu,
                   dict(sorted(seconds_by_part.items(), key=lambda kv: -kv[1])))  # fmt: skip


def markdown(results: Sequence[Profile]) -> str:
    """One column per profile: the worker's CPU by part (ms per document), then the other processes."""
    parts = list(dict.fromkeys(part for r in results for part in r.parts))
    head = " | ".join(f"{r.label}: ms/doc (share)" for r in results)
    lines = [f"| part of the pipeline | {head} |", "| --- |" + " ---: |" * len(results)]
    for part in parts:
        cells = [
            f"{r.ms_per_document(r.parts.get(part, 0.0)):.2f} ({r.parts.get(part, 0.0) / r.worker_cpu_s:.0%})"
            for r in results
        ]
        lines.append(f"| {part} | " + " | ".join(cells) + " |")
    for name, of in (
        ("**the worker, all threads**", lambda r: r.worker_cpu_s),
        ("of it the event loop's thread", lambda r: r.event_loop_cpu_s),
        ("the broker (Tansu)", lambda r: r.broker_cpu_s),
        ("the sending process (kafka-python)", lambda r: r.sender_cpu_s),
    ):
        lines.append(f"| {name} | " + " | ".join(f"{r.ms_per_document(of(r)):.2f}" for r in results) + " |")
    rates = ", ".join(f"{r.label} {r.docs_per_s:.0f} docs/s" for r in results)
    return "\n".join(lines) + f"\n\nBurst throughput while sampled (to the last document scored): {rates}.\n"


def section(out: Path = Path("docs/profile")) -> str:
    """``make bench``: profile this checkout (``after``) beside the stored profile of the code before
    issue 26 (``pipeline-before.json``, made by running this module from that commit's checkout)."""
    result = run(FEED, DOCUMENTS, "after", out)
    (out / "pipeline-after.json").write_text(json.dumps(asdict(result), indent=2))
    return report(out)


def report(out: Path = Path("docs/profile")) -> str:
    """The section of ``docs/benchmarks.md`` from the profiles stored in ``out``."""
    results = [
        Profile(**json.loads((out / f"pipeline-{label}.json").read_text()))
        for label in ("before", "after")
        if (out / f"pipeline-{label}.json").exists()
    ]
    graphs = ", ".join(f"[{r.label}](profile/pipeline-{r.label}.svg)" for r in results)
    return (
        f"{DOCUMENTS:,} real tweets at full speed through broker + one worker (default settings), "
        f"sampled by py-spy at {RATE_HZ} Hz; flame graphs: {graphs}. CPU time of the worker by part of the "
        "pipeline, per document sent (the worker's threads' CPU from /proc, split by py-spy's samples of "
        "each; the CPU no sampled thread accounts for counts as inference: ONNX Runtime's pool threads, "
        "which py-spy cannot see, and, after, the worker's model process, which it is not asked to "
        "sample). `before` is "
        "commit d638b90 (this module run from its checkout), `after` this one:\n\n" + markdown(results)
    )


def main(argv: Sequence[str] | None = None) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--file", type=Path, default=FEED)
    parser.add_argument("--documents", type=int, default=DOCUMENTS)
    parser.add_argument("--label", default="after")
    parser.add_argument("--out", type=Path, default=Path("docs/profile"))
    args = parser.parse_args(argv)
    result = run(args.file, args.documents, args.label, args.out)
    (args.out / f"pipeline-{args.label}.json").write_text(json.dumps(asdict(result), indent=2))
    print(markdown([result]))


if __name__ == "__main__":
    main()
