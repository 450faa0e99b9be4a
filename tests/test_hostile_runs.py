"""Issue 27, cases 12, 15 and 18 on real runs: a score shown only for the bytes it was measured on,
the threads that ran recorded, inputs too short for the model and trees with links refused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers_export import TINY_NAME, TinySession, subprocess_env
from helpers_hostile import cli, one_error

from ecgbench.errors import BadInputError
from ecgbench.fileio import sha256_file
from ecgbench.zoo import Zoo


# ------------------------------------------------------------------ case 15: --threads 999
def test_the_row_records_the_threads_that_ran(tiny: TinySession, tmp_path: Path) -> None:
    out = tmp_path / "o.json"
    res = cli(
        "run", "--model", tiny.ckpt, "--backend", "openvino", "--precision", "fp32",
        "--threads", "999",
        "--duration", "0.3", "--warmup", "0.1", "--min-iters", "5",
        "--output", out, "--store", tmp_path / "store",
        env=subprocess_env(tiny),
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    (row,) = json.loads(out.read_text())["rows"]
    ran = row["execution"]["threads"]
    assert 1 <= ran <= (os.cpu_count() or 1), ran  # what OpenVINO ran with, not the 999 asked


# ------------------------------------------------------------------ case 18: --samples 1 / 3
@pytest.mark.parametrize("samples", ["1", "3"])
def test_an_input_shorter_than_the_model_allows_is_one_line(
    tiny: TinySession, tmp_path: Path, samples: str
) -> None:
    res = cli(
        "run", "--model", tiny.ckpt, "--samples", samples, "--duration", "0.3",
        "--store", tmp_path / "store", env=subprocess_env(tiny),
    )  # fmt: skip
    one_error(res, says="shorter than its downsampling allows (at least 8 samples)")


# ------------------------------------------------------------------ case 18: a link out of the tree
def test_a_base_revision_with_a_link_out_of_the_tree_is_refused(tmp_path: Path) -> None:
    from ecgbench.gate.changes import checkout

    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git[:3], "init", "-q"], check=True)
    (repo / "escape").symlink_to("../../../../etc")
    (repo / "a.txt").write_text("a")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    with pytest.raises(BadInputError, match="cannot be checked out safely"):
        checkout(repo, "HEAD", tmp_path / "out")


# ------------------------------------------------------------------ case 12: a score's own bytes
def test_a_score_belongs_to_the_artifact_it_was_measured_on(
    tiny: TinySession, tmp_path: Path
) -> None:
    from ecgbench.export.bundle import bundle_into_zoo
    from ecgbench.export.digest import artifact_digest, bundled_digest, score_is_of

    zoo = Zoo(tmp_path / "zoo")
    entry = zoo.add(tiny.ckpt, TINY_NAME)
    v = tiny.variants[("openvino", "int8")]
    bundle_into_zoo(zoo, entry, v, sha256_file(tiny.ckpt))
    bundled = Zoo(zoo.root).entries[TINY_NAME].artifacts["openvino-int8"]
    assert bundled_digest(bundled) == artifact_digest(v.path)
    legacy = {"backend": "openvino", "precision": "int8", "challenge_score": 0.419}
    assert score_is_of(legacy, artifact_digest(v.path), bundled)  # the bundled bytes: its score
    # the same checkpoint's INT8 with other calibration: other bytes, the score is not borrowed
    other = tmp_path / "other" / "model.xml"
    other.parent.mkdir()
    shutil.copyfile(v.path, other)
    shutil.copyfile(v.path.with_suffix(".bin"), other.with_suffix(".bin"))
    with open(other.with_suffix(".bin"), "ab") as f:
        f.write(b"\0")
    assert not score_is_of(legacy, artifact_digest(other), bundled)
    assert not score_is_of({**legacy, "artifact_sha256": "0" * 64}, artifact_digest(v.path), None)

    # re-bundling other bytes drops the scores of the bytes it replaced
    with zoo.editing():
        zoo.get(TINY_NAME).variants["openvino-int8@int8+f32"] = legacy
    replaced = type(v)(**{**v.__dict__, "path": other})
    bundle_into_zoo(zoo, zoo.get(TINY_NAME), replaced, sha256_file(tiny.ckpt))
    assert "openvino-int8@int8+f32" not in Zoo(zoo.root).entries[TINY_NAME].variants
    assert cli("zoo", "verify", "--zoo-dir", zoo.root).exit_code == 0


def test_an_absent_device_is_bad_input_not_a_regression(tiny: TinySession, tmp_path: Path) -> None:
    import openvino

    if any(d.startswith("NPU") for d in openvino.Core().available_devices):
        pytest.skip("this machine has an NPU")
    res = cli(
        "run", "--model", tiny.ckpt, "--device", "NPU", "--duration", "0.3",
        "--store", tmp_path / "store", env=subprocess_env(tiny),
    )  # fmt: skip
    one_error(res, code=2, says="NPU")


# ------------------------------------------------------------------ case 5: an add during export
def test_a_zoo_add_during_an_export_is_kept_when_the_export_saves(
    tiny: TinySession, tmp_path: Path, tiny_checkpoint: Path
) -> None:
    from ecgbench.export.bundle import bundle_into_zoo

    exporting = Zoo(tmp_path / "zoo")  # what `export --zoo` read when it started
    entry = exporting.add(tiny.ckpt, TINY_NAME)
    Zoo(tmp_path / "zoo").add(tiny_checkpoint, "added_meanwhile")  # another process, meanwhile
    v = tiny.variants[("openvino", "int8")]
    bundle_into_zoo(exporting, entry, v, sha256_file(tiny.ckpt))
    after = Zoo(tmp_path / "zoo")
    assert set(after.entries) == {TINY_NAME, "added_meanwhile"}
    assert "openvino-int8" in after.entries[TINY_NAME].artifacts
