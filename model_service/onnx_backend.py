"""The optimized CPU backends: the merged model exported to ONNX, attention fused, optionally int8
(`model_service/quantization.py`).

Exported once per model version into the cache directory (atomically, so concurrent workers
can share it); later loads take a fraction of a second.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from model_service.artifact import load_model
from model_service.model import DocumentPass, Outputs
from model_service.quantization import PER_TOKEN_FILE, quantize_per_batch, quantize_per_token

log = logging.getLogger(__name__)

OPSET = 17
# Part of the cache key: a changed export (inputs, outputs, fusion) is never served from an old file.
EXPORT_REVISION = "token-vectors-1"


def export_onnx(artifact_dir: Path, base_dir: Path, target: Path) -> None:
    """Export the merged model with eager attention, then fuse it with ONNX Runtime's BERT optimizer."""
    import warnings

    from onnxruntime.transformers.optimizer import optimize_model

    model, _, _ = load_model(artifact_dir, base_dir, attn_implementation="eager")
    hidden = int(model.encoder.config.hidden_size)
    heads = int(model.encoder.config.num_attention_heads)
    ids = torch.randint(1000, 2000, (2, 16))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0  # trace with padding so the mask path is part of the graph
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = Path(tmp) / "raw.onnx"
        axes = {0: "batch", 1: "sequence"}
        torch.onnx.export(
            DocumentPass(model),
            (ids, mask),
            str(raw),
            input_names=["input_ids", "attention_mask"],
            output_names=["topic_logits", "sentiment_logits", "embedding", "hidden"],
            dynamic_axes={
                "input_ids": axes,
                "attention_mask": axes,
                "topic_logits": {0: "batch"},
                "sentiment_logits": {0: "batch"},
                "embedding": {0: "batch"},
                "hidden": axes,
            },
            opset_version=OPSET,
            dynamo=False,
        )
        optimized = optimize_model(str(raw), model_type="bert", num_heads=heads, hidden_size=hidden)
        fused = {op: n for op, n in optimized.get_fused_operator_statistics().items() if n}
        log.info("ONNX fusion: %s", fused)
        optimized.save_model_to_file(str(target))


# What each ONNX backend runs: the file in the cache and how it is made from the fp32 export.
VARIANTS: dict[str, tuple[str, Callable[[Path, Path], object] | None]] = {
    "onnx": ("model.onnx", None),
    "onnx-int8": (PER_TOKEN_FILE, quantize_per_token),
    "onnx-int8-per-batch": ("model-int8-per-batch.onnx", quantize_per_batch),
}
RUNTIME_NAMES = {
    "onnx": "onnxruntime-cpu-fp32",
    "onnx-int8": "onnxruntime-cpu-int8",
    "onnx-int8-per-batch": "onnxruntime-cpu-int8-per-batch",
}


def _build_once(path: Path, build: Callable[[Path], object], version: str) -> None:
    if path.exists():
        return
    log.info("exporting %s to %s (once per model version)", version, path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".onnx.tmp")
    os.close(handle)
    build(Path(temporary))
    os.replace(temporary, path)


def cached_model(artifact_dir: Path, base_dir: Path, version: str, cache_dir: Path, backend: str) -> Path:
    """The ONNX file of ``backend`` for this version and base, exported on first use."""
    key = hashlib.sha256(f"{version}|{base_dir.resolve()}|{EXPORT_REVISION}".encode()).hexdigest()[:16]
    folder = cache_dir / "onnx" / key
    folder.mkdir(parents=True, exist_ok=True)
    fp32 = folder / VARIANTS["onnx"][0]
    _build_once(fp32, lambda out: export_onnx(artifact_dir, base_dir, out), version)
    name, quantize = VARIANTS[backend]
    if quantize is not None:
        _build_once(folder / name, lambda out: quantize(fp32, out), version)
    return folder / name


class OnnxBackend:
    """ONNX Runtime on CPU with all graph optimizations."""

    def __init__(self, path: Path, threads: int, name: str, spin: bool = True) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if not spin:  # a spinning thread takes the core the event loop needs, and is then waited for
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.name = name

    @classmethod
    def for_artifact(
        cls,
        artifact_dir: Path,
        base_dir: Path,
        version: str,
        cache_dir: Path,
        backend: str,
        threads: int,
        spin: bool = True,
    ) -> OnnxBackend:
        path = cached_model(artifact_dir, base_dir, version, cache_dir, backend)
        return cls(path, threads, RUNTIME_NAMES[backend], spin)

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Outputs:
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        return Outputs(*self.session.run(None, feeds))
