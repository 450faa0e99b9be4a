"""Where records come from: $ECGBENCH_DATA or a flag, never a guessed folder, and INT8 never
calibrated without real records (FP32 still exports and verifies on the synthetic input)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_export import TinySession, exporter, one_line

from ecgbench.errors import BadInputError, EcgbenchError
from ecgbench.export import sources
from ecgbench.export.sources import default_data_dir


def test_default_data_dir_honours_ecgbench_data(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ECGBENCH_DATA", str(tmp_path / "mine"))
    assert default_data_dir() == tmp_path / "mine"
    monkeypatch.delenv("ECGBENCH_DATA")
    assert default_data_dir() is None  # not ../shared, even where it exists


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
    monkeypatch.setattr(sources, "default_data_dir", lambda: None)
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
