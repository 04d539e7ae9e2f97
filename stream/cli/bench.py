"""``tapewatch bench model``: the classifier's throughput on this machine (``make bench`` runs it too,
and writes every benchmark into docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path

import click

from stream.cli.model import model_settings
from stream.cli.options import training_data_option


@click.group()
def bench() -> None:
    """Benchmarks of this machine; `make bench` runs them all and updates docs/benchmarks.md."""


@bench.command("model")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@training_data_option
@click.option(
    "--texts", type=click.IntRange(32), default=512, show_default=True, help="Texts per measurement."
)
def bench_model(as_json: bool, data_dir: Path, texts: int) -> None:
    """Texts/s of the engine (batch 1-128), a per-message loop, an HF pipeline, each backend, and HTTP.

    The texts are the dev split of the labeled CSVs in the training-data folder.
    """
    import json

    from model_service.benchmark import as_json as to_json
    from model_service.benchmark import markdown, run_model_benchmark

    if not (data_dir / "sentiment_train.csv").is_file():
        raise click.UsageError(f"no sentiment_train.csv in {data_dir} (set --data-dir)")
    result = run_model_benchmark(data_dir, model_settings(), n_texts=texts)
    click.echo(json.dumps(to_json(result), indent=2) if as_json else markdown(result))
