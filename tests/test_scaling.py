"""The scaling study: design space, optuna sweeps (SQLite and PostgreSQL, concurrent workers, failed
trials), the analysis of a study, the latency-budget recommendation and their command lines.

Sweeps are real: optuna, training on ~40 synthetic 10 s records, one step per trial.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import torch
from conftest import AF, NSR, synthetic_uv, write_dat_record, write_metadata, write_weights_csv
from pg_server import PgServer, unavailable
from typer.testing import CliRunner

from ecgbench.cli import app
from ecgbench.data.classes import SCORED_CLASSES
from ecgbench.errors import BadInputError
from ecgbench.nets.convnext1d import ConvNeXt1D
from ecgbench.nets.design_space import (
    MAX_STAGES,
    SPACE,
    DesignPoint,
    regnet_widths,
    sample_point,
    to_config,
)
from ecgbench.nets.flops import measure_complexity
from ecgbench.scaling.analysis import (
    FEATURES,
    analyse,
    fit_power_law,
    frontier_errors,
    pareto_mask,
)
from ecgbench.scaling.recommend import (
    budget_table,
    candidates,
    fit_runtime_model,
    nice_budgets,
    recommend,
)
from ecgbench.scaling.sweep import SweepConfig, open_study, run_sweep, suggest, trials_frame

PER_FOLD = 4  # 10 folds x 4 = 40 records: 32 train (one batch of 32), 4 val, 4 test
FS = 100


# --------------------------------------------------------------------------- helpers
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
        "sweep", "--data", str(data), "--trials", "1", "--storage", storage, "--epochs", "1",
        "--max-steps", "1", "--weights", str(weights), "--threads", "1", *extra,
    ]  # fmt: skip


def concurrent_workers(
    commands: list[list[str]], tmp: Path, timeout: float = 240
) -> list[tuple[int, str, str]]:
    """Start every command at once (Popen all, then wait); (returncode, stdout, stderr) each."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200", "ECGBENCH_QUIET": "1",
           "TMPDIR": str(tmp)}  # fmt: skip
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


@pytest.fixture(scope="module")
def sweep_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(record folder, weights.csv) shared by the sweeps of this module."""
    root = tmp_path_factory.mktemp("sweep")
    write_sweep_folder(root / "data")
    return root / "data", write_weights_csv(root / "weights.csv")


@pytest.fixture
def own_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temporary files of in-process sweeps go to a fresh folder (to check that none are left)."""
    d = tmp_path / "tmpdir"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    return d


def check_trial_attrs(df: pd.DataFrame) -> None:
    for attr in ("params", "flops", "wall_seconds", "samples_per_s", "val_challenge_score",
                 "test_challenge_score", "n_train", "train_fraction", "pid", "host"):  # fmt: skip
        assert attr in df and df[attr].notna().all(), attr
    assert (df["params"] > 0).all() and (df["flops"] > 0).all() and (df["wall_seconds"] > 0).all()
    assert np.allclose(df["score"], df["val_challenge_score"])
    for _, r in df.iterrows():  # the stored architecture is the one the sampled params describe
        point = DesignPoint(**{k: r[k] for k in DesignPoint.__dataclass_fields__})
        cfg = to_config(point)
        assert (list(cfg.depths), list(cfg.widths), cfg.stages) == (
            r["depths"],
            r["widths"],
            r["stages"],
        )
        cx = measure_complexity(cfg, tuple(r["input_shape"]))
        assert (cx.params, cx.flops) == (r["params"], r["flops"])


# --------------------------------------------------------------------------- design space
def stage_runs(widths: list[int]) -> list[tuple[int, int]]:
    """(width, blocks) for each run of equal widths."""
    return [(w, len(list(g))) for w, g in itertools.groupby(widths)]


def test_sampled_design_points_map_to_valid_configs() -> None:
    rng = np.random.default_rng(0)
    points = [sample_point(rng) for _ in range(400)]
    corners = [
        DesignPoint(depth=d, w0=w0, wa=wa, wm=wm, expansion=2, kernel_size=3)
        for d in SPACE["depth"]
        for w0 in SPACE["w0"]
        for wa in SPACE["wa"]
        for wm in SPACE["wm"]
    ]
    merged = 0
    for p in points + corners:
        assert SPACE["depth"][0] <= p.depth <= SPACE["depth"][1]
        assert SPACE["w0"][0] <= p.w0 <= SPACE["w0"][1] and p.w0 % 8 == 0
        assert SPACE["wa"][0] <= p.wa <= SPACE["wa"][1]
        assert SPACE["wm"][0] <= p.wm <= SPACE["wm"][1]
        assert p.expansion in SPACE["expansion"] and p.kernel_size in SPACE["kernel_size"]
        widths = regnet_widths(p.depth, p.w0, p.wa, p.wm)
        assert len(widths) == p.depth
        assert all(a <= b for a, b in itertools.pairwise(widths)), widths
        assert all(w % 8 == 0 and w >= 8 for w in widths), widths
        cfg = to_config(p)
        assert 1 <= cfg.stages <= MAX_STAGES and len(cfg.widths) == cfg.stages
        assert sum(cfg.depths) == p.depth and all(w % 8 == 0 for w in cfg.widths)
        assert (cfg.kernel_size, cfg.expansion, cfg.num_classes) == (p.kernel_size, p.expansion, 26)
        runs = stage_runs(widths)
        if len(runs) <= MAX_STAGES:  # one stage per run of equal widths
            assert list(zip(cfg.widths, cfg.depths, strict=True)) == runs
        else:  # the first stages as derived, the rest merged into the last at the widest width
            merged += 1
            k = MAX_STAGES - 1
            assert list(zip(cfg.widths[:k], cfg.depths[:k], strict=True)) == runs[:k]
            assert cfg.depths[-1] == sum(n for _, n in runs[k:])
            assert cfg.widths[-1] == max(w for w, _ in runs[k:])
    assert merged > 0  # the merging branch was exercised
    assert len({to_config(p).stages for p in points}) >= 3  # the stage count varies
    # a few of them really build and run
    for p in points[:4]:
        y = ConvNeXt1D(to_config(p)).eval()(torch.zeros(1, 12, 256))
        assert y.shape == (1, 26) and torch.isfinite(y).all()


def test_regnet_widths_known_values() -> None:
    # u = 16 + 16 j -> 16, 32, 48, 64 snapped to 16 * 2^k = 16, 32, 64, 64
    assert regnet_widths(4, 16, 16.0, 2.0) == [16, 32, 64, 64]
    cfg = to_config(DesignPoint(depth=4, w0=16, wa=16.0, wm=2.0, expansion=4, kernel_size=7))
    assert (cfg.depths, cfg.widths) == ((1, 1, 2), (16, 32, 64))


def test_optuna_suggestions_stay_in_the_design_space() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(30):
        point, optimizer, lr = suggest(study.ask())
        assert SPACE["depth"][0] <= point.depth <= SPACE["depth"][1] and point.w0 % 8 == 0
        assert SPACE["wm"][0] <= point.wm <= SPACE["wm"][1]
        assert point.kernel_size in SPACE["kernel_size"] and point.expansion in SPACE["expansion"]
        assert optimizer in ("adamw", "sgd", "sgd-momentum") and 1e-4 <= lr <= 1e-1
        to_config(point)


# --------------------------------------------------------------------------- sweeps (SQLite)
def test_two_concurrent_workers_fill_one_sqlite_study(sweep_data, tmp_path: Path) -> None:
    data, weights = sweep_data
    storage = f"sqlite:///{tmp_path}/s.db"
    cmd = [ecgbench_exe(), *sweep_args(data, storage, weights)]
    for code, stdout, stderr in concurrent_workers([cmd, cmd], tmp_path):
        assert code == 0, stdout + stderr
        assert "Traceback" not in stderr and "trial " in stdout, stdout + stderr
    df = trials_frame(storage, "convnext1d-ecg")
    assert len(df) == 2 and sorted(df["trial"]) == [0, 1]
    check_trial_attrs(df)
    assert df["pid"].nunique() == 2  # one trial from each worker
    assert (df["train_fraction"] == 1.0).all() and (df["n_train"] == 8 * PER_FOLD).all()
    assert (df["samples_per_s"] > 0).all()  # one real optimiser step each
    assert not list(tmp_path.glob("ecgbench-sweep-*"))  # the workers' checkpoints are gone

    # a third worker on a fraction of the training records, into the same study
    cli(*sweep_args(data, storage, weights, "--data-fraction", "0.5"))
    df = trials_frame(storage, "convnext1d-ecg").set_index("trial")
    assert len(df) == 3
    assert df.loc[2, "train_fraction"] == 0.5 and df.loc[2, "n_train"] == 4 * PER_FOLD
    assert (df.loc[[0, 1], "train_fraction"] == 1.0).all()


def open_at_once(storage: str, study: str, n: int = 4) -> list[Exception]:
    """``open_study`` from ``n`` threads released together; the exceptions they raised."""
    barrier, errors = threading.Barrier(n), []

    def worker() -> None:
        barrier.wait()
        try:
            open_study(storage, study)
        except Exception as e:  # collected: an exception in a thread would be lost
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors


def test_workers_opening_a_fresh_storage_at_once_all_succeed(tmp_path: Path) -> None:
    """Every worker creates optuna's tables on a fresh storage; the losers of that race retry.

    (Without the retry, 4 threads lose it nearly every time.)
    """
    storage = f"sqlite:///{tmp_path}/race.db"
    assert open_at_once(storage, "race") == []
    assert len(open_study(storage, "race", create=False).trials) == 0


def test_a_failed_trial_is_recorded_and_the_study_goes_on(
    sweep_data, tmp_path: Path, own_tmpdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, weights = sweep_data
    shuffled = write_weights_csv(tmp_path / "shuffled.csv", SCORED_CLASSES[::-1])
    storage = f"sqlite:///{tmp_path}/f.db"
    cfg = SweepConfig(data_dir=data, storage=storage, study="f", trials=2, epochs=1, max_steps=1,
                      threads=1, weights_path=str(shuffled))  # fmt: skip
    with caplog.at_level("WARNING", logger="optuna"):
        r = run_sweep(cfg, log=lambda m: None)
    assert (r["trials"], r["complete"], r["failed"]) == (2, 0, 2)  # both trials ran and failed
    why = [m for m in caplog.messages if "official order" in m]
    assert len(why) == 2, caplog.messages  # the reason is in the worker's log
    study = open_study(storage, "f", create=False)
    for t in study.trials:
        assert t.state == optuna.trial.TrialState.FAIL
        assert t.user_attrs["flops"] > 0  # recorded before the failure
    with pytest.raises(BadInputError, match="no completed trial"):
        trials_frame(storage, "f")

    r = run_sweep(replace(cfg, trials=1, weights_path=str(weights)), log=lambda m: None)
    assert (r["trials"], r["complete"], r["failed"]) == (3, 1, 2)
    states = [t.state.name for t in open_study(storage, "f", create=False).trials]
    assert states == ["FAIL", "FAIL", "COMPLETE"]
    df = trials_frame(storage, "f")
    assert list(df["trial"]) == [2]
    check_trial_attrs(df)
    assert df["pid"].iloc[0] == os.getpid()
    assert not list(own_tmpdir.glob("ecgbench-sweep-*"))  # no trial checkpoint is left behind


# --------------------------------------------------------------------------- sweeps (PostgreSQL)
@pytest.fixture
def pg_server():
    reason = unavailable()
    if reason:
        pytest.skip(f"no throwaway PostgreSQL server: {reason}")
    with PgServer() as pg:
        yield pg


def test_two_workers_fill_one_postgresql_study(pg_server: PgServer, sweep_data, tmp_path) -> None:
    """Workers open a fresh database at once, then two fill one study at the same time.

    One worker is a child process; the other runs in this process, started once the child's trial
    is running (a second child would double this test's CPU; two pids either way).
    """
    data, weights = sweep_data
    storage = pg_server.create_database("sweep")
    assert storage.startswith("postgresql://")  # the plain URL the README shows
    assert open_at_once(storage, "convnext1d-ecg") == []  # table creation races on PostgreSQL too
    study = open_study(storage, "convnext1d-ecg", create=False)

    env = {**os.environ, "OMP_NUM_THREADS": "1", "ECGBENCH_QUIET": "1", "TMPDIR": str(tmp_path)}
    cmd = [ecgbench_exe(), *sweep_args(data, storage, weights)]
    child = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 180
        running = ()
        while not running and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.25)
            running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        if running:  # the second worker starts while the child's trial runs
            cli(*sweep_args(data, storage, weights))
        stdout, stderr = child.communicate(timeout=240)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert running and child.returncode == 0, stdout + stderr
    df = trials_frame(storage, "convnext1d-ecg")
    assert len(df) == 2 and set(df["pid"]) == {child.pid, os.getpid()}
    check_trial_attrs(df)
    states = [t.state.name for t in open_study(storage, "convnext1d-ecg", create=False).trials]
    assert states == ["COMPLETE", "COMPLETE"]


# --------------------------------------------------------------------------- analysis
ALPHA_FLOPS, ALPHA_DATA, N_FULL = 0.15, 0.3, 2000


def synthetic_study(seed: int = 0, n_full: int = 48) -> pd.DataFrame:
    """A study shaped like trials_frame's: error = 2 * FLOPs^-0.15 * (n / N)^-0.3, tiny noise.

    FLOPs follow ``wa`` (so the regressor has something to learn); the data-size runs at three
    smaller ``n_train`` share the same FLOPs grid, so that the best error per size obeys n^-0.3.
    Only two optimisers are used: correlations with the third are undefined.
    """
    rng = np.random.default_rng(seed)
    rows = []

    def row(u: float, n: int) -> dict:
        flops = 10 ** (6 + 3 * u)
        err = 2.0 * flops**-ALPHA_FLOPS * (n / N_FULL) ** -ALPHA_DATA
        p = sample_point(rng)
        return {
            "depth": p.depth, "w0": p.w0, "wa": 4 + 28 * u, "wm": p.wm,
            "expansion": p.expansion, "kernel_size": p.kernel_size,
            "lr": float(10 ** rng.uniform(-4, -1)), "optimizer": str(rng.choice(["adamw", "sgd"])),
            "stages": int(rng.integers(1, 6)), "flops": int(flops), "params": int(flops / 40),
            "score": 1 - err + rng.normal(0, 2e-4), "train_fraction": n / N_FULL, "n_train": n,
            "test_challenge_score": 1 - err - 0.01,
        }  # fmt: skip

    us = np.concatenate([rng.uniform(0, 1, n_full - 1), [1.0]])
    rows += [row(u, N_FULL) for u in us]
    for n in (250, 500, 1000):
        rows += [row(u, n) for u in np.linspace(0, 1, 5)]
    df = pd.DataFrame(rows)
    df.insert(0, "trial", range(len(df)))
    return df


def strict_json(text: str):
    def bad(c: str):
        raise ValueError(f"not valid JSON: {c}")

    return json.loads(text, parse_constant=bad)


def test_analyse_recovers_known_power_laws() -> None:
    df = synthetic_study()
    s = analyse(df, folds=4)
    full = df[df["train_fraction"] == 1.0]
    assert s.n_trials == len(df)
    assert s.power_law_flops is not None and s.power_law_flops.x == "flops"
    assert s.power_law_flops.alpha == pytest.approx(ALPHA_FLOPS, abs=0.02)
    assert s.power_law_flops.r2 > 0.95
    assert s.power_law_data is not None and s.power_law_data.n_points == 4
    assert s.power_law_data.alpha == pytest.approx(ALPHA_DATA, abs=0.05)
    assert len(s.cv_pearson_r) == 4 and min(s.cv_pearson_r) > 0.8
    assert list(s.importance) == sorted(s.importance, key=lambda k: -s.importance[k])
    assert len(s.importance) == len(FEATURES) and set(s.importance) == set(FEATURES)
    assert next(iter(s.importance)) == "wa"  # the feature the score follows comes first
    assert s.spearman["wa"] > 0.95 and math.isnan(s.spearman["opt_sgd-momentum"])
    # best per optimiser among the full-data trials only
    for opt, g in full.groupby("optimizer"):
        b = s.best_by_optimizer[opt]
        assert b["trials"] == len(g) and b["val_score"] == pytest.approx(g["score"].max())
        assert b["flops"] == g.loc[g["score"].idxmax(), "flops"]
    assert set(s.best_by_optimizer) == {"adamw", "sgd"}
    d = s.to_dict()  # what summary.json holds: strict JSON, undefined values as null
    assert strict_json(json.dumps(d))["spearman"]["opt_sgd-momentum"] is None


def test_analyse_needs_enough_full_data_trials() -> None:
    df = synthetic_study(n_full=4)
    with pytest.raises(BadInputError, match=r"at least 6 .* have 4 of 19"):
        analyse(df)  # 19 trials, but only 4 on all the training records
    with pytest.raises(BadInputError, match="have 0 of 15"):
        analyse(df[df["train_fraction"] < 1])  # data-size runs only
    with pytest.raises(BadInputError, match="at least 8"):
        analyse(synthetic_study(n_full=7), folds=4)


def test_pareto_frontier_and_power_law_helpers() -> None:
    cost = np.array([1.0, 2.0, 3.0, 2.0, 1.0])
    score = np.array([0.5, 0.6, 0.55, 0.4, 0.5])
    assert pareto_mask(cost, score).tolist() == [True, True, False, False, True]
    xs, errs = frontier_errors(np.array([3.0, 1.0, 2.0, 4.0]), np.array([0.5, 0.2, 0.6, 0.55]))
    assert xs.tolist() == [1.0, 2.0] and errs == pytest.approx([0.8, 0.4])
    x = np.geomspace(10, 1e4, 7)
    pl = fit_power_law(x, 3.0 * x**-0.5, "n")
    assert pl is not None and (pl.a, pl.alpha, pl.r2) == pytest.approx((3.0, 0.5, 1.0))
    assert pl.predict(np.array([100.0])) == pytest.approx([0.3])
    # non-positive or undefined errors are left out; fewer than 3 points left: no fit
    pl = fit_power_law(np.array([1.0, 2, 4, 8]), np.array([1.0, 0.0, np.nan, 0.5]), "n")
    assert pl is None
    pl = fit_power_law(np.array([1.0, 2, 4, 8, 16]), np.array([1.0, 0.0, 0.5, -1, 0.25]), "n")
    assert pl is not None and pl.n_points == 3 and (pl.a, pl.alpha) == pytest.approx((1.0, 0.5))


def add_synthetic_trials(storage: str, name: str, df: pd.DataFrame) -> None:
    """Put the rows of a synthetic study into optuna as finished trials (no training)."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    dists = {
        "depth": IntDistribution(*SPACE["depth"]), "w0": IntDistribution(8, 48, step=8),
        "wa": FloatDistribution(*SPACE["wa"]), "wm": FloatDistribution(*SPACE["wm"]),
        "expansion": CategoricalDistribution(SPACE["expansion"]),
        "kernel_size": CategoricalDistribution(SPACE["kernel_size"]),
        "optimizer": CategoricalDistribution(("adamw", "sgd", "sgd-momentum")),
        "lr": FloatDistribution(1e-4, 1e-1, log=True),
    }  # fmt: skip
    study = open_study(storage, name)
    for _, r in df.iterrows():
        attrs = {k: r[k].item() if hasattr(r[k], "item") else r[k] for k in df.columns
                 if k not in dists and k not in ("trial", "score")}  # fmt: skip
        study.add_trial(
            optuna.trial.create_trial(
                params={k: r[k].item() if hasattr(r[k], "item") else r[k] for k in dists},
                distributions=dists,
                value=float(r["score"]),
                user_attrs=attrs,
            )
        )


def test_scaling_command_writes_the_report(tmp_path: Path) -> None:
    """trials_frame -> analyse -> write_scaling_report, on a study stored in optuna."""
    storage = f"sqlite:///{tmp_path}/a.db"
    df = synthetic_study(n_full=36)
    add_synthetic_trials(storage, "synthetic", df)
    back = trials_frame(storage, "synthetic")
    assert len(back) == len(df) and set(df.columns) <= set(back.columns)
    out = tmp_path / "report"
    text = " ".join(cli("scaling", "synthetic", "--storage", storage, "-o", out).split())
    assert f"({len(df)} trials)" in text and f"wrote 7 files to {out}" in text
    assert len(text.split("CV Pearson r per fold: ")[1].split(" over ")[0].split(", ")) == 3
    assert "over 15 folds of 5 repeated splits" in text
    laws = dict(re.findall(r"power law: error = \S+ \* (\w+)\^-([\d.]+)", text))
    assert float(laws["flops"]) == pytest.approx(ALPHA_FLOPS, abs=0.02), text
    assert float(laws["n_train"]) == pytest.approx(ALPHA_DATA, abs=0.05), text

    names = ["pareto_flops.png", "importance.png", "power_law.png", "power_law_data.png",
             "summary.json", "summary.md", "trials.csv"]  # fmt: skip
    assert sorted(f.name for f in out.iterdir()) == sorted(names)
    for name in names[:4]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = strict_json((out / "summary.json").read_text())
    assert summary["n_trials"] == len(df) and len(summary["cv_pearson_r"]) == 3
    assert len(summary["cv_pearson_r_repeated"]) == 15
    assert summary["cv_pearson_r_repeated"][:3] == summary["cv_pearson_r"]
    assert summary["power_law_flops"]["alpha"] == pytest.approx(ALPHA_FLOPS, abs=0.02)
    assert summary["power_law_data"]["alpha"] == pytest.approx(ALPHA_DATA, abs=0.05)
    assert set(summary["importance"]) == set(FEATURES)
    assert summary["spearman"]["opt_sgd-momentum"] is None  # undefined, written as null
    md = (out / "summary.md").read_text()  # the seed's numbers beside ours, exponents as fitted
    assert "| adamw |" in md and "| 0.682 |" in md and "| 0.531 |" in md
    assert f"x^−{summary['power_law_flops']['alpha']:.4f}" in md
    assert f"x^−{summary['power_law_data']['alpha']:.4f}" in md
    assert summary["seed"]["best_by_optimizer"]["adamw"] == 0.682
    csv = pd.read_csv(out / "trials.csv")
    assert len(csv) == len(df) and set(df.columns) <= set(csv.columns)
    assert sorted(csv["score"]) == pytest.approx(sorted(df["score"]))


# --------------------------------------------------------------------------- recommend
B0, B1 = math.log(2e-6), 0.8  # latency_ms = 2e-6 * FLOPs^0.8 on the measured machine


def line_ms(flops: float) -> float:
    return math.exp(B0) * flops**B1


def store_rows() -> pd.DataFrame:
    def r(model, flops, score, created, **kw):
        base = {"model": model, "backend": "openvino", "device": "CPU", "precision": "int8",
                "scenario": "latency", "batch": 1, "median_ms": line_ms(flops),
                "p99_ms": 1.5 * line_ms(flops), "flops": flops, "challenge_score": score,
                "auroc": 0.9, "created": created}  # fmt: skip
        return {**base, **kw}

    return pd.DataFrame([
        r("medium-twin", 3e7, 0.55, "2026-01-02"),  # ties with medium, slower: listed first
        r("small", 1e6, 0.40, "2026-01-02"),
        r("medium", 1e7, 0.55, "2026-01-02"),
        r("large", 1e8, 0.60, "2026-01-02"),
        r("huge", 1e9, 0.70, "2026-01-02"),
        # an older run of "stale" was fast and scored; its latest run has no score
        r("stale", 3e9, 0.99, "2026-01-01", median_ms=0.05, p99_ms=0.06),
        r("stale", 3e9, np.nan, "2026-01-03", auroc=np.nan),
        # other devices, precisions, scenarios and batch sizes do not count
        r("ghost-gpu", 1e6, 0.99, "2026-01-02", device="GPU", median_ms=0.01),
        r("ghost-fp32", 1e6, 0.99, "2026-01-02", precision="fp32", median_ms=0.01),
        r("ghost-tput", 1e6, 0.99, "2026-01-02", scenario="throughput", median_ms=0.01),
        r("ghost-b8", 1e6, 0.99, "2026-01-02", batch=8, median_ms=0.01),
        # a second backend with one measured size: too little to fit a runtime model on
        r("small", 1e6, 0.40, "2026-01-02", backend="onnxruntime", median_ms=0.2),
    ])  # fmt: skip


def test_recommend_picks_the_best_model_under_the_budget() -> None:
    c = candidates(store_rows(), "cpu", "int8", backend="openvino")
    assert sorted(c["model"]) == ["huge", "large", "medium", "medium-twin", "small", "stale"]
    assert (c["latency"] == "measured").all() and (c["source"] == "zoo").all()
    stale = c[c["model"] == "stale"].iloc[0]  # the latest run, whole: not mixed with older ones
    assert stale["median_ms"] == pytest.approx(line_ms(3e9)) and pd.isna(stale["challenge_score"])
    assert pd.isna(stale["auroc"])
    assert recommend(c, 0.05) is None  # nothing fits
    assert recommend(c, 0.2)["model"] == "small"
    assert recommend(c, 1.0)["model"] == "medium"
    assert recommend(c, 2.5)["model"] == "medium"  # tie with medium-twin: the faster wins
    assert recommend(c, 10.0)["model"] == "large"
    assert recommend(c, 1000.0)["model"] == "huge"  # "stale" has no score now
    with pytest.raises(Exception, match="no measured latency for NPU"):
        candidates(store_rows(), "NPU", "int8")


def test_trials_get_a_predicted_latency_from_the_runtime_model() -> None:
    rows = store_rows()
    on_line = rows["model"].isin(["small", "medium", "large", "huge"])
    rm = fit_runtime_model(rows[on_line & (rows["backend"] == "openvino")])
    assert rm is not None and (rm.b0, rm.b1) == pytest.approx((B0, B1))
    assert fit_runtime_model(rows[rows["model"] == "small"]) is None  # one size: no fit
    trials = pd.DataFrame({"trial": [0, 1], "flops": [2e6, 5e8], "score": [0.5, 0.9],
                           "test_challenge_score": [0.45, 0.80], "test_auroc": [0.7, 0.8]})  # fmt: skip
    c = candidates(rows, "CPU", "int8", trials=trials)
    t = c[c["source"] == "sweep"].set_index("model")
    assert sorted(t.index) == ["trial 0", "trial 1"]
    assert set(t["backend"]) == {"openvino"}  # onnxruntime has one measured size
    assert t["latency"].str.startswith("predicted").all()
    for name, flops in (("trial 0", 2e6), ("trial 1", 5e8)):
        assert t.loc[name, "median_ms"] == pytest.approx(line_ms(flops), rel=1e-6)
    assert t.loc["trial 1", "challenge_score"] == 0.80  # the test score, not the validation one
    assert (c.loc[c["source"] == "zoo", "latency"] == "measured").all()
    best = recommend(c, 20.0)
    assert best["model"] == "trial 1" and best["latency"].startswith("predicted")
    assert recommend(c, 10.0)["model"] == "large"


def write_store_rows(store: Path) -> None:
    """``store_rows()`` as real runs in a results store: one run per creation date."""
    from ecgbench.bench.results import ResultRow, RunDocument, append_to_store

    for created, g in store_rows().groupby("created"):
        rows = []
        for r in g.to_dict("records"):
            ms = r["median_ms"]
            rows.append(ResultRow(
                model=r["model"], backend=r["backend"], device=r["device"],
                precision=r["precision"], scenario=r["scenario"], batch=int(r["batch"]),
                input_shape=[int(r["batch"]), 12, 5000], artifact="-", compile_ms=1.0,
                first_infer_ms=1.0, samples_ns=[int(ms * 1e6)], n=1, median_ms=ms, mean_ms=ms,
                p90_ms=ms, p99_ms=r["p99_ms"], min_ms=ms, iqr_ms=0.0, throughput_fps=1e3 / ms,
                flops=int(r["flops"]), executed="int8+f32",
                challenge_score=None if pd.isna(r["challenge_score"]) else r["challenge_score"],
                auroc=None if pd.isna(r["auroc"]) else r["auroc"],
            ))  # fmt: skip
        doc = RunDocument(fingerprint={"machine_id": "m1", "cpu_model": "test"}, rows=rows,
                          run_id=f"run-{created}", created=str(created), complete=True)  # fmt: skip
        append_to_store(doc, store)


def test_recommend_command(tmp_path: Path) -> None:
    store = tmp_path / "store"
    write_store_rows(store)
    text = cli("recommend", "--store", store, "--backend", "openvino", "--budget-ms", "0.05",
               "--budget-ms", "1", "--budget-ms", "10")  # fmt: skip
    lines = [" ".join(ln.replace("│", " ").split()) for ln in text.splitlines()]
    assert any(ln.startswith("0.05 nothing fits") for ln in lines), text
    assert any(ln.startswith("1 medium openvino 0.796 measured 0.550") for ln in lines), text
    assert any(ln.startswith("10 large openvino 5.024 measured 0.600") for ln in lines), text


# --------------------------------------------------------------------------- CLI errors
@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ("postgresql://u@127.0.0.1:1/x", "postgresql://u@127.0.0.1:1/x"),
        ("notaurl", "cannot open optuna storage 'notaurl'"),
    ],
    ids=["unreachable-server", "not-a-url"],
)
def test_sweep_with_a_bad_storage_is_one_line(
    sweep_data, tmp_path: Path, storage: str, message: str
) -> None:
    data, weights = sweep_data
    text = cli(*sweep_args(data, storage, weights), code=2)
    assert message in text
    if storage.startswith("postgresql") and importlib.util.find_spec("psycopg2"):
        assert "cannot open optuna storage" in text and "not installed" not in text


def test_scaling_and_recommend_errors_are_one_line(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path}/e.db"
    open_study(storage, "another")
    text = cli("scaling", "nosuch", "--storage", storage, "-o", tmp_path / "out", code=2)
    assert "no study named 'nosuch'" in text and not (tmp_path / "out").exists()
    text = cli("scaling", "another", "--storage", storage, "-o", tmp_path / "out", code=2)
    assert "has no completed trial" in text
    empty = tmp_path / "empty_store"
    empty.mkdir()
    assert "no results store" in cli("recommend", "--store", empty, code=2)


def test_accuracy_cost_and_budget_table() -> None:
    rows = store_rows()
    # an FP32 run of "medium" on CPU: the INT8 variant's cost is measured against it
    rows = pd.concat([rows, pd.DataFrame([{**rows.iloc[2].to_dict(), "precision": "fp32",
                                          "challenge_score": 0.57}])], ignore_index=True)  # fmt: skip
    c = candidates(rows, "CPU", "int8", backend="openvino", fp32_scores={"large": 0.66})
    drop = dict(zip(c["model"], c["score_drop"], strict=True))
    assert drop["medium"] == pytest.approx(0.02) and drop["large"] == pytest.approx(0.06)
    assert np.isnan(drop["small"])  # no FP32 score known: no cost claimed
    t = budget_table(rows[rows["backend"] == "openvino"], [0.05, 1.0, 10.0])
    got = {(r.device, r.precision, r.budget_ms): r.model for r in t.itertuples()}
    assert pd.isna(got[("CPU", "int8", 0.05)]) and got[("CPU", "int8", 1.0)] == "medium"
    assert got[("CPU", "int8", 10.0)] == "large" and got[("CPU", "fp32", 10.0)] == "ghost-fp32"
    assert got[("GPU", "int8", 10.0)] == "ghost-gpu"


def test_nice_budgets_span_the_measured_range() -> None:
    assert nice_budgets([1.6, 11.4]) == [2.0, 5.0, 10.0, 20.0]
    assert nice_budgets([0.15, 0.9]) == [0.2, 0.5, 1.0]
    assert nice_budgets([]) == [] and nice_budgets([float("nan")]) == []
