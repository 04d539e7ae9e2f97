"""Int8 versions of the fused fp32 ONNX graph: one scale per token (the default), or one per batch.

ONNX Runtime's dynamic quantization picks one activation scale for the whole input tensor, so a
text's labels depend on the texts batched with it (and on their padding). Here every row of
activations (one token) gets its own scale, so a text reads the same in any batch, at about the
same speed: the scale feeds ``MatMulIntegerToFloat`` as a per-row ``a_scale``.

Weights use 7 bits (-63..63). x86 CPUs without VNNI (AVX2 only) multiply u8 x s8 pairs into a
saturating int16, so full 8-bit weights give wrong sums there and labels that depend on the CPU;
with 7-bit weights no pair can saturate, and every x86 CPU computes the same integers.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper, version_converter

# Blocked QuantizeLinear (a scale per row) needs opset 21; the export is converted up to it.
OPSET = 21
# Activations are symmetric int8 shifted to uint8 (u8 x s8 is the fast integer GEMM on x86).
ZERO_POINT = 128
ACTIVATION_LEVELS = 127
# 255 * 63 * 2 = 32,130 fits the int16 that AVX2's u8 x s8 multiply-add saturates at (32,767).
WEIGHT_BITS = 7
WEIGHT_LEVELS = 2 ** (WEIGHT_BITS - 1) - 1
# The cached export's name follows the recipe, so a changed recipe is never served from an old file.
PER_TOKEN_FILE = f"model-int8-per-token-w{WEIGHT_BITS}.onnx"


class _PerTokenRewrite:
    """Rewrites every MatMul on a constant weight and every fused Attention into per-token int8."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.graph = model.graph
        self.weights = {t.name: t for t in self.graph.initializer}
        self.nodes: list[onnx.NodeProto] = []
        self.constants: list[onnx.TensorProto] = []
        self.quantized: dict[str, tuple[str, str]] = {}  # activation -> (uint8 tensor, row scales)
        self._constant("pt_one_over_levels", np.array(1 / ACTIVATION_LEVELS, np.float32))
        self._constant("pt_tiny", np.array(1e-12, np.float32))
        self._constant("pt_zero", np.array(0, np.float32))
        self._constant("pt_zero_point", np.array(ZERO_POINT, np.float32))
        self._constant("pt_zero_point_u8", np.array(ZERO_POINT, np.uint8))
        self._constant("pt_last_axis", np.array([-1], np.int64))

    def _constant(self, name: str, value: np.ndarray) -> str:
        self.constants.append(numpy_helper.from_array(value, name))
        return name

    def _weight(self, name: str) -> np.ndarray:
        return numpy_helper.to_array(self.weights[name]).astype(np.float32)

    def _quantize_rows(self, x: str, width: int) -> tuple[str, str]:
        """``x`` as uint8 with one symmetric scale per row (max |x| / 127), shared by every consumer."""
        if x not in self.quantized:
            p = f"pt_q{len(self.quantized)}_"
            self.nodes += [
                helper.make_node("Abs", [x], [p + "abs"]),
                helper.make_node("ReduceMax", [p + "abs", "pt_last_axis"], [p + "max"], keepdims=1),
                helper.make_node("Max", [p + "max", "pt_tiny"], [p + "range"]),
                helper.make_node("Mul", [p + "range", "pt_one_over_levels"], [p + "scale"]),
                # QuantizeLinear wants a zero point shaped like the scales: one per row, all 128
                helper.make_node("Mul", [p + "scale", "pt_zero"], [p + "zeros"]),
                helper.make_node("Add", [p + "zeros", "pt_zero_point"], [p + "zp_float"]),
                helper.make_node("Cast", [p + "zp_float"], [p + "zp"], to=onnx.TensorProto.UINT8),
                helper.make_node(
                    "QuantizeLinear", [x, p + "scale", p + "zp"], [p + "u8"], axis=-1, block_size=width
                ),
            ]
            self.quantized[x] = (p + "u8", p + "scale")
        return self.quantized[x]

    def _matmul(self, x: str, weight: np.ndarray, output: str, prefix: str) -> None:
        """``x @ weight`` with 7-bit weights (a scale per column) and x quantized per row.

        The bias stays outside: ``MatMulIntegerToFloat`` would add it before the row scale.
        """
        column_scale = np.maximum(np.abs(weight).max(axis=0), 1e-12) / WEIGHT_LEVELS
        quantized = np.clip(np.round(weight / column_scale), -WEIGHT_LEVELS, WEIGHT_LEVELS).astype(np.int8)
        x_u8, row_scale = self._quantize_rows(x, weight.shape[0])
        inputs = [
            x_u8,
            self._constant(prefix + "w_int8", quantized),
            row_scale,
            self._constant(prefix + "w_scale", column_scale.astype(np.float32)),
            "pt_zero_point_u8",
        ]
        self.nodes.append(helper.make_node("MatMulIntegerToFloat", inputs, [output], domain="com.microsoft"))

    def _attention(self, node: onnx.NodeProto, prefix: str) -> None:
        """A fused Attention becomes its QKV projection in int8 and ``MultiHeadAttention`` on the result."""
        x, weight, bias, mask = node.input[:4]
        heads = next(a.i for a in node.attribute if a.name == "num_heads")
        qkv = self._weight(weight)
        width = qkv.shape[1] // 3
        self._matmul(x, qkv, prefix + "qkv", prefix)
        sizes = self._constant(prefix + "sizes", np.array([width] * 3, np.int64))
        parts = [prefix + "q", prefix + "k", prefix + "v"]
        self.nodes += [
            helper.make_node("Split", [prefix + "qkv", sizes], parts, axis=-1),
            helper.make_node(
                "MultiHeadAttention",
                [*parts, bias, mask],
                list(node.output),
                domain="com.microsoft",
                num_heads=heads,
            ),
        ]

    def run(self) -> int:
        rewritten = 0
        for i, node in enumerate(self.graph.node):
            if node.op_type == "MatMul" and node.input[1] in self.weights:
                self._matmul(node.input[0], self._weight(node.input[1]), node.output[0], f"pt_m{i}_")
            elif node.op_type == "Attention" and node.domain == "com.microsoft":
                self._attention(node, f"pt_a{i}_")
            else:
                self.nodes.append(node)
                continue
            rewritten += 1
        self.graph.ClearField("node")
        self.graph.node.extend(self.nodes)
        self.graph.initializer.extend(self.constants)
        used = {name for node in self.graph.node for name in node.input}
        kept = [t for t in self.graph.initializer if t.name in used]
        self.graph.ClearField("initializer")
        self.graph.initializer.extend(kept)
        return rewritten


def quantize_per_token(source: Path, target: Path) -> int:
    """Write ``source`` with int8 weights and per-token int8 activations; returns the ops rewritten."""
    model = version_converter.convert_version(onnx.load(str(source)), OPSET)
    rewritten = _PerTokenRewrite(model).run()
    onnx.checker.check_model(model)
    onnx.save(model, str(target))
    return rewritten


def quantize_per_batch(source: Path, target: Path) -> None:
    """ONNX Runtime's dynamic quantization: one activation scale per batch, so labels depend on it."""
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
