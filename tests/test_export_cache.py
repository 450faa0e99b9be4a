"""The content-addressed export cache: hits, misses on changed settings, --force, damaged entries,
atomic stores; and the cached verification verdicts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers_export import ALL_VARIANTS, TinySession, exporter, one_line

from ecgbench.errors import EcgbenchError
from ecgbench.export import pipeline
from ecgbench.export.cache import ExportCache
from ecgbench.export.quantize import QuantSettings


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


def test_a_verdict_is_cached_and_a_damaged_one_redone(
    tiny: TinySession, tmp_path: Path, monkeypatch
) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(tiny.cache, cache)
    ex = exporter(tiny, tiny.opts(cache_dir=cache))
    v = ex.variant("openvino", "fp32")
    first = ex.verify(v)
    runs: list[object] = []
    verify_artifact = pipeline.verify_artifact
    monkeypatch.setattr(
        pipeline, "verify_artifact", lambda *a: runs.append(a) or verify_artifact(*a)
    )
    again = exporter(tiny, tiny.opts(cache_dir=cache)).verify(v)
    assert again == first and v.verification == first and runs == []  # read back, not re-run
    for p in (cache / "verifications").glob("*.json"):
        p.write_text("{not json")
    again = exporter(tiny, tiny.opts(cache_dir=cache)).verify(v)
    assert again.passed and again.n_records == first.n_records and len(runs) == 1
    exporter(tiny, tiny.opts(cache_dir=cache, force=True)).verify(v)  # --force verifies again
    assert len(runs) == 2
