"""Typed settings of the model service, read from ``TAPEWATCH_MODEL_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from common.auth import BearerToken
from common.settings import ComponentSettings

Backend = Literal["auto", "torch", "torch-bf16", "onnx", "onnx-int8", "onnx-int8-per-batch"]
Device = Literal["auto", "cpu", "cuda"]


class ModelSettings(ComponentSettings):
    """How the classifier is loaded, batched and served."""

    model_config = SettingsConfigDict(env_prefix="TAPEWATCH_MODEL_", extra="ignore")

    base_dir: Path | None = Field(
        None, description="Hugging Face encoder directory; default: packaged MiniLM"
    )
    artifact_dir: Path | None = Field(None, description="Trained adapter artifact; default: the packaged one")
    device: Device = "auto"
    backend: Backend = Field(
        "auto",
        description=(
            "auto: torch (fp32) on CUDA, onnx-int8 (a scale per token) on CPU; or torch, onnx, onnx-int8. "
            "torch-bf16 and onnx-int8-per-batch are faster on some machines but label a text "
            "differently depending on the texts batched with it"
        ),
    )
    cache_dir: Path = Field(Path.home() / ".cache" / "tapewatch", description="Exported ONNX models")
    threads: int = Field(
        0, ge=0, description="CPU threads for inference; 0 = all cores (a worker's model: all but one)"
    )
    spin_wait: bool | None = Field(
        None,
        description=(
            "ONNX Runtime's threads spin between operators instead of sleeping: faster with the cores to "
            "themselves, slower beside other work. Default: on for `tapewatch classify`, off in a worker "
            "and `serve-model` (an event loop shares the cores)"
        ),
    )
    max_length: int = Field(128, ge=8, le=512, description="Tokens per text (longer texts are truncated)")
    max_batch_size: int = Field(
        64,
        ge=1,
        le=1024,
        description="Texts the server's batcher gathers into one call (sorted, run in forward passes)",
    )
    forward_batch_size: int = Field(
        0,
        ge=0,
        le=1024,
        description=(
            "Texts per forward pass: a call's texts are sorted by length and run this many at a time. "
            "0: 8 on CPU (small passes waste less on padding), 32 on CUDA"
        ),
    )
    call_timeout_s: float = Field(
        120.0,
        gt=0,
        description="A worker's call to its model process that takes longer is a hung process: it is killed "
        "and started again, and the batch retried (set it above the slowest batch; a 256-text batch takes "
        "about 1 s on 2 CPU cores)",
    )
    max_wait_ms: float = Field(5.0, ge=0, description="How long the batcher waits to fill a batch")
    max_queue: int = Field(2048, ge=1, description="Texts waiting in the batcher before callers get 503")
    max_request_items: int = Field(256, ge=1, description="Documents per /v1/classify request")
    max_text_chars: int = Field(20_000, ge=1, description="Characters per document text")
    host: str = "127.0.0.1"
    port: int = Field(8081, ge=0, le=65535)
    token: BearerToken = Field(None, description="Bearer token required by the HTTP API when set")
    open_docs: bool = Field(False, description="Serve /docs and /openapi.json without the token")
    deadline_ms: float = Field(
        5000.0, gt=0, description="A request that cannot be answered within this is refused at once (503)"
    )
    max_body_bytes: int = Field(32 * 1024 * 1024, gt=0, description="Largest /v1/classify body")
    topics_path: Path | None = Field(
        None,
        validation_alias=AliasChoices("TAPEWATCH_TOPICS_PATH", "topics_path"),
        description="YAML or JSON file of topics defined by example texts (reread when it changes)",
    )
    topics_check_s: float = Field(
        5.0,
        gt=0,
        validation_alias=AliasChoices("TAPEWATCH_TOPICS_CHECK_S", "topics_check_s"),
        description="How often the topics file is checked for changes",
    )
    names_path: Path | None = Field(
        None,
        validation_alias=AliasChoices("TAPEWATCH_NAMES_PATH", "names_path"),
        description="YAML file of keys linked across the feed (`tapewatch names learn`; reread on change)",
    )
    names_check_s: float = Field(
        5.0,
        gt=0,
        validation_alias=AliasChoices("TAPEWATCH_NAMES_CHECK_S", "names_check_s"),
        description="How often the names file is checked for changes",
    )
    training_data_dir: Path = Field(
        Path("../shared/data"),
        description="Labeled CSVs that `tapewatch train` and the model benchmark read (beside a checkout)",
    )
