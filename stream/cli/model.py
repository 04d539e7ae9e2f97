"""``tapewatch train``, ``classify`` and ``serve-model``: the classifier's commands."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import click

from model_service.settings import Backend, ModelSettings
from stream.cli.options import load, text_file_options, training_data_option
from stream.prepare.entities import EntityExtractor, EntitySource
from stream.settings import StreamSettings

BACKENDS = click.Choice(get_args(Backend))
BACKEND_HELP = (
    "Default: TAPEWATCH_MODEL_BACKEND (auto: torch fp32 on CUDA, onnx-int8 on CPU). "
    "torch-bf16 and onnx-int8-per-batch are batch-dependent: a text's labels change "
    "with the texts batched with it."
)


def model_settings(**overrides: object) -> ModelSettings:
    return load(ModelSettings, **overrides)


def parse_codes(spec: str) -> dict[str, str]:
    """``"0=negative,1=positive,2=neutral"`` to a mapping from the file's codes to sentiment names."""
    from model_service.labels import SENTIMENTS

    codes = {}
    for part in spec.split(","):
        code, _, name = part.partition("=")
        if name.strip() not in SENTIMENTS:
            raise click.BadParameter(
                f"{part!r}: each entry is CODE=NAME with NAME one of {', '.join(SENTIMENTS)}"
            )
        codes[code.strip()] = name.strip()
    return codes


def in_data_dir(data_dir: Path, given: Path | None, name: str) -> Path:
    """``given``, or the file ``name`` in the training-data folder; a usage error if it is missing."""
    path = given or data_dir / name
    if not path.is_file():
        raise click.UsageError(f"{path} does not exist (set --data-dir or TAPEWATCH_MODEL_TRAINING_DATA_DIR)")
    return path


@click.command()
@training_data_option
@click.option(
    "--sentiment-csv",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Columns text,label. [default: DATA_DIR/sentiment_train.csv]",
)
@click.option(
    "--topic-csv",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Columns text,label (topic index). [default: DATA_DIR/topic_train.csv]",
)
@click.option(
    "--topic-labels",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="One topic name per line. [default: DATA_DIR/topic_labels.txt]",
)
@click.option(
    "--finentity-csv",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=(
        "Columns text,entity,label: sentiment toward entities in news paragraphs (FinEntity, ODC-BY). "
        "[default: DATA_DIR/news/finentity/train.csv]"
    ),
)
@click.option(
    "--sentiment-codes",
    default="0=negative,1=positive,2=neutral",
    show_default=True,
    help="What the sentiment CSV's label values mean.",
)
@click.option(
    "--base-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Hugging Face encoder directory. Default: the packaged all-MiniLM-L6-v2.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Where to write the artifact (PEFT's adapter files + tapewatch.json).",
)
@click.option("--epochs", type=click.IntRange(1), default=4, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=32, show_default=True)
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True)
@click.option("--lora-rank", type=click.IntRange(1), default=32, show_default=True)
@click.option("--seed", type=int, default=13, show_default=True, help="Seeds the dev split and training.")
@click.option(
    "--limit", type=click.IntRange(1), help="Use only this many training examples per task (smoke runs)."
)
@click.option(
    "--ner-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Named-entity data for the mention tagger (btc/, wnut17/, wikigold/ CoNLL files). "
    "[default: DATA_DIR/ner; without it, the artifact has no tagger]",
)
@click.option(
    "--news-sentences",
    is_flag=True,
    help="Also train document sentiment on FinEntity's sentences (tried; not the shipped recipe).",
)
@click.option("--tagger-epochs", type=click.IntRange(1), default=8, show_default=True)
@click.option(
    "--tagger-only",
    is_flag=True,
    help="Train only the mention tagger, on the encoder of the artifact already in --out (minutes).",
)
def train(
    data_dir: Path,
    sentiment_csv: Path | None,
    topic_csv: Path | None,
    topic_labels: Path | None,
    finentity_csv: Path | None,
    sentiment_codes: str,
    base_dir: Path | None,
    out_dir: Path,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    lora_rank: int,
    seed: int,
    limit: int | None,
    ner_dir: Path | None,
    news_sentences: bool,
    tagger_epochs: int,
    tagger_only: bool,
) -> None:
    """Train the classifier (a PEFT LoRA adapter and its heads), then its mention tagger on the trained
    encoder, and report dev-split metrics.

    With the defaults this reproduces the shipped model from ../shared/data: finance tweets (topic,
    sentiment), FinEntity's news paragraphs (sentiment toward each entity) and the named-entity sets in
    ner/ (who a text is about). About forty minutes on two CPU cores.
    """
    ner_dir = ner_dir or (data_dir / "ner" if (data_dir / "ner" / "btc").is_dir() else None)
    if tagger_only:
        if ner_dir is None:
            raise click.UsageError(f"no named-entity data in {data_dir / 'ner'}; set --ner-dir")
        add_mention_tagger(
            out_dir, base_dir, ner_dir, data_dir / "news/finentity/train.csv", tagger_epochs, seed, limit
        )
        return
    codes = parse_codes(sentiment_codes)
    sentiment_csv = in_data_dir(data_dir, sentiment_csv, "sentiment_train.csv")
    topic_csv = in_data_dir(data_dir, topic_csv, "topic_train.csv")
    topic_labels = in_data_dir(data_dir, topic_labels, "topic_labels.txt")
    finentity_csv = in_data_dir(data_dir, finentity_csv, "news/finentity/train.csv")
    from model_service.data import DataError
    from model_service.model import packaged_base_dir
    from model_service.training import TrainConfig, format_metrics
    from model_service.training import train as run_training

    topics = [line.strip() for line in topic_labels.read_text().splitlines() if line.strip()]
    config = TrainConfig(
        sentiment_csv=sentiment_csv,
        topic_csv=topic_csv,
        topic_labels=topics,
        sentiment_code=lambda code: codes[code],
        finentity_csv=finentity_csv,
        base_dir=base_dir or packaged_base_dir(),
        out_dir=out_dir,
        base_model=base_dir.name if base_dir else "all-MiniLM-L6-v2",
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        lora_rank=lora_rank,
        lora_alpha=2.0 * lora_rank,
        seed=seed,
        limit=limit,
        news_sentences=news_sentences,
    )
    try:
        report = run_training(config)
    except DataError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        format_metrics(f"best epoch dev ({sum(report.dev_examples.values())} examples)", report.dev_metrics)
    )
    size = sum(f.stat().st_size for f in out_dir.iterdir()) / 1e6
    click.echo(f"wrote {report.version} to {out_dir} ({size:.1f} MB) in {report.seconds / 60:.1f} min")
    if ner_dir is None:
        click.echo("no named-entity data (--ner-dir): the artifact has no mention tagger", err=True)
        return
    add_mention_tagger(out_dir, base_dir, ner_dir, finentity_csv, tagger_epochs, seed, limit)


def add_mention_tagger(
    out_dir: Path,
    base_dir: Path | None,
    ner_dir: Path,
    finentity_csv: Path | None,
    epochs: int,
    seed: int,
    limit: int | None,
) -> None:
    """Train the artifact's mention tagger and say how well it finds mentions."""
    from model_service.artifact import ArtifactError
    from model_service.model import packaged_base_dir
    from model_service.tagger_training import TaggerConfig, add_tagger, format_tagger_metrics

    news = finentity_csv if finentity_csv is not None and finentity_csv.is_file() else None
    config = TaggerConfig(ner_dir, news, epochs=epochs, seed=seed, limit=limit)
    try:
        version, report = add_tagger(out_dir, base_dir or packaged_base_dir(), config)
    except (ArtifactError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(format_tagger_metrics(report.dev_metrics))
    click.echo(f"wrote the mention tagger: {version} in {out_dir} ({report.seconds / 60:.1f} min)")


@click.command("serve-model")
@click.option("--host", help="Default: TAPEWATCH_MODEL_HOST (127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Default: TAPEWATCH_MODEL_PORT (8081).")
@click.option("--backend", type=BACKENDS, help=BACKEND_HELP)
def serve_model(host: str | None, port: int | None, backend: str | None) -> None:
    """Serve the classifier over HTTP (POST /v1/classify; OpenAPI at /docs).

    Set TAPEWATCH_MODEL_TOKEN to require `Authorization: Bearer <token>` on /v1/*. Each text is also
    asked about the entities of TAPEWATCH_WATCHLIST_PATH (reread when it changes), as in the worker.
    """
    from model_service.server import serve
    from stream.prepare.watchlist import WatchlistError

    try:
        source = EntitySource.from_settings(StreamSettings())
    except WatchlistError as exc:
        raise click.UsageError(str(exc)) from None
    serve(
        model_settings(host=host, port=port, backend=backend), asked=lambda text: source.current().asked(text)
    )


def watchlist_extractor() -> EntityExtractor:
    """The configured watchlist's extractor (``TAPEWATCH_WATCHLIST_PATH``), as the worker's: a text gets
    the same entities through ``classify`` and ``serve-model`` as through the pipeline."""
    from stream.prepare.watchlist import WatchlistError

    try:
        return EntityExtractor.from_settings(StreamSettings())
    except WatchlistError as exc:
        raise click.UsageError(str(exc)) from None


@click.command()
@click.argument("texts", nargs=-1)
@text_file_options("CSV or JSONL file to classify instead of TEXTS.")
@click.option(
    "--entity-column",
    help=(
        "Column/field naming an entity of the row's text (a company, a cashtag, a coin): adds "
        "entity_sentiment, the sentiment toward it (the document's where the text never names it)."
    ),
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write CSV (or JSONL, by suffix) with the input columns plus the labels.",
)
@click.option("--explain", is_flag=True, help="Add the words that drove each sentiment decision.")
@click.option(
    "--topics",
    "topics_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A topics file (YAML or JSON, topics by example): adds user_topic, empty when none is close enough.",
)
@click.option("--backend", type=BACKENDS, help=BACKEND_HELP)
def classify(
    texts: tuple[str, ...],
    input_path: Path | None,
    text_column: str,
    entity_column: str | None,
    output: Path | None,
    explain: bool,
    topics_path: Path | None,
    backend: str | None,
) -> None:
    """Label texts given as arguments, or every row of a CSV/JSONL file.

    \b
    tapewatch classify "Oil slumps as OPEC+ raises output" "Apple beats estimates"
    tapewatch classify --input tweets.csv --text-column text --output labeled.csv
    tapewatch classify --input news.csv --text-column text --entity-column entity --output labeled.csv
    tapewatch classify --topics examples/topics-crypto.yml --input news.csv --output labeled.csv
    """
    from model_service.batch_files import classify_file, print_table

    if bool(texts) == bool(input_path):
        raise click.UsageError("give either TEXTS or --input FILE")
    if output and not input_path:
        raise click.UsageError("--output needs --input")
    if entity_column and not input_path:
        raise click.UsageError("--entity-column needs --input")
    from model_service.engine import InferenceEngine
    from model_service.user_topics import TopicsError

    extractor = watchlist_extractor()
    engine = InferenceEngine.load(model_settings(backend=backend))
    try:
        topics = engine.topic_matcher(topics_path) if topics_path else None
    except TopicsError as exc:
        raise click.UsageError(str(exc)) from None
    if texts:
        asked = [extractor.asked(text) for text in texts]
        print_table(list(texts), engine.classify(list(texts), explain=explain, entities=asked, topics=topics))
        return
    assert input_path is not None
    try:
        summary = classify_file(
            engine, input_path, text_column, output, explain, entity_column, topics, extractor.asked
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(summary, err=output is None)
