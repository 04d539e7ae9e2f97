"""``tapewatch bench model``: texts/s of the engine and its references, measured in one run.

Engine at batch sizes 1, 8, 32, 128; a per-message loop; a Hugging Face text-classification
pipeline over the same weights; and each backend (torch fp32, ONNX Runtime fp32, int8 with a scale
per token or per batch) with its accuracy on the labeled dev split and how far its labels move with
the batch, so speed, accuracy and stability are read side by side.
"""

from __future__ import annotations

import contextlib
import functools
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from model_service.data import Example, read_labeled_csv, stratified_split
from model_service.engine import InferenceEngine, resolve_backend, resolve_device
from model_service.entity_data import (
    NEWS_DEV_FRACTION,
    EntityText,
    news_metrics,
    paragraph_split,
    read_finentity,
)
from model_service.entity_spans import EntityQuery
from model_service.evaluation import accuracy
from model_service.labels import SENTIMENT_DATA_CODES, SENTIMENTS
from model_service.settings import ModelSettings

BATCH_SIZES = (1, 8, 32, 128)
CPU_DEFAULT = resolve_backend("auto", torch.device("cpu"))


@dataclass
class ModelBenchmark:
    device: str
    texts: int
    mean_tokens: float
    engine_per_s: dict[int, float] = field(default_factory=dict)  # by batch size
    per_message_per_s: float = 0.0
    hf_pipeline_per_s: dict[int, float] = field(default_factory=dict)  # by pipeline batch size
    backends: dict[str, dict[str, float]] = field(default_factory=dict)  # per_s and accuracies
    http: dict[str, float] = field(default_factory=dict)  # concurrent single-document clients
    http_backend: str = ""

    def speed_vs(self, backend: str, reference: str) -> float:
        """How many times faster ``backend`` ran than ``reference`` (0 when either was not measured)."""
        fast = self.backends.get(backend, {}).get("per_s", 0.0)
        slow = self.backends.get(reference, {}).get("per_s", 0.0)
        return fast / slow if slow else 0.0

    def ratios(self) -> dict[str, float]:
        best_batched = max(self.engine_per_s[b] for b in (8, 32, 128) if b in self.engine_per_s)
        return {
            "batched_vs_per_message": best_batched / self.per_message_per_s,
            "batched_vs_hf_pipeline": best_batched / max(self.hf_pipeline_per_s.values()),
            "optimized_vs_fp32": self.speed_vs(CPU_DEFAULT, "torch"),
            "int8_vs_onnx_fp32": self.speed_vs("onnx-int8", "onnx"),
            "int8_per_batch_vs_onnx_fp32": self.speed_vs("onnx-int8-per-batch", "onnx"),
            "http_vs_engine_batch32": self.http.get("ratio_to_engine_batch32", 0.0),
        }


def cpu_name() -> str:
    """The CPU's model and whether it multiplies bytes in one instruction (VNNI): int8 speed hangs on it."""
    model, flags = platform.machine(), set[str]()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == platform.machine():
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    vnni = "VNNI" if flags & {"avx512_vnni", "avx_vnni", "amx_int8"} else "no VNNI"
    return f"{model}, {vnni}" if flags else model


def rate(run: Callable[[], object], count: int, repeats: int = 1) -> float:
    """Texts per second of ``run`` (best of ``repeats``, after one warm-up call)."""
    run()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return count / best


def load_dev(data_dir: Path, seed: int = 13) -> dict[str, list[Example]]:
    """The same stratified dev split training held out (same seed and fraction)."""
    topics = [t.strip() for t in (data_dir / "topic_labels.txt").read_text().splitlines() if t.strip()]
    sentiment = read_labeled_csv(
        data_dir / "sentiment_train.csv", SENTIMENTS, lambda code: SENTIMENT_DATA_CODES[int(code)]
    )
    topic = read_labeled_csv(data_dir / "topic_train.csv", topics, lambda code: topics[int(code)])
    return {
        "sentiment": stratified_split(sentiment, 0.1, seed)[1],
        "topic": stratified_split(topic, 0.1, seed)[1],
    }


def load_news_dev(data_dir: Path, seed: int = 13) -> list[EntityText]:
    """FinEntity's dev paragraphs, as training held them out ([] without the file)."""
    path = data_dir / "news" / "finentity" / "train.csv"
    if not path.is_file():
        return []
    return paragraph_split(read_finentity(path, SENTIMENTS), NEWS_DEV_FRACTION, seed)[1]


def news_accuracy(engine: InferenceEngine, dev: Sequence[EntityText]) -> dict[str, float]:
    """News paragraphs and the sentiment toward their entities, read as a user's file would be."""
    if not dev:
        return {}
    asked = [[EntityQuery(m.entity, (m.entity,)) for m in p.mentions] for p in dev]
    results = engine.classify([p.text for p in dev], entities=asked)
    index = engine.config.sentiments.index
    documents = [index(r.sentiment) for r in results]
    entities = [[index(e.sentiment) for e in (r.entities or {}).values()] for r in results]
    return news_metrics(dev, documents, entities, len(engine.config.sentiments))


def dev_accuracy(engine: InferenceEngine, dev: dict[str, list[Example]]) -> dict[str, float]:
    results: dict[str, float] = {}
    for task, examples in dev.items():
        predicted = engine.classify([e.text for e in examples])
        if task == "sentiment":
            names = [engine.config.sentiments.index(r.sentiment) for r in predicted]
        else:
            names = [engine.config.topics.index(r.topic) for r in predicted]
        results[f"{task}_accuracy"] = accuracy([e.label for e in examples], names)
    return results


def batch_drift(engine: InferenceEngine, texts: Sequence[str]) -> dict[str, float]:
    """How far a text's probabilities move between batch size 1 and 32 (0 for a batch-invariant backend)."""
    engine.batch_size = 1
    alone = engine.probabilities(texts)
    engine.batch_size = 32
    batched = engine.probabilities(texts)
    pairs = [(alone.topic, batched.topic), (alone.sentiment, batched.sentiment)]
    moved = max(float(np.abs(a - b).max()) for a, b in pairs)
    flipped = int(sum((a.argmax(1) != b.argmax(1)).sum() for a, b in pairs))
    return {"batch_drift": moved, "labels_flipped": flipped}


def run_model_benchmark(
    data_dir: Path,
    settings: ModelSettings,
    n_texts: int = 512,
    backends: Sequence[str] = ("torch", "onnx", "onnx-int8", "onnx-int8-per-batch"),
) -> ModelBenchmark:
    from model_service.hf_pipeline import sentiment_pipeline
    from model_service.model import packaged_base_dir

    dev = load_dev(data_dir)
    news = load_news_dev(data_dir)
    texts = [e.text for e in dev["sentiment"]][:n_texts]
    torch_settings = settings.model_copy(update={"backend": "torch"})
    engine = InferenceEngine.load(torch_settings)
    device = torch.cuda.get_device_name(0) if engine.backend.name.startswith("torch-cuda") else cpu_name()
    result = ModelBenchmark(
        device=f"{device} ({engine.backend.name}, {torch.get_num_threads()} threads)",
        texts=len(texts),
        mean_tokens=sum(len(ids) for ids in engine.encode(texts)) / len(texts),
    )
    steps = tqdm(total=len(BATCH_SIZES) + 3 + len(backends), desc="bench model", unit="step")
    for batch_size in BATCH_SIZES:
        engine.batch_size = batch_size
        result.engine_per_s[batch_size] = rate(lambda: engine.probabilities(texts), len(texts), repeats=2)
        steps.update()
    per_message = texts[:128]
    result.per_message_per_s = rate(lambda: [engine.classify([t]) for t in per_message], len(per_message))
    steps.update()
    hf = sentiment_pipeline(engine, settings.base_dir or packaged_base_dir())
    for batch_size in (1, 32):
        # the same cleaned texts the engine reads (URLs removed), so both do the same work
        sample = engine.model_texts(texts if batch_size > 1 else texts[:128])
        result.hf_pipeline_per_s[batch_size] = rate(
            functools.partial(
                hf, sample, batch_size=batch_size, truncation=True, max_length=engine.max_length
            ),
            len(sample),
        )
        steps.update()
    engine.batch_size = 32
    for backend in backends:
        candidate = (
            engine
            if backend == "torch"
            else InferenceEngine.load(settings.model_copy(update={"backend": backend}))
        )
        candidate.batch_size = 32
        per_s = rate(functools.partial(candidate.probabilities, texts), len(texts), repeats=2)
        result.backends[backend] = {
            "per_s": per_s,
            **dev_accuracy(candidate, dev),
            **news_accuracy(candidate, news),
            **batch_drift(candidate, texts[:256]),
        }
        steps.update()
    backend = resolve_backend(settings.backend, resolve_device(settings.device))
    per_s = http_throughput(settings.model_copy(update={"backend": backend}), texts, concurrency=64)
    engine_batch32 = result.backends.get(backend, {}).get("per_s") or result.engine_per_s[32]
    result.http_backend = backend
    result.http = {"clients": 64, "per_s": per_s, "ratio_to_engine_batch32": per_s / engine_batch32}
    steps.update()
    steps.close()
    return result


def http_throughput(settings: ModelSettings, texts: Sequence[str], concurrency: int = 64) -> float:
    """Texts/s through ``serve-model`` with ``concurrency`` clients sending one document per request."""
    import asyncio
    import sys
    import tempfile
    from pathlib import Path

    from common.processes import free_port, serving

    port = free_port()
    env = {"TAPEWATCH_MODEL_PORT": str(port), "TAPEWATCH_MODEL_BACKEND": settings.backend}
    headers = {"Authorization": f"Bearer {settings.token.get_secret_value()}"} if settings.token else {}
    url = f"http://127.0.0.1:{port}"
    with (
        tempfile.TemporaryDirectory(prefix="tapewatch-http-bench-") as tmp,
        serving(
            [sys.executable, "-m", "model_service.server"], env, f"{url}/readyz", Path(tmp) / "server.log"
        ),
    ):

        async def load() -> float:
            # aiohttp: a lighter client than httpx, so the load generator takes less of the shared CPU
            import aiohttp

            queue = list(enumerate(texts))
            connector = aiohttp.TCPConnector(limit=concurrency)
            async with aiohttp.ClientSession(url, connector=connector, headers=headers) as client:

                async def worker() -> None:
                    while queue:
                        i, text = queue.pop()
                        body = {"documents": [{"id": str(i), "text": text}]}
                        async with client.post("/v1/classify", json=body) as response:
                            response.raise_for_status()
                            await response.read()

                await asyncio.gather(*(worker() for _ in range(concurrency)))  # warm-up round
                queue.extend(enumerate(texts))
                started = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(concurrency)))
                return len(texts) / (time.perf_counter() - started)

        return asyncio.run(load())


def markdown(result: ModelBenchmark) -> str:
    ratios = result.ratios()
    lines = [
        f"{result.texts} tweets from the dev split (mean {result.mean_tokens:.1f} tokens), "
        f"on {result.device}.",
        "",
        "| what | texts/s |",
        "| --- | ---: |",
        *[f"| engine, batch size {b} (length-sorted) | {v:,.1f} |" for b, v in result.engine_per_s.items()],
        f"| per-message loop (one `classify` call per text) | {result.per_message_per_s:,.1f} |",
        *[
            f'| HF `pipeline("text-classification")`, batch_size={b} | {v:,.1f} |'
            for b, v in result.hf_pipeline_per_s.items()
        ],
        "",
        "| backend (batch 32) | texts/s | sentiment accuracy (dev) | topic accuracy (dev) "
        "| largest probability change, batch 1 vs 32 | labels that change |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *[
            f"| {name}{' (default)' if name == CPU_DEFAULT else ''} | {v['per_s']:,.1f} "
            f"| {v['sentiment_accuracy']:.4f} | {v['topic_accuracy']:.4f} "
            f"| {v['batch_drift']:.1e} | {v['labels_flipped']:.0f} of {2 * min(result.texts, 256)} |"
            for name, v in result.backends.items()
        ],
        "",
        *news_table(result),
        "int8 / ONNX fp32 speed: one activation scale per batch (before, batch-dependent) "
        f"**{ratios['int8_per_batch_vs_onnx_fp32']:.2f}x**; one per token (the default) "
        f"**{ratios['int8_vs_onnx_fp32']:.2f}x**.",
        "",
        f"HTTP: {result.http.get('clients', 0):.0f} concurrent clients, one document per request, "
        f"through `serve-model` ({result.http_backend}, dynamic batching): "
        f"**{result.http.get('per_s', 0):,.1f} texts/s**.",
        "",
        "Ratios: batched engine / per-message loop "
        f"**{ratios['batched_vs_per_message']:.2f}x** (target 2.5x); "
        f"batched engine / HF pipeline **{ratios['batched_vs_hf_pipeline']:.2f}x** (target >= 1); "
        f"default CPU backend / torch fp32 **{ratios['optimized_vs_fp32']:.2f}x** (target 1.5x); "
        f"HTTP with 64 clients / engine batch 32 **{ratios['http_vs_engine_batch32']:.2f}x** (target 0.6).",
    ]
    return "\n".join(lines) + "\n"


def news_table(result: ModelBenchmark) -> list[str]:
    """FinEntity's dev paragraphs per backend: news sentiment and the sentiment toward each entity."""
    measured = {name: v for name, v in result.backends.items() if "entity_macro_f1" in v}
    if not measured:
        return []
    return [
        "FinEntity dev paragraphs (Reuters news, ODC-BY; split by paragraph): sentiment of the paragraphs "
        "whose entities agree, and the sentiment toward each entity, from the entity head and from copying "
        "the document's label to each entity (what every entity key counted before).",
        "",
        "| backend | news sentiment accuracy | entity macro-F1 | entity accuracy where entities disagree "
        "| copying the document label: macro-F1 | copying: where entities disagree |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *[
            f"| {name} | {v['news_sentiment_accuracy']:.4f} | {v['entity_macro_f1']:.4f} "
            f"| {v['entity_disagree_accuracy']:.4f} | {v['copied_entity_macro_f1']:.4f} "
            f"| {v['copied_entity_disagree_accuracy']:.4f} |"
            for name, v in measured.items()
        ],
        "",
    ]


def as_json(result: ModelBenchmark) -> dict[str, object]:
    return {**asdict(result), "ratios": result.ratios()}
