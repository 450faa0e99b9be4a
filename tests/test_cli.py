"""The command line: exit codes, one-line errors (never a traceback), what each command prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import (
    BAD_RECORDS,
    MIN_SECONDS,
    NSR,
    QUIRKS,
    TINY,
    needs_shared,
    write_challenge_record,
    write_metadata,
)
from typer.testing import CliRunner

from ecgbench.checkpoint import load_checkpoint
from ecgbench.cli import app
from ecgbench.data.classes import ABBREVIATIONS, SCORED_CLASSES, encode_labels
from ecgbench.metrics import write_output_file


def run(*args: object, code: int = 0) -> str:
    """Invoke the CLI; check the exit code and that no traceback leaked. Returns all output."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    text = result.output
    assert "Traceback" not in text, text
    assert result.exit_code == code, text
    if code == 0:
        assert result.exception is None, text
    else:
        # anything but a usage error ends in exactly one "error:" line on stderr
        errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1, result.stderr
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return text


def words(text: str) -> str:
    """Output with table borders removed and all whitespace (incl. rich's line wraps) collapsed."""
    return " ".join(text.replace("│", " ").replace("┃", " ").split())


# --------------------------------------------------------------------------- data check
def test_data_check_prints_counts_classes_and_every_problem(mixed_folder) -> None:
    d, good = mixed_folder
    text = words(run("data", "check", d, "--min-seconds", MIN_SECONDS))
    total = len(good) + len(BAD_RECORDS)
    assert f"{total} headers, {len(good)} usable, {len(BAD_RECORDS)} with problems" in text
    counts = sum(encode_labels(c) for c in good.values())
    for cls, n in zip(SCORED_CLASSES, counts, strict=True):
        assert f"{ABBREVIATIONS[cls]} {cls} {int(n)}" in text
    for name, (_, reason) in BAD_RECORDS.items():
        assert f"skipped {name}: " in text
        line = text.split(f"skipped {name}: ", 1)[1]
        assert reason in line.split(" skipped ")[0], name


def test_data_check_on_an_all_bad_folder_fails(all_bad_folder: Path) -> None:
    text = words(run("data", "check", all_bad_folder, code=2))
    assert "0 usable" in text and "error: no usable record" in text
    assert "skipped bad_corrupt_mat:" in text


def test_data_check_missing_folder(tmp_path: Path) -> None:
    assert "data folder not found" in run("data", "check", tmp_path / "nope", code=2)


@needs_shared(QUIRKS)
def test_data_check_reads_the_real_quirk_records() -> None:
    text = words(run("data", "check", QUIRKS))
    assert "4 headers, 4 usable, 0 with problems" in text and "skipped" not in text


# --------------------------------------------------------------------------- zoo
def test_zoo_add_list_verify_and_tamper(tmp_path: Path, tiny_checkpoint: Path) -> None:
    zoo = tmp_path / "zoo"
    assert "is empty" in run("zoo", "list", "--zoo-dir", zoo, code=2)
    text = run("zoo", "add", tiny_checkpoint, "--name", "tiny", "--zoo-dir", zoo)
    params = sum(p.numel() for p in load_checkpoint(tiny_checkpoint).build_model().parameters())
    assert f"added tiny: {params:,} params" in text
    listing = words(run("zoo", "list", "--zoo-dir", zoo))
    assert "tiny" in listing and "0.250" in listing and "0.125" in listing  # val / test scores
    assert "ok tiny" in words(run("zoo", "verify", "--zoo-dir", zoo))

    ckpt = zoo / "tiny.pt"
    data = bytearray(ckpt.read_bytes())
    data[len(data) // 2] ^= 0xFF
    ckpt.write_bytes(bytes(data))
    result = CliRunner().invoke(app, ["zoo", "verify", "--zoo-dir", str(zoo)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "BAD tiny" in words(result.output) and "does not match" in words(result.output)


def test_zoo_add_bad_checkpoints(tmp_path: Path) -> None:
    zoo = tmp_path / "zoo"
    assert "checkpoint not found" in run(
        "zoo", "add", tmp_path / "none.pt", "--zoo-dir", zoo, code=2
    )
    evil = tmp_path / "evil.pt"
    torch.save({"format": "ecgbench-checkpoint", "x": os.system}, evil)
    assert "refused" in run("zoo", "add", evil, "--zoo-dir", zoo, code=2)
    (tmp_path / "junk.pt").write_bytes(b"\x00" * 100)
    assert "not a checkpoint" in run("zoo", "add", tmp_path / "junk.pt", "--zoo-dir", zoo, code=2)


# --------------------------------------------------------------------------- train
TINY_TOML = f"[model]\ndepths = {list(TINY.depths)}\nwidths = {list(TINY.widths)}\n"


def test_train_writes_a_checkpoint_and_resumes(
    train_folder: Path, weights_csv: Path, tmp_path: Path
) -> None:
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY_TOML + "[train]\nbatch_size = 4\ncrop_samples = 256\n")
    out = tmp_path / "out" / "m.pt"
    common = (
        "--data",
        train_folder,
        "--out",
        out,
        "--config",
        cfg,
        "--weights",
        weights_csv,
        "--max-steps",
        1,
        "--lr",
        0.003,
    )
    text = words(run("train", *common, "--epochs", 1))
    assert "best epoch 1: val" in text and ", test" in text
    ckpt = load_checkpoint(out)
    assert (ckpt.config.depths, ckpt.config.widths) == (TINY.depths, TINY.widths)
    assert len(ckpt.thresholds) == 26
    assert ckpt.metrics["epochs_run"] == 1

    run("train", *common, "--epochs", 2, "--resume")
    assert load_checkpoint(out.with_name("m.last.pt")).epoch == 1
    assert [h["epoch"] for h in load_checkpoint(out).metrics["history"]] == [0, 1]


@pytest.fixture
def bad_inputs(tmp_path: Path, all_bad_folder: Path) -> dict[str, Path]:
    write_metadata(all_bad_folder, {p.stem: 1 for p in all_bad_folder.glob("*.hea")})
    syntax = tmp_path / "syntax.toml"
    syntax.write_text("[model\ndepths = [1, 1]\n")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text(TINY_TOML + "[train]\nepochz = 3\n")
    return {"all_bad": all_bad_folder, "syntax": syntax, "unknown": unknown}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--data", "{tmp}/missing", "--model", "convnext1d_atto"), "data folder not found"),
        (("--data", "{all_bad}", "--model", "convnext1d_atto"), "no usable record"),
        (("--data", "{train}", "--model", "convnext1d_giant"), "unknown model 'convnext1d_giant'"),
        (("--data", "{train}", "--config", "{tmp}/none.toml"), "file not found"),
        (("--data", "{train}", "--config", "{syntax}"), "not valid TOML"),
        (("--data", "{train}", "--config", "{unknown}"), "unknown [train] keys ['epochz']"),
        (("--data", "{train}", "--model", "convnext1d_atto", "--val-folds", "x"), "bad fold list"),
    ],
    ids=[
        "missing-data",
        "no-usable-record",
        "unknown-model",
        "missing-config",
        "toml-syntax",
        "toml-unknown-key",
        "bad-folds",
    ],
)
def test_train_bad_input_is_one_line(
    args: tuple[str, ...],
    message: str,
    bad_inputs: dict[str, Path],
    train_folder: Path,
    weights_csv: Path,
    tmp_path: Path,
) -> None:
    paths = {**bad_inputs, "train": train_folder, "tmp": tmp_path}
    argv = [a.format(**paths) for a in args]
    out = tmp_path / "never.pt"
    text = run("train", *argv, "--out", out, "--weights", weights_csv, "--limit", 3, code=2)
    assert message in words(text)
    assert not out.exists()


def test_train_without_weights_file(train_folder: Path, tmp_path: Path) -> None:
    text = run(
        "train",
        "--data",
        train_folder,
        "--out",
        tmp_path / "m.pt",
        "--model",
        "convnext1d_atto",
        "--weights",
        tmp_path / "nope.csv",
        code=2,
    )
    assert "weights.csv not found" in words(text)


# --------------------------------------------------------------------------- score
def test_score_perfect_outputs(tmp_path: Path, weights_csv: Path) -> None:
    labels, outputs = tmp_path / "labels", tmp_path / "outputs"
    dxs = {"L1": [NSR], "L2": ["164889003"], "L3": ["59118001", "164889003"]}
    for name, dx in dxs.items():
        write_challenge_record(labels, name, dx=dx)
        y = encode_labels(dx)
        write_output_file(outputs / f"{name}.csv", name, SCORED_CLASSES, y > 0, y * 0.9)
    js = tmp_path / "scores.json"
    text = run(
        "score", "--labels", labels, "--outputs", outputs, "--json", js, "--weights", weights_csv
    )
    assert "challenge_score" in text
    scores = json.loads(js.read_text())
    assert scores["challenge_score"] == pytest.approx(1.0) and scores["accuracy"] == 1.0
    assert "does not exist" in run(
        "score", "--labels", labels, "--outputs", tmp_path / "x", "--weights", weights_csv, code=2
    )


# --------------------------------------------------------------------------- a real process
def _ecgbench() -> str:
    exe = Path(sys.executable).with_name("ecgbench")
    if not exe.is_file():
        pytest.skip(f"console script not installed beside {sys.executable}")
    return str(exe)


def test_console_script_in_a_subprocess(mixed_folder, tmp_path: Path) -> None:
    d, good = mixed_folder
    env = {**os.environ, "ECGBENCH_QUIET": "1", "COLUMNS": "200"}
    ok = subprocess.run(
        [_ecgbench(), "data", "check", str(d), "--min-seconds", str(MIN_SECONDS)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert f"{len(good)} usable" in ok.stdout
    assert sorted(
        ln.split()[1].rstrip(":") for ln in ok.stdout.splitlines() if ln.startswith("skipped ")
    ) == sorted(BAD_RECORDS)

    bad = subprocess.run(
        [_ecgbench(), "data", "check", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [f"error: data folder not found: {tmp_path}/missing"]


def test_record_names_are_printed_verbatim(tmp_path: Path) -> None:
    """Rich markup in a record name is printed, not interpreted (wfdb itself rejects the name)."""
    write_challenge_record(tmp_path, "good")
    write_challenge_record(tmp_path, "x[bold]y")
    (tmp_path / "x[bold]y.mat").unlink()
    text = words(run("data", "check", tmp_path))
    assert "skipped x[bold]y: garbage header" in text
