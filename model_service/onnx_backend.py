"""The optimized CPU backend: the merged model exported to ONNX, attention fused, optionally int8.

Exported once per model version into the cache directory (atomically, so concurrent workers
can share it); later loads take a fraction of a second.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from model_service.artifact import load_model

log = logging.getLogger(__name__)

OPSET = 17


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
            model,
            (ids, mask),
            str(raw),
            input_names=["input_ids", "attention_mask"],
            output_names=["topic_logits", "sentiment_logits"],
            dynamic_axes={
                "input_ids": axes,
                "attention_mask": axes,
                "topic_logits": {0: "batch"},
                "sentiment_logits": {0: "batch"},
            },
            opset_version=OPSET,
            dynamo=False,
        )
        optimized = optimize_model(str(raw), model_type="bert", num_heads=heads, hidden_size=hidden)
        fused = {op: n for op, n in optimized.get_fused_operator_statistics().items() if n}
        log.info("ONNX fusion: %s", fused)
        optimized.save_model_to_file(str(target))


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantization of the MatMul weights (activations stay float)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs a generic pre-processing hint at WARNING
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.setLevel(level)


def cached_model(artifact_dir: Path, base_dir: Path, version: str, cache_dir: Path, quantized: bool) -> Path:
    """The ONNX file for this version and base, exported on first use."""
    key = hashlib.sha256(f"{version}|{base_dir.resolve()}".encode()).hexdigest()[:16]
    folder = cache_dir / "onnx" / key
    fp32, int8 = folder / "model.onnx", folder / "model-int8.onnx"
    folder.mkdir(parents=True, exist_ok=True)
    for path, build in (
        (fp32, lambda out: export_onnx(artifact_dir, base_dir, out)),
        (int8, lambda out: quantize_int8(fp32, out)),
    ):
        if path == int8 and not quantized:
            break
        if not path.exists():
            log.info("exporting %s to %s (once per model version)", version, path)
            handle, temporary = tempfile.mkstemp(dir=folder, suffix=".onnx.tmp")
            os.close(handle)
            build(Path(temporary))
            os.replace(temporary, path)
    return int8 if quantized else fp32


class OnnxBackend:
    """ONNX Runtime on CPU with all graph optimizations."""

    def __init__(self, path: Path, threads: int, name: str) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.name = name

    @classmethod
    def for_artifact(
        cls, artifact_dir: Path, base_dir: Path, version: str, cache_dir: Path, quantized: bool, threads: int
    ) -> OnnxBackend:
        path = cached_model(artifact_dir, base_dir, version, cache_dir, quantized)
        return cls(path, threads, "onnxruntime-cpu-int8" if quantized else "onnxruntime-cpu-fp32")

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        topic, sentiment = self.session.run(None, {"input_ids": input_ids, "attention_mask": attention_mask})
        return topic, sentiment
