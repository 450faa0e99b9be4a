"""Backend name -> class. Add a backend by writing one module and one line here."""

from __future__ import annotations

from ecgbench.backends.base import Backend
from ecgbench.backends.onnxruntime_backend import ONNXRuntimeBackend
from ecgbench.backends.openvino_backend import OpenVINOBackend
from ecgbench.backends.torch_backend import TorchBackend

BACKENDS: dict[str, type[Backend]] = {
    "openvino": OpenVINOBackend,
    "onnxruntime": ONNXRuntimeBackend,
    "torch": TorchBackend,
}
