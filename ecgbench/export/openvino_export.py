"""PyTorch -> OpenVINO IR at FP32 and FP16.

``ov.save_model`` compresses weights to FP16 by default; FP32 IR must pass ``compress_to_fp16=False``
or it silently is an FP16 IR.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from ecgbench.export.onnx_export import INPUT_NAME


def convert_to_openvino(model: torch.nn.Module, example: torch.Tensor):  # -> ov.Model
    import openvino as ov

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        ov_model = ov.convert_model(
            model.eval(),
            example_input=example,
            input=[(ov.PartialShape([-1, example.shape[1], -1]), ov.Type.f32)],
        )
    ov_model.inputs[0].get_tensor().set_names({INPUT_NAME})
    ov_model.outputs[0].get_tensor().set_names({"logits"})
    return ov_model


def save_ir(ov_model, path: str | os.PathLike[str], fp16: bool) -> Path:
    import openvino as ov

    path = Path(path)
    ov.save_model(ov_model, str(path), compress_to_fp16=fp16)
    return path
