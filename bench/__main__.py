"""``python -m bench`` (``make bench``): run every benchmark and update docs/benchmarks.md.

``python -m bench mentions real_feed`` runs only the sections named, after a change that moves them.
"""

from __future__ import annotations

import sys

from bench import (
    alert_quality,
    broker_throughput,
    distress_sentiment,
    entity_stories,
    mention_tagger,
    overload,
    pipeline_profile,
    pipeline_throughput,
    real_feed,
    replay_archive,
    replay_chart,
    scale_out,
    user_topics,
    worker_memory,
)
from bench.report import BENCHMARKS_MD, write_section
from model_service.benchmark import markdown as model_markdown
from model_service.benchmark import run_model_benchmark
from model_service.settings import ModelSettings


def main(names: list[str]) -> None:
    settings = ModelSettings.load()
    sections = [
        ("broker", "Embedded broker throughput", lambda: broker_throughput.markdown(broker_throughput.run())),
        ("pipeline", "Pipeline throughput and latency",
         lambda: pipeline_throughput.markdown(pipeline_throughput.run())),
        ("pipeline_profile", "Where a document's time goes in a worker", pipeline_profile.section),
        ("scale_out", "Throughput with 1, 2 and 3 workers", lambda: scale_out.markdown(scale_out.run())),
        ("replay", "Replay over a large archive", lambda: replay_archive.markdown(replay_archive.run())),
        ("replay_chart", "The replay chart of a year", lambda: replay_chart.markdown(replay_chart.run())),
        ("worker_memory", "Worker memory over an endless thin stream",
         lambda: worker_memory.markdown(worker_memory.run())),
        ("alert_quality", "Alert quality: sparse profile and dense days",
         lambda: alert_quality.markdown(alert_quality.run())),
        ("real_feed", "Alerts on a real feed", lambda: real_feed.markdown(real_feed.run())),
        ("entity_stories", "An incident's own name on a real feed",
         lambda: entity_stories.markdown(entity_stories.run())),
        ("overload", "Overload: 250 clients against the model service",
         lambda: overload.markdown(overload.run())),
        ("user_topics", "Topics by example on a real feed",
         lambda: user_topics.markdown(user_topics.run(settings.training_data_dir))),
        ("mentions", "Who a text is about: mention spans and name keys",
         lambda: mention_tagger.markdown(mention_tagger.run(settings.training_data_dir))),
        ("distress", "Entity sentiment on distress headlines",
         lambda: distress_sentiment.markdown(distress_sentiment.run(settings.training_data_dir))),
        ("model", "Model throughput",
         lambda: model_markdown(run_model_benchmark(settings.training_data_dir, settings))),
    ]  # fmt: skip
    known = [name for name, _, _ in sections]
    unknown = sorted(set(names) - set(known))
    if unknown:
        sys.exit(f"unknown benchmark section(s) {unknown}; choose from {known}")
    for name, title, measure in sections:
        if names and name not in names:
            continue
        text = measure()
        write_section(name, title, text)
        print(text)
    print(f"written to {BENCHMARKS_MD}")


if __name__ == "__main__":
    main(sys.argv[1:])
