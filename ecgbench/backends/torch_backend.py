"""PyTorch eager backend: the FP32 reference every exported variant is checked against, and BF16
through ``torch.autocast`` where the CPU executes BF16."""

from __future__ import annotations

import time
from typing import ClassVar

import numpy as np

from ecgbench.backends.base import Backend, LoadInfo, LoadSpec
from ecgbench.errors import BadInputError, DeviceNotFoundError
from ecgbench.precision import Arithmetic, Execution, unsupported


def _torch_device(device: str) -> str:
    import torch

    dev = device.upper()
    if dev == "CPU":
        return "cpu"
    if dev.startswith("GPU"):
        idx = dev.split(".")[1] if "." in dev else "0"
        if torch.cuda.is_available():
            return f"cuda:{idx}"
        if hasattr(torch, "xpu") and torch.xpu.is_available():
            return f"xpu:{idx}"
        raise DeviceNotFoundError("torch sees no GPU here (neither CUDA nor Intel XPU); use CPU")
    if dev.startswith("NPU"):
        raise DeviceNotFoundError("torch has no NPU backend; use the openvino backend for NPU")
    raise BadInputError(f"torch backend runs on CPU or GPU, not {device!r}")


class TorchBackend(Backend):
    NAME: ClassVar[str] = "torch"
    LISTED: ClassVar[int] = 2
    FORMAT: ClassVar[str] = "torch"  # the checkpoint itself: ``LoadSpec.artifact`` is the .pt
    PRECISIONS: ClassVar[tuple[str, ...]] = ("fp32", "bf16")
    RUNS_CHECKPOINT: ClassVar[bool] = True
    RUNTIME_MODULES: ClassVar[tuple[str, ...]] = ("torch", "ecgbench.checkpoint")

    @classmethod
    def plan(cls, precision: str, arith: Arithmetic, int8_rest: str = "f32") -> Execution:
        """The checkpoint itself: FP32, or BF16 through autocast where the CPU executes it."""
        if precision == "fp32":
            return Execution(cls.NAME, precision, "checkpoint", "f32", "f32")
        if precision == "bf16":
            if not arith.executes("bf16"):
                raise unsupported("BF16", arith)
            note = "torch.autocast(bfloat16)"
            return Execution(cls.NAME, precision, "checkpoint", "bf16", "bf16", note=note)
        raise BadInputError(f"torch runs fp32 and bf16 (autocast), not {precision}")

    SUFFIXES: ClassVar[tuple[str, ...]] = (".pt",)

    def __init__(self) -> None:
        self.model = None
        self._x = None
        self._y = None
        self._dev = "cpu"
        self._autocast: str | None = None

    def load(self, spec: LoadSpec) -> LoadInfo:
        import torch

        from ecgbench.checkpoint import load_checkpoint

        self._dev = _torch_device(spec.device)
        if spec.inference_precision not in (None, "f32", "bf16"):
            raise BadInputError(
                f"torch runs f32 or bf16 (autocast), not {spec.inference_precision}"
            )
        self._autocast = "bf16" if spec.inference_precision == "bf16" else None
        if spec.threads:
            torch.set_num_threads(spec.threads)
        t0 = time.perf_counter()
        self.model = load_checkpoint(spec.artifact).build_model().to(self._dev)
        compile_ms = (time.perf_counter() - t0) * 1e3
        arith, layers = self._layer_dtypes(spec.shape)
        return LoadInfo(
            compile_ms=compile_ms,
            execution_devices=[self._dev],
            inference_precision=arith,
            int8_layers=0,
            total_layers=layers,
            threads=torch.get_num_threads(),
            extra={"torch_threads": torch.get_num_threads()},
            read_from="layer outputs",
        )

    def _layer_dtypes(self, shape: tuple[int, int, int]) -> tuple[str, int]:
        """One call on zeros with a hook on every convolution and linear layer: the dtype their
        outputs came out in is the arithmetic their kernels ran (autocast's, or not)."""
        import torch

        seen: list[torch.dtype] = []
        kinds = (torch.nn.Conv1d, torch.nn.Linear)
        hooks = [
            m.register_forward_hook(lambda _m, _i, o: seen.append(o.dtype))
            for m in self.model.modules()
            if isinstance(m, kinds)
        ]
        try:
            self.set_input(np.zeros(shape, dtype=np.float32))
            self.run()
        finally:
            for h in hooks:
                h.remove()
            self._x = self._y = None
        names = {torch.bfloat16: "bf16", torch.float16: "f16", torch.float32: "f32"}
        ran = {names.get(d, str(d)) for d in seen}
        # mixed (autocast keeps some layers in f32): named by the lower precision that ran
        arith = next((p for p in ("bf16", "f16") if p in ran), "f32")
        return arith, len(seen)

    def set_input(self, x: np.ndarray) -> None:
        import torch

        self._x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self._dev)

    def run(self) -> None:
        import torch

        with torch.inference_mode():
            if self._autocast:
                with torch.autocast(self._dev.split(":")[0], dtype=torch.bfloat16):
                    self._y = self.model(self._x)
            else:
                self._y = self.model(self._x)
        if self._dev != "cpu":
            torch.cuda.synchronize() if self._dev.startswith("cuda") else torch.xpu.synchronize()

    def output(self) -> np.ndarray:
        return self._y.detach().float().cpu().numpy()

    def close(self) -> None:
        self.model = None
