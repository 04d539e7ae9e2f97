"""Int8 with a scale per token, on small real ONNX graphs run by ONNX Runtime: a row's result is
the per-row reference arithmetic, whatever rows share its batch; the per-batch variant is not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from model_service.quantization import WEIGHT_LEVELS, quantize_per_batch, quantize_per_token

K, N, HEADS = 64, 48, 4
RNG = np.random.default_rng(7)
WEIGHT = RNG.normal(0, 0.2, (K, N)).astype(np.float32)


def save(path: Path, nodes: list, inputs: list, output: str, initializers: list) -> Path:
    graph = helper.make_graph(
        nodes,
        "g",
        inputs,
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", "seq", None])],
        initializers,
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    onnx.save(helper.make_model(graph, opset_imports=opsets, ir_version=10), str(path))
    return path


def matmul_model(path: Path) -> Path:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", K])
    node = helper.make_node("MatMul", ["x", "w"], ["y"])
    return save(path, [node], [x], "y", [numpy_helper.from_array(WEIGHT, "w")])


def attention_model(path: Path) -> Path:
    """ONNX Runtime's fused Attention (what the BERT optimizer makes of the encoder's self-attention)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", K])
    lengths = helper.make_tensor_value_info("lengths", TensorProto.INT32, ["batch"])
    qkv = RNG.normal(0, 0.2, (K, 3 * K)).astype(np.float32)
    bias = RNG.normal(0, 0.1, (3 * K,)).astype(np.float32)
    node = helper.make_node(
        "Attention", ["x", "qkv", "bias", "lengths"], ["y"], domain="com.microsoft", num_heads=HEADS
    )
    inits = [numpy_helper.from_array(qkv, "qkv"), numpy_helper.from_array(bias, "bias")]
    return save(path, [node], [x, lengths], "y", inits)


def run(path: Path, **inputs: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, inputs)[0]


def per_token_reference(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """What per-token int8 computes: symmetric row scales for x, 7-bit column scales for the weight."""
    row = np.maximum(np.abs(x).max(axis=-1, keepdims=True), 1e-12) / 127
    column = np.maximum(np.abs(weight).max(axis=0), 1e-12) / WEIGHT_LEVELS
    xq = np.clip(np.rint(x / row), -127, 127)
    wq = np.clip(np.rint(weight / column), -WEIGHT_LEVELS, WEIGHT_LEVELS)
    return (xq @ wq) * row * column


def per_token(fp32: Path) -> tuple[Path, set[str]]:
    """The per-token rewrite of a one-op graph, and the ops it has."""
    int8 = fp32.with_name("int8.onnx")
    assert quantize_per_token(fp32, int8) == 1
    return int8, {node.op_type for node in onnx.load(str(int8)).graph.node}


def test_a_row_is_quantized_on_its_own(tmp_path: Path) -> None:
    int8, ops = per_token(matmul_model(tmp_path / "fp32.onnx"))
    assert "MatMulIntegerToFloat" in ops and "MatMul" not in ops
    x = RNG.normal(0, 1, (3, 5, K)).astype(np.float32)
    x[1, 2] *= 50  # one loud token: with one scale per batch it would coarsen every other row
    got = run(int8, x=x)
    np.testing.assert_allclose(got, per_token_reference(x, WEIGHT), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got, x @ WEIGHT, atol=0.05 * np.abs(x @ WEIGHT).max())
    alone = run(int8, x=x[:1, :3])
    np.testing.assert_allclose(alone, got[:1, :3], rtol=0, atol=1e-6)


def test_no_weight_can_saturate_the_avx2_integer_product(tmp_path: Path) -> None:
    """Without VNNI, x86 adds two u8 x s8 products in a saturating int16: with |w| <= 63 no pair
    reaches it, so a CPU with and a CPU without VNNI compute the same sums (and labels)."""
    for build in (matmul_model, attention_model):
        folder = tmp_path / build.__name__
        folder.mkdir()
        int8, _ = per_token(build(folder / "fp32.onnx"))
        weights = [numpy_helper.to_array(t) for t in onnx.load(str(int8)).graph.initializer]
        int8_weights = [w for w in weights if w.dtype == np.int8]
        assert int8_weights
        assert all(np.abs(w.astype(np.int32)).max() == WEIGHT_LEVELS for w in int8_weights)
    assert np.iinfo(np.int16).max >= 255 * WEIGHT_LEVELS * 2


def test_one_scale_per_batch_makes_a_row_depend_on_its_neighbours(tmp_path: Path) -> None:
    """The reason for the per-token default: the same row, alone and beside a loud one, differs."""
    fp32 = matmul_model(tmp_path / "fp32.onnx")
    int8 = tmp_path / "int8-per-batch.onnx"
    quantize_per_batch(fp32, int8)
    x = RNG.normal(0, 1, (2, 4, K)).astype(np.float32)
    x[1] *= 50
    beside = run(int8, x=x)[:1]
    alone = run(int8, x=x[:1])
    assert np.abs(beside - alone).max() > 1e-3


def test_fused_attention_keeps_its_bias_and_padding_mask(tmp_path: Path) -> None:
    fp32 = attention_model(tmp_path / "fp32.onnx")
    int8, ops = per_token(fp32)
    assert "MultiHeadAttention" in ops and "Attention" not in ops
    x = RNG.normal(0, 1, (3, 6, K)).astype(np.float32)
    lengths = np.array([6, 4, 2], np.int32)
    want = run(fp32, x=x, lengths=lengths)
    got = run(int8, x=x, lengths=lengths)
    for i, n in enumerate(lengths):
        np.testing.assert_allclose(got[i, :n], want[i, :n], atol=0.05 * np.abs(want[i, :n]).max())
        padded_less = run(int8, x=np.ascontiguousarray(x[i : i + 1, :n]), lengths=np.array([n], np.int32))
        np.testing.assert_allclose(padded_less[0], got[i, :n], rtol=0, atol=1e-5)
