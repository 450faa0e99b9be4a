"""INT8 post-training quantization with NNCF on real preprocessed records.

Choices for ConvNeXt-1D (measured on the zoo, see README): ``preset=MIXED`` (symmetric weights,
asymmetric activations: GELU outputs and LayerNorm'd features are not centred on zero) and
``model_type=TRANSFORMER``, which keeps NNCF from quantizing the LayerNorm / residual-add patterns
that lose most accuracy and uses SmoothQuant-style handling for the Linear (MatMul) layers that hold
almost all of the FLOPs. Calibration runs on the full 10 s window the model is evaluated on.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ecgbench.errors import EcgbenchError
from ecgbench.export.onnx_export import INPUT_NAME


@dataclass(frozen=True)
class QuantSettings:
    preset: str = "mixed"  # "performance" | "mixed"
    model_type: str | None = "transformer"  # None | "transformer"
    subset_size: int = 300
    fast_bias_correction: bool = True
    ignored_types: tuple[str, ...] = ()
    max_drop: float | None = None  # quantize_with_accuracy_control when set
    # SmoothQuant (Xiao et al., 2023) on the MatMuls: None = NNCF's default for the model type (on
    # for "transformer"), False = off. Attention and softmax are where the transformer family
    # needs it; the manifest records what each bundled artifact was built with.
    smooth_quant: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ignored_types"] = list(self.ignored_types)
        if self.smooth_quant is None:  # unset: the settings (and cache keys) of before the option
            del d["smooth_quant"]
        return d


@dataclass
class QuantResult:
    model: Any
    seconds: float
    calibration_records: int
    accuracy_control: dict[str, Any] = field(default_factory=dict)


def _nncf_args(s: QuantSettings) -> dict[str, Any]:
    import nncf

    kw: dict[str, Any] = {
        "preset": nncf.QuantizationPreset.MIXED
        if s.preset == "mixed"
        else nncf.QuantizationPreset.PERFORMANCE,
        "subset_size": s.subset_size,
        "fast_bias_correction": s.fast_bias_correction,
    }
    if s.model_type == "transformer":
        kw["model_type"] = nncf.ModelType.TRANSFORMER
    if s.ignored_types:
        kw["ignored_scope"] = nncf.IgnoredScope(types=list(s.ignored_types))
    if s.smooth_quant is not None:
        from nncf.quantization.advanced_parameters import (
            AdvancedQuantizationParameters,
            AdvancedSmoothQuantParameters,
        )

        # a negative alpha switches SmoothQuant off for that layer type
        alphas = (
            AdvancedSmoothQuantParameters()
            if s.smooth_quant
            else (AdvancedSmoothQuantParameters(convolution=-1, matmul=-1))
        )
        kw["advanced_parameters"] = AdvancedQuantizationParameters(smooth_quant_alphas=alphas)
    return kw


@contextlib.contextmanager
def _silenced():
    """NNCF draws its own progress bars; ours (``ecgbench export``) already says what runs."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


def _quiet_nncf() -> None:
    os.environ.setdefault("NNCF_DISABLE_PROGRESS_BAR", "1")
    logging.getLogger("nncf").setLevel(logging.ERROR)
    try:
        import nncf

        nncf.set_log_level(logging.ERROR)
    except (ImportError, AttributeError):  # pragma: no cover
        pass


def quantize_int8(
    ov_model,
    calibration: np.ndarray,
    settings: QuantSettings,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    validate_fn: Callable[[Any, Sequence[tuple[np.ndarray, np.ndarray]]], float] | None = None,
    input_name: str = INPUT_NAME,
) -> QuantResult:
    """Quantize an ``ov.Model``; ``calibration`` is [N, 12, T] of real preprocessed records."""
    import time

    import nncf

    _quiet_nncf()
    if len(calibration) == 0:
        raise EcgbenchError("no calibration records: INT8 needs real records (--calibration DIR)")
    items = [calibration[i : i + 1] for i in range(len(calibration))]
    ds = nncf.Dataset(items, lambda x: {input_name: x})
    kw = _nncf_args(settings)
    kw["subset_size"] = min(settings.subset_size, len(items))
    t0 = time.perf_counter()
    info: dict[str, Any] = {}
    if settings.max_drop is not None:
        if validation is None or validate_fn is None:
            raise EcgbenchError("--max-drop needs validation records (the validation fold)")
        xv, yv = validation
        vitems = [(xv[i : i + 1], yv[i]) for i in range(len(xv))]
        vds = nncf.Dataset(vitems, lambda item: {INPUT_NAME: item[0]})
        with _silenced():
            q = nncf.quantize_with_accuracy_control(
                ov_model,
                calibration_dataset=ds,
                validation_dataset=vds,
                validation_fn=validate_fn,
                max_drop=settings.max_drop,
                drop_type=nncf.DropType.ABSOLUTE,
                **kw,
            )
        info = {"max_drop": settings.max_drop}
    else:
        with _silenced():
            q = nncf.quantize(ov_model, ds, **kw)
    return QuantResult(
        model=q,
        seconds=time.perf_counter() - t0,
        calibration_records=kw["subset_size"],
        accuracy_control=info,
    )


def quantize_onnx_int8(
    onnx_path: str, calibration: np.ndarray, settings: QuantSettings, input_name: str = INPUT_NAME
):
    """INT8 ONNX (QDQ) through NNCF's ONNX backend, for ONNX Runtime."""
    import nncf
    import onnx

    _quiet_nncf()
    model = onnx.load(onnx_path)
    items = [calibration[i : i + 1] for i in range(len(calibration))]
    ds = nncf.Dataset(items, lambda x: {input_name: x})
    kw = _nncf_args(settings)
    kw["subset_size"] = min(settings.subset_size, len(items))
    with _silenced():
        return nncf.quantize(model, ds, **kw)
