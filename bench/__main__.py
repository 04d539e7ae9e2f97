"""``python -m bench`` (``make bench``): run every benchmark and update docs/benchmarks.md."""

from __future__ import annotations

from bench import broker_throughput, pipeline_throughput, replay_archive
from bench.report import BENCHMARKS_MD, write_section
from model_service.benchmark import markdown as model_markdown
from model_service.benchmark import run_model_benchmark
from model_service.settings import ModelSettings


def main() -> None:
    settings = ModelSettings.load()
    broker = broker_throughput.markdown(broker_throughput.run())
    write_section("broker", "Embedded broker throughput", broker)
    print(broker)
    pipeline = pipeline_throughput.markdown(pipeline_throughput.run())
    write_section("pipeline", "Pipeline throughput and latency", pipeline)
    print(pipeline)
    replay = replay_archive.markdown(replay_archive.run())
    write_section("replay", "Replay over a large archive", replay)
    print(replay)
    model = model_markdown(run_model_benchmark(settings.training_data_dir, settings))
    write_section("model", "Model throughput", model)
    print(model)
    print(f"written to {BENCHMARKS_MD}")


if __name__ == "__main__":
    main()
