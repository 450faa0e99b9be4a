"""The model zoo (sha256-verified checkpoints), its TOML manifest, and atomic file writing."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY, make_checkpoint

from ecgbench.checkpoint import save_checkpoint
from ecgbench.errors import BadInputError, ChecksumError
from ecgbench.fileio import atomic_path, atomic_write_json, atomic_write_text, sha256_file
from ecgbench.nets.convnext1d import ConvNeXt1D, ConvNeXt1DConfig
from ecgbench.tomlio import dumps_toml, read_toml, write_toml
from ecgbench.zoo import MANIFEST, ZOO_ENV, Zoo, checkpoint_from, default_zoo_dir, verify_artifacts


def _n_params(cfg: ConvNeXt1DConfig) -> int:
    return sum(p.numel() for p in ConvNeXt1D(cfg).parameters())


# --------------------------------------------------------------------------- zoo
def test_add_registers_a_checkpoint_and_a_fresh_zoo_reads_it(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    root = tmp_path / "zoo"
    entry = Zoo(root).add(tiny_checkpoint)
    copied = root / "tiny.pt"
    assert entry.name == "tiny" and entry.path == copied and copied.is_file()
    assert entry.sha256 == hashlib.sha256(copied.read_bytes()).hexdigest()
    assert entry.params == _n_params(TINY) and entry.flops > 0
    assert entry.input_shape == (1, 12, 5000)
    assert entry.train_command == "ecgbench train --model tiny"
    assert entry.metrics["val"] == {"challenge_score": 0.25, "auroc": 0.5}  # None dropped
    assert entry.metrics["training"] == {
        "train_seconds": 1.5,
        "best_epoch": 0,
        "data": "/somewhere/data",
    }

    again = Zoo(root)
    assert again.names() == ["tiny"]
    e = again.get("tiny")
    assert (e.sha256, e.params, e.flops, e.input_shape) == (
        entry.sha256,
        entry.params,
        entry.flops,
        entry.input_shape,
    )
    assert e.metrics == entry.metrics
    assert again.verify("tiny") == copied
    ckpt = again.load("tiny")
    x = torch.randn(1, 12, 300)
    torch.testing.assert_close(ckpt.build_model()(x), make_checkpoint().build_model()(x))


def test_tampered_checkpoint_is_refused(tmp_path: Path, tiny_checkpoint: Path) -> None:
    zoo = Zoo(tmp_path)
    zoo.add(tiny_checkpoint)
    path = tmp_path / "tiny.pt"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="does not match the manifest"):
        Zoo(tmp_path).verify("tiny")
    with pytest.raises(ChecksumError):
        Zoo(tmp_path).load("tiny")
    with pytest.raises(ChecksumError):
        checkpoint_from("tiny", Zoo(tmp_path))
    path.unlink()
    with pytest.raises(BadInputError, match="checkpoint for tiny missing"):
        Zoo(tmp_path).verify("tiny")


def test_unknown_names_and_ordering(tmp_path: Path, tiny_checkpoint: Path) -> None:
    zoo = Zoo(tmp_path)
    with pytest.raises(BadInputError, match="zoo is empty"):
        zoo.get("tiny")
    bigger = tmp_path / "src" / "bigger.pt"
    save_checkpoint(make_checkpoint(ConvNeXt1DConfig(depths=(1, 1), widths=(16, 32))), bigger)
    zoo.add(bigger)
    zoo.add(tiny_checkpoint, name="small")
    assert zoo.names() == ["small", "bigger"]  # by FLOPs
    assert [e.name for e in zoo.resolve("all")] == ["small", "bigger"]
    assert [e.name for e in zoo.resolve("bigger, small")] == ["bigger", "small"]
    with pytest.raises(BadInputError, match="unknown model 'huge'; zoo models: small, bigger"):
        zoo.resolve(["small", "huge"])


def test_re_adding_the_same_checkpoint_keeps_its_artifacts(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    zoo = Zoo(tmp_path)
    zoo.add(tiny_checkpoint)
    xml = tmp_path / "int8" / "tiny" / "openvino" / "model.xml"
    xml.parent.mkdir(parents=True)
    xml.write_text("<net/>")
    digest = sha256_file(xml)
    rel = "int8/tiny/openvino/model.xml"
    art = {"openvino_int8": {"main": rel, "files": {rel: digest}}}
    zoo.entries["tiny"].artifacts = art
    zoo.save()
    entry = Zoo(tmp_path).add(tmp_path / "tiny.pt")
    assert entry.artifacts == art
    verify_artifacts(entry)
    xml.write_text("<net>changed</net>")
    with pytest.raises(ChecksumError, match="fails its sha256 check"):
        verify_artifacts(Zoo(tmp_path).get("tiny"))
    xml.unlink()
    with pytest.raises(BadInputError, match="bundled openvino_int8 file missing"):
        verify_artifacts(Zoo(tmp_path).get("tiny"))


def test_add_refuses_unsafe_checkpoints(tmp_path: Path) -> None:
    p = tmp_path / "evil.pt"
    torch.save({"format": "ecgbench-checkpoint", "x": shutil.rmtree}, p)
    with pytest.raises(BadInputError, match="refused"):
        Zoo(tmp_path / "zoo").add(p)
    assert not (tmp_path / "zoo" / MANIFEST).exists()


def test_checkpoint_from_accepts_a_path_or_a_name(tmp_path: Path, tiny_checkpoint: Path) -> None:
    name, ckpt, path = checkpoint_from(str(tiny_checkpoint))
    assert (name, path, ckpt.config) == ("tiny", tiny_checkpoint, TINY)
    zoo = Zoo(tmp_path / "zoo")
    zoo.add(tiny_checkpoint, name="mine")
    name, ckpt, path = checkpoint_from("mine", zoo)
    assert (name, path) == ("mine", tmp_path / "zoo" / "mine.pt")
    with pytest.raises(BadInputError, match="checkpoint not found"):
        checkpoint_from(str(tmp_path / "missing.pt"))


def test_malformed_manifest_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text('[models.x]\nfile = "x.pt"\n')
    with pytest.raises(BadInputError, match="entry 'x' is malformed"):
        Zoo(tmp_path)
    (tmp_path / MANIFEST).write_text("[models\n")
    with pytest.raises(BadInputError, match="not valid TOML"):
        Zoo(tmp_path)


def test_default_zoo_dir_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ZOO_ENV, str(tmp_path))
    assert default_zoo_dir() == tmp_path and Zoo().root == tmp_path


# --------------------------------------------------------------------------- TOML
def test_toml_round_trip_of_awkward_values(tmp_path: Path) -> None:
    doc = {
        "schema": 1,
        "text": 'quote " backslash \\ newline \n return \r tab \t bell \x07 del \x7f é',
        "flags": [True, False],
        "numbers": [0.1, 1e-30, -2.5e17, 3],
        "models": {
            "a|b": {"score": 0.5, "nested": {"deep": "x"}},
            "é": {"k": "v"},
            "empty": {},
            "only_tables": {"t": {"v": 1}},
        },
        "skipped": None,
    }
    p = tmp_path / "x.toml"
    write_toml(p, doc, header="# header line\n")
    assert p.read_text().startswith("# header line\n")
    back = read_toml(p)
    expected = {k: v for k, v in doc.items() if v is not None}
    assert back == expected


def test_toml_non_finite_floats(tmp_path: Path) -> None:
    write_toml(tmp_path / "f.toml", {"a": math.nan, "b": math.inf, "c": -math.inf})
    back = read_toml(tmp_path / "f.toml")
    assert math.isnan(back["a"]) and back["b"] == math.inf and back["c"] == -math.inf
    with pytest.raises(TypeError):
        dumps_toml({"bad": object()})


def test_read_toml_errors(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="file not found"):
        read_toml(tmp_path / "none.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(BadInputError, match="not valid TOML"):
        read_toml(tmp_path / "bin.toml")


# --------------------------------------------------------------------------- atomic files
def test_atomic_path_replaces_only_on_success(tmp_path: Path) -> None:
    dest = tmp_path / "sub" / "out.txt"
    atomic_write_text(dest, "first")
    with pytest.raises(RuntimeError), atomic_path(dest) as tmp:
        tmp.write_text("half-written")
        raise RuntimeError("interrupted")
    assert dest.read_text() == "first"
    assert [f.name for f in dest.parent.iterdir()] == ["out.txt"]


def test_atomic_write_json_handles_numpy_and_paths(tmp_path: Path) -> None:
    dest = tmp_path / "x.json"
    atomic_write_json(dest, {"a": np.float32(0.5), "b": np.arange(3), "c": Path("/p"), "d": 1})
    assert json.loads(dest.read_text()) == {"a": 0.5, "b": [0, 1, 2], "c": "/p", "d": 1}
    with pytest.raises(TypeError, match="not JSON serialisable"):
        atomic_write_json(dest, {"x": object()})
    assert json.loads(dest.read_text())["d"] == 1  # the old file survives a failed write


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    data = np.random.default_rng(0).bytes(3 * 1024 + 7)
    (tmp_path / "b").write_bytes(data)
    assert sha256_file(tmp_path / "b", chunk=1024) == hashlib.sha256(data).hexdigest()
