"""A training smoke run on a tiny subset of the real data, through the CLI, on the real encoder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from peft import LoraConfig

from model_service.artifact import load_model, load_tagger, read_config
from model_service.model import packaged_base_dir
from model_service.settings import ModelSettings

pytestmark = pytest.mark.integration

DATA = ModelSettings().training_data_dir


@pytest.mark.skipif(
    not (DATA / "topic_train.csv").exists(), reason="needs ../shared/data beside the checkout"
)
def test_train_smoke_run_writes_a_loadable_artifact(tmp_path: Path) -> None:
    out = tmp_path / "artifact"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stream.cli",
            "train",
            "--data-dir",
            str(DATA),
            "--out",
            str(out),
            "--epochs",
            "1",
            "--limit",
            "64",
            "--lora-rank",
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "2"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "topic accuracy" in result.stdout and "sentiment accuracy" in result.stdout
    config = read_config(out)
    assert LoraConfig.from_pretrained(str(out)).r == 4
    assert config.training["train_examples"] == {"topic": 64, "sentiment": 64, "entity": 64}
    assert "entity macro-F1" in result.stdout and "copying the document's label" in result.stdout
    model, _, version = load_model(out, packaged_base_dir())
    assert version in result.stdout.splitlines()[-1]  # the version with the tagger, written last
    assert not any(p.requires_grad for p in model.parameters())
    assert "mention span F1" in result.stdout and load_tagger(out) is not None
    assert {"mention_f1_btc", "mention_f1_wnut17_title"} <= set(read_config(out).dev_metrics)
    assert {"news_sentence_accuracy", "news_sentence_positive_recall"} <= set(config.dev_metrics)
    trained = read_config(out).training["tagger"]["train_texts"]
    assert 0 < trained < 3 * 64 and trained % 3 == 0  # 64 texts less the selection tenth, in 3 casings


def test_unknown_sentiment_codes_are_a_usage_error(tmp_path: Path) -> None:
    csv = tmp_path / "s.csv"
    csv.write_text("text,label\nx,0\n")
    labels = tmp_path / "topics.txt"
    labels.write_text("A\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stream.cli",
            "train",
            "--out",
            str(tmp_path / "out"),
            "--sentiment-csv",
            str(csv),
            "--topic-csv",
            str(csv),
            "--topic-labels",
            str(labels),
            "--sentiment-codes",
            "0=bad",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "CODE=NAME with NAME one of negative, neutral, positive" in result.stderr


@pytest.mark.skipif(
    not (DATA / "topic_train.csv").exists(), reason="needs ../shared/data beside the checkout"
)
def test_the_committed_hand_labels_resolve_in_the_texts_a_worker_cleans() -> None:
    from bench.distress_sentiment import LABELS as DISTRESS_LABELS
    from bench.mention_tagger import labelled_headlines, labelled_texts
    from stream.prepare.preparer import DocumentPreparer
    from stream.settings import StreamSettings

    preparer = DocumentPreparer.from_settings(StreamSettings(), b"test")
    texts = labelled_headlines(DATA, preparer)
    assert len(texts) >= 200 and sum(len(t.spans) for t in texts) >= 400
    distress = labelled_texts(DISTRESS_LABELS, DATA, preparer)
    assert len(distress) >= 70 and all(s is not None for t in distress for s in t.sentiments)
