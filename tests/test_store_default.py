"""The default store is one per-user place (the XDG data directory), found again from any folder;
``store list`` says where it is; ``$ECGBENCH_RESULTS`` and ``--store`` override it."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_gate import result_row, run_doc
from helpers_scaling import cli

from ecgbench.bench.results.document import default_store
from ecgbench.bench.store.database import append_to_store, load_store, store_url


def test_the_default_store_is_per_user_and_found_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_DATA_HOME", str(xdg))
    monkeypatch.delenv("ECGBENCH_RESULTS", raising=False)
    assert Path(default_store()) == xdg / "ecgbench"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    append_to_store(run_doc([result_row("m", 1.0, 0)]), None)
    assert (xdg / "ecgbench" / "ecgbench.db").is_file() and not list((tmp_path / "a").iterdir())
    monkeypatch.chdir(tmp_path / "b")
    assert len(load_store()) == 1  # the same store from another folder
    text = " ".join(cli("store", "list").split())
    assert f"store: sqlite:///{xdg / 'ecgbench' / 'ecgbench.db'} (default)" in text


def test_the_variable_and_the_flag_override_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    env_store, flag_store = tmp_path / "env", tmp_path / "flag"
    monkeypatch.setenv("ECGBENCH_RESULTS", str(env_store))
    assert store_url() == f"sqlite:///{env_store / 'ecgbench.db'}"
    append_to_store(run_doc([result_row("m", 1.0, 0)]), None)
    append_to_store(run_doc([result_row("m", 1.0, 1)]), flag_store)
    assert "(\\$ECGBENCH_RESULTS)" in cli("store", "list").replace("$", "\\$")
    assert f"{flag_store / 'ecgbench.db'} (--store)" in " ".join(
        cli("store", "list", "--store", flag_store).split()
    )
    assert not (tmp_path / "xdg").exists()
