"""Helpers of the scaling tests: the CLI in this process, sweep workers and their record folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import AF, NSR, synthetic_uv, write_dat_record, write_metadata
from typer.testing import CliRunner

from ecgbench.cli import app
from ecgbench.nets.design_space import DesignPoint, to_config
from ecgbench.nets.flops import measure_complexity

PER_FOLD = 4  # 10 folds x 4 = 40 records: 32 train (one batch of 32), 4 val, 4 test
FS = 100


def cli(*args: object, code: int = 0) -> str:
    """Invoke the CLI in this process; no traceback, and a failure is exactly one error: line."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == code, result.output
    if code == 0:
        assert result.exception is None, result.output
    else:
        errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1, result.stderr
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result.output


def ecgbench_exe() -> str:
    exe = Path(sys.executable).with_name("ecgbench")
    if not exe.is_file():
        pytest.skip(f"console script not installed beside {sys.executable}")
    return str(exe)


def sweep_args(data: Path, storage: str, weights: Path, *extra: str) -> list[str]:
    return [
        "sweep",
        "--data",
        str(data),
        "--trials",
        "1",
        "--storage",
        storage,
        "--epochs",
        "1",
        "--max-steps",
        "1",
        "--weights",
        str(weights),
        "--threads",
        "1",
        *extra,
    ]


def concurrent_workers(
    commands: list[list[str]], tmp: Path, timeout: float = 240
) -> list[tuple[int, str, str]]:
    """Start every command at once (Popen all, then wait); (returncode, stdout, stderr) each."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "COLUMNS": "200",
        "ECGBENCH_QUIET": "1",
        "TMPDIR": str(tmp),
    }
    procs = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for c in commands
    ]
    try:
        outs = [p.communicate(timeout=timeout) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return [(p.returncode, o, e) for p, (o, e) in zip(procs, outs, strict=True)]


def write_sweep_folder(d: Path) -> None:
    """40 records of 10 s at 100 Hz (wfdb.wrsamp, ``#Dx`` comments), folds 1-10, NSR and AF."""
    folds: dict[str, int] = {}
    for i, fold in enumerate(f for f in range(1, 11) for _ in range(PER_FOLD)):
        af = i % 2 == 1
        uv = synthetic_uv(fs=FS, seconds=10.0, rate_hz=2.5 if af else 1.0, seed=200 + i)
        write_dat_record(d, f"T{i:03d}", uv.T / 1000.0, fs=FS, dx=[AF] if af else [NSR])
        folds[f"T{i:03d}"] = fold
    write_metadata(d, folds)


def check_trial_attrs(df: pd.DataFrame) -> None:
    for attr in (
        "params",
        "flops",
        "wall_seconds",
        "samples_per_s",
        "val_challenge_score",
        "test_challenge_score",
        "n_train",
        "train_fraction",
        "pid",
        "host",
    ):
        assert attr in df and df[attr].notna().all(), attr
    assert (df["params"] > 0).all() and (df["flops"] > 0).all() and (df["wall_seconds"] > 0).all()
    assert np.allclose(df["score"], df["val_challenge_score"])
    for _, r in df.iterrows():  # the stored architecture is the one the sampled params describe
        point = DesignPoint(**{k: r[k] for k in DesignPoint.__dataclass_fields__})
        cfg = to_config(point, fs=r["fs"])
        assert (list(cfg.depths), list(cfg.widths), cfg.stages) == (
            r["depths"],
            r["widths"],
            r["stages"],
        )
        cx = measure_complexity(cfg, tuple(r["input_shape"]))
        assert (cx.params, cx.flops) == (r["params"], r["flops"])
