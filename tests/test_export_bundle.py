"""The INT8 artifact bundled in the zoo: used without records, sha256-checked, refused if changed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from helpers_export import SYNTH_QUANT, TINY_NAME, TinySession

from ecgbench.checkpoint import load_checkpoint
from ecgbench.errors import BadInputError, ChecksumError
from ecgbench.export.bundle import bundle_into_zoo
from ecgbench.export.pipeline import ModelExporter
from ecgbench.export.quantize import QuantSettings
from ecgbench.fileio import sha256_file
from ecgbench.zoo import Zoo


def test_int8_bundled_in_the_zoo_is_used_without_records_and_checked(
    tiny: TinySession, tmp_path: Path, monkeypatch
) -> None:
    zoo = Zoo(tmp_path / "zoo")
    entry = zoo.add(tiny.ckpt, TINY_NAME)
    v = tiny.variants[("openvino", "int8")]
    bundle_into_zoo(zoo, entry, v, sha256_file(tiny.ckpt))
    art = Zoo(tmp_path / "zoo").entries[TINY_NAME].artifacts["openvino-int8"]
    # one folder per bundled version, named by its files' hashes (swapped in atomically)
    (folder,) = {str(Path(f).parent) for f in art["files"]}
    assert folder.startswith("int8/tiny_bench/openvino-")
    assert set(art["files"]) == {f"{folder}/model.xml", f"{folder}/model.bin"}
    assert art["main"] == f"{folder}/model.xml"
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
    # how many calibration records made it is the zoo's choice: asked with the default 300, the
    # bundle (made with 8) is still the INT8 there is without records of one's own
    assert SYNTH_QUANT.subset_size != QuantSettings().subset_size
    default = replace(opts, quant=QuantSettings())
    ex = ModelExporter(
        TINY_NAME, load_checkpoint(ckpt_path), ckpt_path, default, zoo.get(TINY_NAME)
    )
    assert ex.variant("openvino", "int8").source == "zoo"
    # other settings (accuracy control) are asked for: built, and without records refused
    other = replace(opts, quant=replace(SYNTH_QUANT, max_drop=0.01))
    ex = ModelExporter(TINY_NAME, load_checkpoint(ckpt_path), ckpt_path, other, zoo.get(TINY_NAME))
    with pytest.raises(BadInputError):
        ex.variant("openvino", "int8")
    ex = ModelExporter(TINY_NAME, load_checkpoint(ckpt_path), ckpt_path, opts, zoo.get(TINY_NAME))
    # ONNX INT8 was not bundled: still a clear refusal
    with pytest.raises(BadInputError):
        ex.variant("onnx", "int8")
    # a bundled file that changed is refused, never loaded
    (got.path.with_suffix(".bin")).write_bytes(b"\0" * 64)
    ex = ModelExporter(TINY_NAME, load_checkpoint(ckpt_path), ckpt_path, opts, zoo.get(TINY_NAME))
    with pytest.raises(ChecksumError):
        ex.variant("openvino", "int8")
