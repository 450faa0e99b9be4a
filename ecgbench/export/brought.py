"""Variants of a brought model: the file itself is the FP32 reference, the rest are made from it.

- ONNX brought: ``onnx`` FP32 is the file; OpenVINO FP32 / FP16 IR by ``ov.convert_model``;
  INT8 by NNCF for both (ONNX QDQ for ONNX Runtime, IR for OpenVINO).
- IR brought: ``openvino`` FP32 is the file; FP16 and INT8 IR from it; no ONNX variant exists.

Every variant is verified against the reference run as brought (ONNX Runtime, or OpenVINO at an
explicit f32 hint) on real records prepared per the card, with the tolerances of
:mod:`ecgbench.export.verify`, decisions taken with the card's activation and thresholds.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ecgbench.card import ModelCard
from ecgbench.errors import BadInputError, EcgbenchError
from ecgbench.export.brought_records import CardRecords
from ecgbench.export.build import ExportedVariant, ExportOptions, check_variant
from ecgbench.export.cache import (
    ExportCache,
    cache_key,
    load_verification,
    save_verification,
    verification_path,
)
from ecgbench.export.verify import Verification, compare_logits, default_hint
from ecgbench.zoo import ZooEntry


class VariantUnavailable(BadInputError):
    """A (format, precision) a brought model cannot have (an IR has no ONNX form)."""


class Int8Unavailable(VariantUnavailable):
    """An INT8 variant NNCF cannot make from this graph; the message says why, in one line."""


def _first_line(e: Exception) -> str:
    said = str(e).strip().splitlines()
    return said[0][:240] if said else type(e).__name__


class BroughtExporter:
    """Exports and verification of one brought zoo entry (the ModelExporter interface)."""

    def __init__(self, entry: ZooEntry, card: ModelCard, path: Path, opts: ExportOptions) -> None:
        self.name = entry.name
        self.entry = entry
        self.card = card
        self.path = path  # verified against the manifest by the caller (Zoo.verify)
        self.kind = "onnx" if path.suffix.lower() == ".onnx" else "openvino"
        self.ckpt_sha = entry.sha256
        self.opts = opts
        self.cache = ExportCache(opts.cache_dir)
        self.records = CardRecords(card, opts)
        self.thresholds = np.asarray(card.thresholds)
        self._reference: dict[tuple[Any, str], np.ndarray] = {}  # outputs by input digest

    def settings(self, fmt: str, precision: str) -> dict[str, Any]:
        s: dict[str, Any] = {"input": list(self.card.input_shape()), "card": self.card.to_dict()}
        s.update(exporter="ov.convert_model", compress_to_fp16=precision == "fp16")
        if precision == "int8":
            s["quant"] = self.opts.quant.to_dict()
            s["calibration"] = self.records.calibration_id()
        return s

    def variant(self, fmt: str, precision: str) -> ExportedVariant:
        check_variant(fmt, precision)
        if fmt == "onnx" and self.kind == "openvino":
            raise VariantUnavailable(f"{self.name} was brought as OpenVINO IR: it has no ONNX form")
        t0 = time.perf_counter()
        if precision == "fp32" and fmt == self.kind:  # the file itself
            return ExportedVariant(self.name, fmt, precision, self.path, self.ckpt_sha, "zoo", 0.0)
        key = cache_key(self.ckpt_sha, fmt, precision, self.settings(fmt, precision))
        entry = None if self.opts.force else self.cache.lookup(key)
        source = "cache"
        if entry is None:
            entry = self.cache.store(key, lambda tmp: self._build(fmt, precision, tmp))
            source = "built"
        return ExportedVariant(
            self.name, fmt, precision, entry.main, key, source, time.perf_counter() - t0, entry.meta
        )

    def _ov_model(self) -> Any:
        import openvino as ov

        if self.kind == "onnx":
            return ov.convert_model(str(self.path))
        return ov.Core().read_model(str(self.path))

    def _build(self, fmt: str, precision: str, tmp: Path) -> tuple[str, dict[str, Any]]:
        from ecgbench.export.openvino_export import save_ir

        meta: dict[str, Any] = {"model": self.name, "format": fmt, "precision": precision}
        t0 = time.perf_counter()
        if fmt == "openvino" and precision != "int8":
            save_ir(self._ov_model(), tmp / "model.xml", fp16=precision == "fp16")
            main = "model.xml"
        elif fmt == "openvino":
            main = "model.xml"
            meta.update(self._int8_ir(tmp / main))
        else:
            main = "model.onnx"
            meta.update(self._int8_onnx(tmp / main))
        meta["build_seconds"] = time.perf_counter() - t0
        meta["settings"] = self.settings(fmt, precision)
        meta["checkpoint_sha256"] = self.ckpt_sha
        return main, meta

    def _int8_ir(self, xml: Path) -> dict[str, Any]:
        from ecgbench.export.openvino_export import save_ir
        from ecgbench.export.quantize import quantize_int8

        calib = self.records.calibration()
        model = self._ov_model()
        try:
            q = quantize_int8(
                model, calib, self.opts.quant, input_name=model.inputs[0].get_any_name()
            )
        except EcgbenchError:
            raise
        except Exception as e:  # NNCF raises many types for a graph it cannot quantize
            raise Int8Unavailable(
                f"NNCF cannot make an INT8 IR of {self.name}: {_first_line(e)}"
            ) from None
        save_ir(q.model, xml, fp16=False)
        return {"calibration_seconds": q.seconds, "calibration_records": q.calibration_records}

    def _int8_onnx(self, dest: Path) -> dict[str, Any]:
        import onnx

        from ecgbench.export.quantize import quantize_onnx_int8

        calib = self.records.calibration()
        name = onnx.load(str(self.path), load_external_data=False).graph.input[0].name
        t0 = time.perf_counter()
        try:
            q = quantize_onnx_int8(str(self.path), calib, self.opts.quant, input_name=name)
        except Exception as e:  # NNCF raises many types for a graph it cannot quantize
            raise Int8Unavailable(
                f"NNCF cannot make an INT8 ONNX of {self.name}: {_first_line(e)}"
            ) from None
        onnx.save(q, str(dest))
        return {"calibration_seconds": time.perf_counter() - t0, "calibration_records": len(calib)}

    # ------------------------------------------------------------------ verification
    def reference_outputs(self, x: np.ndarray) -> np.ndarray:
        """The file as brought, on ``x``: ONNX Runtime, or OpenVINO at an explicit f32 hint."""
        import hashlib

        from ecgbench.brought import ModelFile, run_once

        key = (x.shape, hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest())
        if key not in self._reference:
            mf = ModelFile(self.kind, self.path, (self.path,), self.card.input_shape())
            self._reference[key] = np.concatenate(
                [run_once(mf, self.card, x[i : i + 1]) for i in range(len(x))]
            )
        return self._reference[key]

    def verify(
        self, v: ExportedVariant, hint: str | None = None, precision: str | None = None
    ) -> Verification:
        from ecgbench.backends import LoadSpec, get_backend
        from ecgbench.precision import executed_label

        hint = hint or default_hint(v.backend, v.precision)
        ids = self.records.verification_ids()
        path = verification_path(self.cache.root, v.path, self.ckpt_sha, v.precision, hint, ids)
        cached = None if self.opts.force else load_verification(path)
        if cached is not None:
            v.verification = cached
            return cached
        x, real = self.records.verification_inputs()
        ref = self.reference_outputs(x)
        b = get_backend(v.backend)
        spec = LoadSpec(
            artifact=v.path,
            channels=self.card.channels,
            samples=self.card.samples,
            layout=self.card.layout,
            inference_precision=hint,
        )
        info = b.load(spec)
        cand = np.concatenate([b.infer(x[i : i + 1]) for i in range(len(x))])
        b.close()
        v.verification = compare_logits(
            ref,
            cand,
            self.thresholds,
            precision or v.precision,
            real_records=real,
            executed=executed_label(v.precision, info.inference_precision, info.int8_layers),
            activation=self.card.activation,
        )
        save_verification(path, v.verification)
        return v.verification


def brought_exporter(zoo: Any, name: str, opts: ExportOptions) -> BroughtExporter:
    """The exporter of a brought zoo entry, its files checked against the manifest first."""
    from ecgbench.zoo_brought import card_of

    entry = zoo.get(name)
    path = zoo.verify(name)
    return BroughtExporter(entry, card_of(entry), path, opts)
