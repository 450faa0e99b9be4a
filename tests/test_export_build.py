"""Building variants: every (format, precision) of a tiny checkpoint, verified against PyTorch and
really at that precision; bad input in one line; and, with the real records in ../shared, every
variant exported and verified on them."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from helpers_export import (
    ALL_VARIANTS,
    SYNTH_QUANT,
    TINY_SAMPLES,
    RealExports,
    TinySession,
    exporter,
    needs_real_data,
    one_line,
    real_exports,
    reference_logits,
    tiny_input,
)

from ecgbench.backends import LoadSpec, get_backend
from ecgbench.errors import BadInputError
from ecgbench.export.build import parse_formats, parse_precisions
from ecgbench.export.pipeline import export_models
from ecgbench.export.verify import TOLERANCES
from ecgbench.fileio import sha256_file
from ecgbench.zoo import Zoo


# --------------------------------------------------------------------------- every variant
def test_every_variant_is_built_verified_and_really_that_precision(tiny: TinySession) -> None:
    keys = set()
    for fmt, prec in ALL_VARIANTS:
        v = tiny.variants[(fmt, prec)]
        assert v.source == "built" and v.path.is_file(), (fmt, prec)
        assert v.meta["settings"]["fs"] == 100.0
        assert v.meta["settings"]["input"] == [12, TINY_SAMPLES]
        assert v.meta["checkpoint_sha256"] == sha256_file(tiny.ckpt)
        keys.add(v.key)
        ver = tiny.exporter.verify(v)
        # the synthetic folder's validation fold (9) holds two records: verified on those
        assert ver.real_records and ver.n_records == 2, ver
        assert ver.passed, (fmt, prec, ver.summary())
        assert ver.max_abs <= TOLERANCES[prec][0]
    assert len(keys) == len(ALL_VARIANTS)  # compress_to_fp16, format and quantization all key

    xml = {p: tiny.artifact("openvino", p).read_text() for p in ("fp32", "fp16", "int8")}
    assert 'element_type="f16"' in xml["fp16"] and 'element_type="f16"' not in xml["fp32"]
    assert "FakeQuantize" in xml["int8"] and "FakeQuantize" not in xml["fp32"]
    ops = {
        p: {n.op_type for n in onnx.load(str(tiny.artifact("onnx", p))).graph.node}
        for p in ("fp32", "int8")
    }
    assert "QuantizeLinear" in ops["int8"] and "QuantizeLinear" not in ops["fp32"]
    int8 = tiny.variants[("openvino", "int8")].meta
    assert int8["calibration_records"] == 8  # every record of folds 1-8, at both 100 and 500 Hz
    assert int8["settings"]["quant"] == SYNTH_QUANT.to_dict()


def test_fp32_artifacts_reproduce_the_torch_logits_on_a_batch(tiny: TinySession) -> None:
    x = tiny_input(batch=3, seed=5)
    ref = reference_logits(tiny.ckpt, x)
    for backend, fmt in (("openvino", "openvino"), ("onnxruntime", "onnx")):
        b = get_backend(backend)
        hint = "f32" if backend == "openvino" else None
        artifact = tiny.artifact(fmt, "fp32")
        info = b.load(LoadSpec(artifact, batch=3, samples=TINY_SAMPLES, inference_precision=hint))
        assert info.inference_precision == "f32"
        np.testing.assert_allclose(b.infer(x), ref, atol=1e-4, err_msg=backend)
        b.close()


# --------------------------------------------------------------------------- bad input
def test_unknown_precision_and_format_are_bad_input(tiny: TinySession) -> None:
    assert parse_precisions("all") == ["fp32", "fp16", "int8"]
    assert parse_formats("ONNX, openvino") == ["onnx", "openvino"]
    for spec in ("int4", "fp32,bf16", "", ","):
        with pytest.raises(BadInputError) as e:
            parse_precisions(spec)
        assert "fp32, fp16, int8" in one_line(e)
    with pytest.raises(BadInputError, match="bf16 runs the FP32 artifact"):
        parse_precisions("bf16")  # export makes artifacts; bf16 is how the FP32 one runs
    for spec in ("tflite", "onnx,tensorrt"):
        with pytest.raises(BadInputError) as e:
            parse_formats(spec)
        assert "openvino, onnx" in one_line(e)
    ex = exporter(tiny, tiny.opts())
    with pytest.raises(BadInputError) as e:
        ex.variant("onnx", "fp16")  # left out on purpose (see FORMAT_PRECISIONS)
    assert "fp32, int8" in one_line(e)
    with pytest.raises(BadInputError) as e:
        ex.variant("openvino", "int4")
    one_line(e)
    with pytest.raises(BadInputError) as e:
        ex.variant("tflite", "fp32")
    assert "tflite" in one_line(e)
    with pytest.raises(BadInputError):
        export_models([str(tiny.ckpt)], ["openvino"], ["int4"], tiny.opts(), Zoo(tiny.empty))
    with pytest.raises(BadInputError) as e:
        export_models([str(tiny.ckpt)], ["tflite"], ["fp32"], tiny.opts(), Zoo(tiny.empty))
    assert "tflite" in one_line(e)


# --------------------------------------------------------------------------- real records
@pytest.fixture(scope="module")
def real(tiny: TinySession, tmp_path_factory: pytest.TempPathFactory) -> RealExports:
    return real_exports(tiny, tmp_path_factory)


@needs_real_data()
def test_real_records_export_and_verify_every_variant(tiny: TinySession, real: RealExports) -> None:
    for (fmt, prec), v in real.variants.items():
        ver = real.checks[(fmt, prec)]
        assert ver.real_records and ver.n_records == 32, (fmt, prec, ver)
        assert ver.passed, (fmt, prec, ver.summary())
        if prec == "int8":
            # calibrated on 16 real records of the train folds: a new entry, not the synthetic one
            assert v.source == "built" and v.key != tiny.variants[(fmt, prec)].key
            assert v.meta["calibration_records"] == 16
            cal = v.meta["settings"]["calibration"]
            assert cal["dir"] == "ptbxl" and cal["selected"] == 16
            assert ver.max_abs > 0  # it really is quantized
        else:
            assert v.source == "cache" and v.key == tiny.variants[(fmt, prec)].key
    assert real.checks[("openvino", "fp32")].max_abs < 1e-4
    assert real.checks[("onnx", "fp32")].max_abs < 1e-4
