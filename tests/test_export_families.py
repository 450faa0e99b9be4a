"""Every new family exports to ONNX and OpenVINO IR and reproduces PyTorch at FP32; INT8 quantizes
with real NNCF (the transformer with NNCF's transformer model type, with and without SmoothQuant)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import openvino as ov
import pytest
from conftest import make_checkpoint
from helpers_export import (
    TINY_PP,
    TINY_SAMPLES,
    export_options,
    reference_logits,
    tiny_input,
    write_record_folder,
)

from ecgbench.backends import LoadSpec, get_backend
from ecgbench.checkpoint import load_checkpoint, save_checkpoint
from ecgbench.export.pipeline import ModelExporter
from ecgbench.export.quantize import QuantSettings
from ecgbench.export.verify import TOLERANCES
from ecgbench.nets.resnet1d import ResNet1DConfig
from ecgbench.nets.transformer1d import Transformer1DConfig

TINY_FAMILIES = {
    "resnet1d": ResNet1DConfig(depths=(1, 1), widths=(8, 16), stem_width=8),
    "transformer1d": Transformer1DConfig(patch=10, dim=16, depth=1, heads=2, drop_path_rate=0.0),
}


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("family_records")
    write_record_folder(d)
    return d


def _checkpoint(family: str, d: Path) -> Path:
    p = d / f"tiny_{family}.pt"
    # decisive: a trained model's logits sit away from its thresholds, as the export checks assume
    save_checkpoint(make_checkpoint(TINY_FAMILIES[family], preprocessing=TINY_PP, decisive=True), p)
    return p


def _exporter(ckpt: Path, records: Path, cache: Path, **quant: object) -> ModelExporter:
    opts = export_options(cache, records, quant=QuantSettings(subset_size=8, **quant))
    return ModelExporter(ckpt.stem, load_checkpoint(ckpt), ckpt, opts)


@pytest.mark.parametrize("family", sorted(TINY_FAMILIES))
def test_each_family_exports_verifies_at_fp32_and_quantizes_to_int8(
    family: str, records: Path, tmp_path: Path
) -> None:
    ckpt = _checkpoint(family, tmp_path)
    ex = _exporter(ckpt, records, tmp_path / "cache")
    x = tiny_input(batch=2, seed=7)  # synthetic input, the torch logits every artifact must match
    ref = reference_logits(ckpt, x)
    for fmt, backend in (("openvino", "openvino"), ("onnx", "onnxruntime")):
        v = ex.variant(fmt, "fp32")
        ver = ex.verify(v)
        assert ver.passed and ver.max_abs <= TOLERANCES["fp32"][0], (fmt, ver.summary())
        b = get_backend(backend)
        hint = "f32" if backend == "openvino" else None
        b.load(LoadSpec(v.path, batch=2, samples=TINY_SAMPLES, inference_precision=hint))
        np.testing.assert_allclose(b.infer(x), ref, atol=1e-4, err_msg=f"{family} {fmt}")
        b.close()
    ir = ex.variant("openvino", "int8")
    qo = ex.variant("onnx", "int8")
    for v in (ir, qo):
        ver = ex.verify(v)
        assert ver.passed, (family, v.format, ver.summary())
        assert v.meta["calibration_records"] == 8
        assert v.meta["settings"]["quant"]["model_type"] == "transformer"
    assert "FakeQuantize" in ir.path.read_text()
    assert "QuantizeLinear" in {n.op_type for n in onnx.load(str(qo.path)).graph.node}


def _ops(path: Path) -> Counter[str]:
    return Counter(op.get_type_name() for op in ov.Core().read_model(path).get_ops())


def test_transformer_int8_with_and_without_smoothquant(records: Path, tmp_path: Path) -> None:
    ckpt = _checkpoint("transformer1d", tmp_path)
    cache = tmp_path / "cache"
    default = _exporter(ckpt, records, cache).variant("openvino", "int8")
    on = _exporter(ckpt, records, cache, smooth_quant=True).variant("openvino", "int8")
    off_ex = _exporter(ckpt, records, cache, smooth_quant=False)
    off = off_ex.variant("openvino", "int8")
    assert len({default.key, on.key, off.key}) == 3  # each choice is its own cached artifact
    assert "smooth_quant" not in default.meta["settings"]["quant"]  # unset: as before the option
    assert on.meta["settings"]["quant"]["smooth_quant"] is True
    assert off.meta["settings"]["quant"]["smooth_quant"] is False
    ops = {k: _ops(v.path) for k, v in (("default", default), ("on", on), ("off", off))}
    # SmoothQuant puts one scale (a Multiply) in front of each MatMul's activations; off: none.
    # NNCF's transformer model type turns it on by default.
    n_matmul = ops["off"]["MatMul"]
    assert n_matmul > 0 and ops["on"]["MatMul"] == n_matmul
    assert ops["on"]["Multiply"] - ops["off"]["Multiply"] == n_matmul
    assert ops["default"] == ops["on"]
    assert off_ex.verify(off).passed
