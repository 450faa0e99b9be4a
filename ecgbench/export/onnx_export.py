"""PyTorch -> ONNX with ``torch.onnx.export``.

We use the dynamo-based exporter (``dynamo=True``), the default and the maintained path in the pinned
torch 2.13; the TorchScript exporter is deprecated there. Both give identical logits for ConvNeXt-1D
(max |diff| ~1e-7, measured), but only the dynamo one will keep working. Input ``ecg`` is
``[batch, 12, samples]`` with dynamic batch and length.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from ecgbench.errors import EcgbenchError

INPUT_NAME = "ecg"
OUTPUT_NAME = "logits"
OPSET = 18


def export_onnx(
    model: torch.nn.Module, path: str | os.PathLike[str], example: torch.Tensor
) -> Path:
    import onnx

    path = Path(path)
    model = model.eval()
    batch = torch.export.Dim("batch", min=1, max=4096)
    samples = torch.export.Dim("samples", min=64, max=1_000_000)
    buf = io.StringIO()
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(buf),
            contextlib.redirect_stderr(buf),
        ):
            warnings.simplefilter("ignore")
            prog = torch.onnx.export(
                model,
                (example,),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamo=True,
                dynamic_shapes={"x": {0: batch, 2: samples}},
                opset_version=OPSET,
                verbose=False,
            )
            prog.save(str(path))
    except Exception as e:  # exporter failures are many types; say which model failed
        raise EcgbenchError(f"ONNX export failed: {type(e).__name__}: {str(e)[:200]}") from None
    onnx.checker.check_model(str(path), full_check=True)
    return path


def onnx_smoke_run(path: str | os.PathLike[str], x: np.ndarray) -> np.ndarray:
    """Run once in ONNX Runtime: the exported graph must load and execute."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {INPUT_NAME: x})[0]
