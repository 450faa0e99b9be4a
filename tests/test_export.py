"""Export: every (format, precision) of a tiny checkpoint, verified against PyTorch; INT8 only from
real records; the content-addressed cache (hits, misses, --force, damaged entries); the zoo bundle;
and, with the real records in ../shared, export + verify + evaluate of every variant."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import PTBXL
from helpers_export import (
    ALL_VARIANTS,
    SYNTH_QUANT,
    TINY_NAME,
    TINY_SAMPLES,
    WEIGHTS,
    TinySession,
    link_real_subset,
    needs_real_data,
    reference_logits,
    tiny_input,
    tiny_session,
)

from ecgbench.backends import LoadSpec, get_backend
from ecgbench.checkpoint import load_checkpoint
from ecgbench.errors import BadInputError, ChecksumError, EcgbenchError
from ecgbench.export import pipeline
from ecgbench.export.cache import ExportCache
from ecgbench.export.evaluate import evaluate_variant
from ecgbench.export.pipeline import (
    ExportOptions,
    ModelExporter,
    bundle_into_zoo,
    default_data_dir,
    export_models,
    parse_formats,
    parse_precisions,
)
from ecgbench.export.quantize import QuantSettings
from ecgbench.export.verify import TOLERANCES
from ecgbench.fileio import sha256_file
from ecgbench.zoo import Zoo


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinySession:
    return tiny_session(tmp_path_factory)


def exporter(tiny: TinySession, opts: ExportOptions) -> ModelExporter:
    """A new exporter of the tiny checkpoint. It is handed the session's converted OpenVINO graph:
    the conversion is the same pure function of the same checkpoint and costs seconds; what these
    tests check (cache keys, lookups, rebuilds) all happens after it."""
    ex = ModelExporter(TINY_NAME, load_checkpoint(tiny.ckpt), tiny.ckpt, opts)
    ex._ov_fp32 = tiny.exporter.ov_fp32_model()
    return ex


def one_line(e: pytest.ExceptionInfo[BaseException]) -> str:
    msg = str(e.value)
    assert msg and "\n" not in msg, msg
    return msg


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
        info = b.load(
            LoadSpec(artifact=tiny.artifact(fmt, "fp32"), batch=3, samples=TINY_SAMPLES,
                     inference_precision="f32" if backend == "openvino" else None)
        )  # fmt: skip
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


def test_default_data_dir_honours_ecgbench_data(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ECGBENCH_DATA", str(tmp_path / "mine"))
    assert default_data_dir() == tmp_path / "mine"
    monkeypatch.delenv("ECGBENCH_DATA")
    d = default_data_dir()
    assert d is None or (d.is_dir() and d.name == "ptbxl" and d.parent.parent.name == "shared")


def test_int8_refuses_to_calibrate_without_records(
    tiny: TinySession, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("ECGBENCH_DATA", str(tiny.empty))
    cache = tmp_path / "cache"
    ex = exporter(tiny, tiny.opts(cache_dir=cache, calibration_dir=None))
    for fmt in ("openvino", "onnx"):
        with pytest.raises(BadInputError) as e:
            ex.variant(fmt, "int8")
        assert str(tiny.empty) in one_line(e)
    # a folder whose records are all unusable is refused the same way
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "X1.hea").write_text("not a header\n")
    with pytest.raises(BadInputError) as e:
        exporter(tiny, tiny.opts(cache_dir=cache, calibration_dir=bad)).variant("openvino", "int8")
    assert "no usable" in one_line(e)
    # with no data folder at all, the message says how to give one; never synthetic calibration
    monkeypatch.setattr(pipeline, "default_data_dir", lambda: None)
    with pytest.raises(EcgbenchError) as e:
        exporter(tiny, tiny.opts(cache_dir=cache, calibration_dir=None)).variant("onnx", "int8")
    msg = one_line(e)
    assert "--calibration" in msg and "ECGBENCH_DATA" in msg
    assert not cache.exists() or not [p for p in cache.iterdir() if (p / "meta.json").exists()]
    # FP32 needs no records and still exports and verifies (on the synthetic input)
    ex = exporter(tiny, tiny.opts(cache_dir=cache, calibration_dir=None))
    v = ex.variant("openvino", "fp32")
    ver = ex.verify(v)
    assert ver.passed and not ver.real_records and "SYNTHETIC" in ver.summary()


# --------------------------------------------------------------------------- the cache
def test_cache_hit_is_the_same_artifact_and_much_faster(tiny: TinySession) -> None:
    for fmt, prec in ALL_VARIANTS:
        built = tiny.variants[(fmt, prec)]
        hit = exporter(tiny, tiny.opts()).variant(fmt, prec)
        assert hit.source == "cache" and hit.key == built.key and hit.path == built.path
        assert hit.meta == built.meta
        if prec == "fp32":  # the builds that convert / export the graph take seconds
            assert hit.seconds < built.seconds / 5, (fmt, prec, hit.seconds, built.seconds)
        elif prec == "int8":  # a hit still reads the calibration records: they are in the key
            assert hit.seconds < built.seconds, (fmt, prec, hit.seconds, built.seconds)


def test_changed_quant_settings_miss_the_cache(tiny: TinySession, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(tiny.cache, cache)  # a cache moved elsewhere still hits
    base = exporter(tiny, tiny.opts(cache_dir=cache))
    assert base.variant("onnx", "int8").source == "cache"
    other = exporter(tiny, tiny.opts(cache_dir=cache, quant=QuantSettings(subset_size=4)))
    v = other.variant("onnx", "int8")  # the FP32 ONNX it quantizes comes from the cache
    assert v.source == "built" and v.key != tiny.variants[("onnx", "int8")].key
    assert v.meta["calibration_records"] == 4
    assert other.verify(v).passed
    assert exporter(tiny, tiny.opts(cache_dir=cache)).variant("onnx", "int8").source == "cache"
    # FP16 is the FP32 graph with compress_to_fp16: a different entry, not a hit
    fp32, fp16 = tiny.variants[("openvino", "fp32")], tiny.variants[("openvino", "fp16")]
    assert fp32.meta["settings"]["compress_to_fp16"] is False
    assert fp16.meta["settings"]["compress_to_fp16"] is True
    assert fp32.key != fp16.key and fp32.path.parent != fp16.path.parent


def test_force_rebuilds_a_cached_entry(tiny: TinySession, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(tiny.cache, cache)
    key = tiny.variants[("openvino", "fp16")].key
    meta_before = json.loads((cache / key / "meta.json").read_text())
    v = exporter(tiny, tiny.opts(cache_dir=cache, force=True)).variant("openvino", "fp16")
    assert v.source == "built" and v.key == key
    meta_after = json.loads((cache / key / "meta.json").read_text())
    assert meta_after["build_seconds"] != meta_before["build_seconds"]
    assert meta_after["files"] == meta_before["files"]  # same graph, same bytes
    assert exporter(tiny, tiny.opts(cache_dir=cache)).variant("openvino", "fp16").source == "cache"


@pytest.mark.parametrize(
    ("fmt", "prec", "victim"),
    [
        ("openvino", "fp32", "model.bin"),
        ("openvino", "fp32", "model.xml"),
        ("onnx", "int8", "model.onnx"),
        ("openvino", "fp16", "meta.json"),
    ],
)
def test_damaged_cache_entry_is_detected_and_rebuilt(
    tiny: TinySession, tmp_path: Path, fmt: str, prec: str, victim: str
) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(tiny.cache, cache)
    good = tiny.variants[(fmt, prec)]
    path = cache / good.key / victim
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 8] = bytes(b ^ 0xFF for b in data[mid : mid + 8])  # same size, new bytes
    path.write_bytes(bytes(data))
    if victim == "model.bin":  # the lookup alone spots it and removes the entry
        probe = tmp_path / "probe"
        shutil.copytree(cache / good.key, probe / good.key)
        assert ExportCache(probe).lookup(good.key) is None and not (probe / good.key).exists()
    ex = exporter(tiny, tiny.opts(cache_dir=cache))
    v = ex.variant(fmt, prec)
    assert v.source == "built" and v.key == good.key
    if victim != "meta.json":  # the same bytes as the intact entry, not the damaged ones
        assert path.read_bytes() == (good.path.parent / victim).read_bytes() != bytes(data)
    assert ex.verify(v).passed
    assert exporter(tiny, tiny.opts(cache_dir=cache)).variant(fmt, prec).source == "cache"


def test_cache_store_is_atomic_and_unwritable_cache_is_one_line(tmp_path: Path) -> None:
    cache = ExportCache(tmp_path / "c")

    def failing(tmp: Path) -> tuple[str, dict]:
        (tmp / "model.xml").write_text("half")
        raise KeyboardInterrupt  # the user pressing Ctrl-C in the middle of a build

    with pytest.raises(KeyboardInterrupt):
        cache.store("k1", failing)
    assert list((tmp_path / "c").iterdir()) == []  # nothing a later run could pick up
    assert cache.lookup("k1") is None

    def ok(tmp: Path) -> tuple[str, dict]:
        (tmp / "model.onnx").write_bytes(b"onnx bytes")
        return "model.onnx", {"x": 1}

    e = cache.store("k2", ok)
    assert e.main.read_bytes() == b"onnx bytes" and e.meta["files"]["model.onnx"]
    assert cache.lookup("k2").meta == e.meta
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(EcgbenchError) as err:
        ExportCache(blocker / "sub").store("k", ok)
    assert str(blocker) in one_line(err)


# --------------------------------------------------------------------------- the zoo bundle
def test_int8_bundled_in_the_zoo_is_used_without_records_and_checked(
    tiny: TinySession, tmp_path: Path, monkeypatch
) -> None:
    zoo = Zoo(tmp_path / "zoo")
    entry = zoo.add(tiny.ckpt, TINY_NAME)
    v = tiny.variants[("openvino", "int8")]
    bundle_into_zoo(zoo, entry, v, sha256_file(tiny.ckpt))
    art = Zoo(tmp_path / "zoo").entries[TINY_NAME].artifacts["openvino-int8"]
    assert set(art["files"]) == {
        "int8/tiny_bench/openvino/model.xml",
        "int8/tiny_bench/openvino/model.bin",
    }
    quant = {k: q for k, q in SYNTH_QUANT.to_dict().items() if q is not None}  # TOML has no null
    assert art["cache_key"] == v.key and art["settings"]["quant"] == quant

    monkeypatch.setenv("ECGBENCH_DATA", str(tiny.empty))
    zoo = Zoo(tmp_path / "zoo")
    ckpt_path = zoo.verify(TINY_NAME)
    opts = tiny.opts(cache_dir=tmp_path / "cache", calibration_dir=None)
    ex = ModelExporter(TINY_NAME, load_checkpoint(ckpt_path), ckpt_path, opts, zoo.get(TINY_NAME))
    got = ex.variant("openvino", "int8")
    assert got.source == "zoo" and got.path == zoo.root / art["main"]
    assert sha256_file(got.path) == sha256_file(v.path)
    # ONNX INT8 was not bundled: still a clear refusal
    with pytest.raises(BadInputError):
        ex.variant("onnx", "int8")
    # a bundled file that changed is refused, never loaded
    (got.path.with_suffix(".bin")).write_bytes(b"\0" * 64)
    ex = ModelExporter(TINY_NAME, load_checkpoint(ckpt_path), ckpt_path, opts, zoo.get(TINY_NAME))
    with pytest.raises(ChecksumError):
        ex.variant("openvino", "int8")


# --------------------------------------------------------------------------- real records
@pytest.fixture(scope="module")
def real(tiny: TinySession, tmp_path_factory: pytest.TempPathFactory):
    opts = ExportOptions(
        calibration_dir=PTBXL,
        verify_records=32,
        cache_dir=tiny.cache,
        quant=QuantSettings(subset_size=16),
        show_progress=False,
    )
    ex = ModelExporter(TINY_NAME, load_checkpoint(tiny.ckpt), tiny.ckpt, opts)
    variants = {(f, p): ex.variant(f, p) for f, p in ALL_VARIANTS}
    checks = {k: ex.verify(v) for k, v in variants.items()}
    eval_dir = link_real_subset(tmp_path_factory.mktemp("real_eval"), n=24)
    return opts, variants, checks, eval_dir


@needs_real_data()
def test_real_records_export_and_verify_every_variant(tiny: TinySession, real) -> None:
    _, variants, checks, _ = real
    for (fmt, prec), v in variants.items():
        ver = checks[(fmt, prec)]
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
    assert checks[("openvino", "fp32")].max_abs < 1e-4
    assert checks[("onnx", "fp32")].max_abs < 1e-4


@needs_real_data()
def test_real_records_evaluate_every_variant(real) -> None:
    opts, variants, _, eval_dir = real
    ckpt = opts.cache_dir.parent / f"{TINY_NAME}.pt"
    scores = {}
    for backend, prec in (
        ("torch", "fp32"),
        ("openvino", "fp32"),
        ("openvino", "fp16"),
        ("openvino", "int8"),
        ("onnxruntime", "fp32"),
        ("onnxruntime", "int8"),
    ):
        vs = evaluate_variant(
            str(ckpt),
            backend,
            prec,
            eval_dir,
            opts=opts,
            weights_path=str(WEIGHTS),
            zoo=Zoo(eval_dir / "no_zoo"),
            show_progress=False,
        )
        d = vs.to_dict()
        keys = ("challenge_score", "auroc", "auprc", "accuracy", "f_measure")
        assert all(k in d for k in keys), d
        assert isinstance(d["challenge_score"], float) and np.isfinite(d["challenge_score"])
        assert 0.0 <= d["accuracy"] <= 1.0
        assert vs.n_records == 24 and d["model"] == TINY_NAME and d["folds"] == []
        if backend != "torch":
            fmt = "openvino" if backend == "openvino" else "onnx"
            assert vs.artifact == str(variants[(fmt, prec)].path)
        scores[(backend, prec)] = d
    ref = scores[("torch", "fp32")]
    for k in (("openvino", "fp32"), ("onnxruntime", "fp32")):
        for m in ("challenge_score", "accuracy", "f_measure"):
            assert scores[k][m] == pytest.approx(ref[m], abs=1e-9, nan_ok=True), (k, m)
        assert scores[k]["auroc"] == pytest.approx(ref["auroc"], abs=1e-3, nan_ok=True)
    with pytest.raises(BadInputError):
        evaluate_variant(
            str(ckpt), "torch", "int8", eval_dir,
            opts=opts, weights_path=str(WEIGHTS), zoo=Zoo(eval_dir / "no_zoo"),
            show_progress=False,
        )  # fmt: skip
    with pytest.raises(BadInputError):
        evaluate_variant(str(ckpt), "tensorrt", "fp32",
                         eval_dir, opts=opts, weights_path=str(WEIGHTS))  # fmt: skip
