"""Optuna sweeps on SQLite and PostgreSQL: concurrent workers, racing table creation, failed
trials, a bad storage.

Sweeps are real: optuna, training on ~40 synthetic 10 s records, one step per trial.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import optuna
import pytest
from conftest import write_weights_csv
from helpers_scaling import (
    PER_FOLD,
    check_trial_attrs,
    cli,
    concurrent_workers,
    ecgbench_exe,
    sweep_args,
    write_sweep_folder,
)
from pg_server import PgServer, unavailable

from ecgbench.data.classes import SCORED_CLASSES
from ecgbench.errors import BadInputError
from ecgbench.scaling.sweep import SweepConfig, open_study, run_sweep, trials_frame


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


def tiny_sweep(data: Path, weights: Path, storage: str, study: str, trials: int) -> SweepConfig:
    """An in-process sweep of one optimiser step per epoch, one epoch per trial."""
    return SweepConfig(
        data_dir=data,
        storage=storage,
        study=study,
        trials=trials,
        epochs=1,
        max_steps=1,
        threads=1,
        weights_path=str(weights),
    )


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
    sweep_data, tmp_path: Path, own_tmpdir: Path, caplog: pytest.LogCaptureFixture, monkeypatch
) -> None:
    import ecgbench.scaling.sweep as sweep_module

    data, weights = sweep_data
    storage = f"sqlite:///{tmp_path}/f.db"
    cfg = tiny_sweep(data, weights, storage, "f", trials=2)
    real_train = sweep_module.train_model

    def diverging(*args, **kwargs):
        raise FloatingPointError("loss is NaN at step 1")

    monkeypatch.setattr(sweep_module, "train_model", diverging)
    with caplog.at_level("WARNING", logger="optuna"):
        r = run_sweep(cfg, log=lambda m: None)
    assert (r["trials"], r["complete"], r["failed"]) == (2, 0, 2)  # both trials ran and failed
    why = [m for m in caplog.messages if "loss is NaN" in m]
    assert len(why) == 2, caplog.messages  # the reason is in the worker's log
    study = open_study(storage, "f", create=False)
    for t in study.trials:
        assert t.state == optuna.trial.TrialState.FAIL
        assert t.user_attrs["flops"] > 0  # recorded before the failure
    with pytest.raises(BadInputError, match="no completed trial"):
        trials_frame(storage, "f")

    monkeypatch.setattr(sweep_module, "train_model", real_train)
    r = run_sweep(replace(cfg, trials=1), log=lambda m: None)
    assert (r["trials"], r["complete"], r["failed"]) == (3, 1, 2)
    states = [t.state.name for t in open_study(storage, "f", create=False).trials]
    assert states == ["FAIL", "FAIL", "COMPLETE"]
    df = trials_frame(storage, "f")
    assert list(df["trial"]) == [2]
    check_trial_attrs(df)
    assert df["pid"].iloc[0] == os.getpid()
    assert not list(own_tmpdir.glob("ecgbench-sweep-*"))  # no trial checkpoint is left behind


def test_bad_weights_stop_the_sweep_before_any_trial(sweep_data, tmp_path: Path) -> None:
    """Every trial would fail the same way: one line, and no trial recorded."""
    data, _ = sweep_data
    shuffled = write_weights_csv(tmp_path / "shuffled.csv", SCORED_CLASSES[::-1])
    storage = f"sqlite:///{tmp_path}/w.db"
    text = cli(*sweep_args(data, storage, shuffled), code=2)
    assert "official order" in text
    missing = cli(*sweep_args(data, storage, tmp_path / "nope.csv"), code=2)
    assert "weights.csv" in missing or "nope.csv" in missing


def test_replay_reruns_the_same_trials_at_more_epochs(sweep_data, tmp_path: Path) -> None:
    data, weights = sweep_data
    storage = f"sqlite:///{tmp_path}/r.db"
    cfg = tiny_sweep(data, weights, storage, "short", trials=3)
    run_sweep(cfg, log=lambda m: None)
    long_cfg = replace(cfg, study="long", replay="short", epochs=2, trials=10)
    lines: list[str] = []
    r = run_sweep(long_cfg, log=lines.append)
    assert r["complete"] == 3 and "replaying 3 trials of short at 2 epochs" in lines
    short, long = trials_frame(storage, "short"), trials_frame(storage, "long")
    assert sorted(long["replay_of"]) == sorted(short["trial"])
    for _, t in long.iterrows():  # same architecture and optimiser, more epochs
        src = short.set_index("trial").loc[t["replay_of"]]
        for k in ("depth", "w0", "wa", "family", "optimizer", "lr", "flops"):
            assert t[k] == src[k], k
        assert (t["epochs"], src["epochs"]) == (2, 1)
    states = [t.state.name for t in open_study(storage, "long", create=False).trials]
    assert states.count("COMPLETE") == 3  # the queue ran dry: no random trial was trained
    # a second worker on the same replay adds nothing
    run_sweep(long_cfg, log=lambda m: None)
    assert len(trials_frame(storage, "long")) == 3
    text = cli("scaling", "short", "--storage", storage, "--longer", "long", "-o", tmp_path / "o")
    assert "rank agreement, 3 trials at 1 vs 2 epochs: Spearman" in " ".join(text.split())
    assert (tmp_path / "o" / "rank_agreement.json").is_file()
    assert "--replay needs another study" in cli(
        *sweep_args(data, storage, weights, "--study", "x", "--replay", "x"), code=2
    )
    assert "no study named 'nosuch'" in cli(
        *sweep_args(data, storage, weights, "--study", "y", "--replay", "nosuch"), code=2
    )


def test_model_trials_train_one_named_size_for_the_data_axis(sweep_data, tmp_path: Path) -> None:
    from ecgbench.nets.flops import measure_complexity
    from ecgbench.scaling.sweep import named_size_at

    data, weights = sweep_data
    storage = f"sqlite:///{tmp_path}/m.db"
    for fraction in ("0.5", "1"):
        cli(
            *sweep_args(
                data, storage, weights, "--model", "transformer1d_atto", "--data-fraction", fraction
            )
        )
    df = trials_frame(storage, "convnext1d-ecg")
    assert (df["model"] == "transformer1d_atto").all() and (df["family"] == "transformer1d").all()
    assert (df["optimizer"] == "adamw").all() and sorted(df["n_train"]) == [16, 32]
    cfg = named_size_at("transformer1d_atto", 100.0)
    assert cfg.patch == 10  # 0.1 s tokens at the sweep's 100 Hz, as at 500 Hz
    cx = measure_complexity(cfg, tuple(df["input_shape"].iloc[0]))
    assert (df["flops"] == cx.flops).all()
    text = cli("scaling", "convnext1d-ecg", "--storage", storage, "-o", tmp_path / "o")
    assert "data scaling, transformer1d_atto: fewer than 3 record counts" in text
    assert (tmp_path / "o" / "data_scaling.png").is_file()
    assert "unknown model size 'nosuch'" in cli(
        *sweep_args(data, storage, weights, "--model", "nosuch"), code=2
    )


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


# --------------------------------------------------------------------------- a bad storage
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
