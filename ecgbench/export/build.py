"""Building one variant (format × precision) of a checkpoint into a folder, and what one is."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ecgbench.data.folds import FoldSplit
from ecgbench.data.preprocess import Preprocessing
from ecgbench.errors import BadInputError
from ecgbench.export.onnx_export import OPSET, export_onnx, onnx_smoke_run
from ecgbench.export.openvino_export import convert_to_openvino, save_ir
from ecgbench.export.quantize import QuantSettings, quantize_int8, quantize_onnx_int8
from ecgbench.export.sources import RecordSource
from ecgbench.export.verify import Verification

FORMATS = ("openvino", "onnx")
FORMAT_PRECISIONS: dict[str, tuple[str, ...]] = {
    "openvino": ("fp32", "fp16", "int8"),
    # FP16 ONNX is left out on purpose: ONNX Runtime's CPU provider has no FP16 kernels for most of
    # these ops and inserts casts, so it would measure casts, not FP16.
    "onnx": ("fp32", "int8"),
}

ValidateFn = Callable[[Any, Iterable[tuple[np.ndarray, np.ndarray]]], float]


@dataclass
class ExportOptions:
    cache_dir: Path | None = None
    force: bool = False
    calibration_dir: Path | None = None  # None: the default data dir, if any
    calibration_folds: tuple[int, ...] = FoldSplit().train
    validation_folds: tuple[int, ...] = FoldSplit().val
    quant: QuantSettings = field(default_factory=QuantSettings)
    verify_records: int = 64
    show_progress: bool = True

    def record_source(self, pp: Preprocessing) -> RecordSource:
        return RecordSource(
            pp=pp,
            explicit_dir=self.calibration_dir,
            calibration_folds=self.calibration_folds,
            validation_folds=self.validation_folds,
            calibration_size=self.quant.subset_size,
            verify_records=self.verify_records,
            show_progress=self.show_progress,
        )


@dataclass
class ExportedVariant:
    model: str
    format: str
    precision: str
    path: Path
    key: str
    source: str  # "cache" | "built" | "zoo"
    seconds: float
    meta: dict[str, Any] = field(default_factory=dict)
    verification: Verification | None = None

    @property
    def backend(self) -> str:
        from ecgbench.backends import backend_for_format

        return backend_for_format(self.format)


def parse_precisions(spec: str, allowed: tuple[str, ...] = ("fp32", "fp16", "int8")) -> list[str]:
    """``"all"`` or a comma list -> precisions; the default ``allowed`` are the exported artifacts."""
    out = (
        list(allowed)
        if spec == "all"
        else [p.strip().lower() for p in spec.split(",") if p.strip()]
    )
    bad = [p for p in out if p not in allowed]
    if bad or not out:
        hint = " (bf16 runs the FP32 artifact: export fp32)" if "bf16" in bad else ""
        raise BadInputError(
            f"unknown precision {', '.join(bad) or spec!r}; use {', '.join(allowed)}, all{hint}"
        )
    return out


def parse_formats(spec: str) -> list[str]:
    out = list(FORMATS) if spec == "all" else [f.strip().lower() for f in spec.split(",")]
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise BadInputError(f"unknown format {', '.join(bad) or spec!r}; use openvino, onnx, all")
    return out


def check_variant(fmt: str, precision: str) -> None:
    """Bad input, in one line, for a (format, precision) that is never exported."""
    if fmt not in FORMAT_PRECISIONS:
        raise BadInputError(f"unknown format {fmt!r}; use {', '.join(FORMATS)}")
    if precision not in FORMAT_PRECISIONS[fmt]:
        raise BadInputError(
            f"{fmt} export has no {precision} variant (available: "
            f"{', '.join(FORMAT_PRECISIONS[fmt])})"
        )


def challenge_validator(thresholds: np.ndarray) -> ValidateFn:
    """NNCF's ``validation_fn`` for ``--max-drop``: the Challenge score of a compiled model."""
    from ecgbench.data.classes import load_weights
    from ecgbench.metrics.challenge import compute_challenge_metric
    from ecgbench.train.evaluate import sigmoid

    weights = load_weights(None)

    def validate(compiled: Any, items: Iterable[tuple[np.ndarray, np.ndarray]]) -> float:
        logits, labels = [], []
        for x, y in items:
            logits.append(np.asarray(compiled(x)[0]))
            labels.append(y)
        probs = sigmoid(np.concatenate(logits).astype(np.float64))
        y = np.stack(labels).astype(bool)
        return compute_challenge_metric(weights.matrix, y, probs >= thresholds, weights.classes)

    return validate


class VariantBuilder:
    """Builds the artifacts of one checkpoint; the FP32 OpenVINO graph is converted once for all IR."""

    def __init__(
        self,
        model: torch.nn.Module,
        example: torch.Tensor,
        thresholds: np.ndarray,
        quant: QuantSettings,
        records: RecordSource,
    ) -> None:
        self.model = model
        self.example = example
        self.thresholds = thresholds
        self.quant = quant
        self.records = records
        self._ov_fp32: Any = None

    def ov_fp32_model(self) -> Any:
        if self._ov_fp32 is None:
            self._ov_fp32 = convert_to_openvino(self.model, self.example)
        return self._ov_fp32

    def settings(self, fmt: str, precision: str) -> dict[str, Any]:
        """Everything the artifact depends on besides the checkpoint and library versions."""
        pp = self.records.pp
        s: dict[str, Any] = {"input": [12, pp.eval_samples], "fs": pp.fs}
        if fmt == "onnx":
            s.update(exporter="torch.onnx.export(dynamo=True)", opset=OPSET)
        else:
            s.update(exporter="ov.convert_model", compress_to_fp16=precision == "fp16")
        if precision == "int8":
            s["quant"] = self.quant.to_dict()
            s["calibration"] = self.records.calibration_id()
        return s

    def build(
        self, fmt: str, precision: str, dest: Path, onnx_fp32: Callable[[], Path]
    ) -> tuple[str, dict[str, Any]]:
        """(main file name, what the build measured); ``onnx_fp32`` is the graph ONNX INT8 quantizes."""
        if fmt == "openvino" and precision == "int8":
            return "model.xml", self._openvino_int8(dest / "model.xml")
        if fmt == "openvino":
            save_ir(self.ov_fp32_model(), dest / "model.xml", fp16=precision == "fp16")
            return "model.xml", {}
        if precision == "fp32":
            export_onnx(self.model, dest / "model.onnx", self.example)
            onnx_smoke_run(dest / "model.onnx", self.example.numpy())
            return "model.onnx", {}
        return "model.onnx", self._onnx_int8(onnx_fp32(), dest / "model.onnx")

    def _openvino_int8(self, xml: Path) -> dict[str, Any]:
        calib = self.records.calibration_set().eval_array()
        validation, validate_fn = self._accuracy_control()
        # NNCF writes into the rt_info of the model it is given: quantize a copy, so the FP32 / FP16
        # IR saved later from the same graph stays byte-identical to a fresh export.
        q = quantize_int8(self.ov_fp32_model().clone(), calib, self.quant, validation, validate_fn)
        save_ir(q.model, xml, fp16=False)
        return {
            **q.accuracy_control,
            "calibration_seconds": q.seconds,
            "calibration_records": q.calibration_records,
        }

    def _accuracy_control(
        self,
    ) -> tuple[tuple[np.ndarray, np.ndarray] | None, ValidateFn | None]:
        """Validation records and score function, only when ``--max-drop`` asks for them."""
        if self.quant.max_drop is None:
            return None, None
        val = self.records.accuracy_control_set()
        return (val.eval_array(), val.labels), challenge_validator(self.thresholds)

    def _onnx_int8(self, fp32: Path, dest: Path) -> dict[str, Any]:
        import onnx

        calib = self.records.calibration_set().eval_array()
        t0 = time.perf_counter()
        q = quantize_onnx_int8(str(fp32), calib, self.quant)
        seconds = time.perf_counter() - t0
        onnx.save(q, str(dest))
        onnx_smoke_run(dest, self.example.numpy())
        return {"calibration_seconds": seconds, "calibration_records": len(calib)}
