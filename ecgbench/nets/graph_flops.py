"""FLOPs and parameters counted from a graph (ONNX or OpenVINO IR) at one input shape.

A brought model has no torch module to run under ``FlopCounterMode``, so its cost is read from the
graph itself, counted as torch counts: a multiply-add is 2 FLOPs, in Convolution, GroupConvolution
MatMul (ONNX Gemm becomes MatMul in OpenVINO) and ScaledDotProductAttention, and the input and recurrent products of GRU,
LSTM and RNN sequences (which torch's counter does not see); element-wise ops, norms and
activations are not counted. Parameters are the elements of the float constants that are not scalars.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ecgbench.nets.flops import Complexity

_FLOAT = ("f32", "f16", "bf16", "f64")


def _static(shape: Any) -> list[int]:
    return [int(d) for d in shape.to_shape()]


def _weight_shape(node: Any) -> list[int]:
    return _static(node.input_value(1).get_partial_shape())


# recurrent sequence op -> (input index of W, of R): X [B, T, I], W [dirs, gates*H, I], R [.., H]
_RECURRENT = {"GRUSequence": (3, 4), "RNNSequence": (3, 4), "LSTMSequence": (4, 5)}


def _recurrent_flops(node: Any, w_at: int, r_at: int) -> int:
    b, t = _static(node.input_value(0).get_partial_shape())[:2]
    w = _static(node.input_value(w_at).get_partial_shape())
    r = _static(node.input_value(r_at).get_partial_shape())
    return 2 * b * t * (int(np.prod(w)) + int(np.prod(r)))


def _attention_flops(node: Any) -> int:
    """Q K^T and the weighted sum of V: Q [.., L, E], K [.., S, E], V [.., S, Ev] (softmax: 0)."""
    q = _static(node.input_value(0).get_partial_shape())
    k = _static(node.input_value(1).get_partial_shape())
    v = _static(node.input_value(2).get_partial_shape())
    lead = int(np.prod(q[:-2]))
    return 2 * lead * q[-2] * k[-2] * (q[-1] + v[-1])


def op_flops(node: Any) -> int:
    """FLOPs of one OpenVINO node (0 for element-wise ops, norms, activations)."""
    kind = node.get_type_name()
    if kind in _RECURRENT:
        return _recurrent_flops(node, *_RECURRENT[kind])
    if kind == "ScaledDotProductAttention":
        return _attention_flops(node)
    if kind not in ("Convolution", "GroupConvolution", "MatMul"):
        return 0
    out = int(np.prod(_static(node.get_output_partial_shape(0))))
    if kind == "Convolution":  # weights [Cout, Cin, k...]
        return 2 * out * int(np.prod(_weight_shape(node)[1:]))
    if kind == "GroupConvolution":  # weights [G, Cout/G, Cin/G, k...]
        return 2 * out * int(np.prod(_weight_shape(node)[2:]))
    a = _static(node.input_value(0).get_partial_shape())
    transpose_a = bool(node.get_attributes().get("transpose_a", False))
    k = a[-2] if transpose_a and len(a) > 1 else a[-1]
    return 2 * out * int(k)


def graph_complexity(model: Any, input_shape: tuple[int, ...]) -> Complexity:
    """``model``: a path to ``.onnx`` / ``.xml`` or an ``ov.Model`` (reshaped to ``input_shape``)."""
    import openvino as ov

    m = ov.Core().read_model(str(model)) if isinstance(model, str | Path) else model.clone()
    m.reshape({m.inputs[0].get_any_name(): ov.PartialShape(list(input_shape))})
    flops = params = 0
    for node in m.get_ordered_ops():
        flops += op_flops(node)
        if node.get_type_name() == "Constant" and node.get_element_type().get_type_name() in _FLOAT:
            n = int(np.prod(_static(node.get_output_partial_shape(0))))
            params += n if n > 1 else 0
    return Complexity(params=params, flops=flops, input_shape=tuple(input_shape))
