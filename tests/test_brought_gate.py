"""A user's own repository gates its pull requests: brought models and cards in ``ml/zoo``, a
suite at its root, ecgbench installed as a package (``gate --zoo ml/zoo``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helpers_brought import TinyCNN, export_onnx, write_card
from typer.testing import CliRunner

from ecgbench.cli import app
from ecgbench.zoo import Zoo
from ecgbench.zoo_brought import add_brought

SUITE = """name = "my-suite"
models = ["mine"]
backends = ["openvino"]
precisions = ["fp32"]
threads = 1
duration = 1.0
round_s = 0.05
min_iters = 10
warmup = 0.1
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)


def _commit(repo: Path, msg: str) -> None:
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", msg)


@pytest.fixture(scope="module")
def user_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HEAD~2: a small CNN; HEAD~1: the same name, 16x wider (a real slowdown); HEAD: docs."""
    tmp = tmp_path_factory.mktemp("userrepo")
    repo = tmp / "repo"
    repo.mkdir()
    (repo / "my-suite.toml").write_text(SUITE)
    card = write_card(tmp / "card.toml", classes=("164889003", "426783006"))
    for i, width in enumerate((4, 64)):
        export_onnx(TinyCNN(classes=2, width=width), (1, 12, 5000), tmp / f"m{i}.onnx")
        add_brought(Zoo(repo / "ml" / "zoo"), tmp / f"m{i}.onnx", card, "mine")
        if i == 0:
            _git(repo, "init", "-q")
        _commit(repo, f"width {width}")
    (repo / "README.md").write_text("docs\n")
    _commit(repo, "docs only")
    return repo


def _gate(repo: Path, *args: str):
    return CliRunner().invoke(
        app,
        ["gate", "--repo", str(repo), "--suite", "my-suite.toml", "--zoo", "ml/zoo", *args],
        env={"ECGBENCH_QUIET": "1"},
    )


def test_a_heavier_brought_model_is_a_regression(user_repo: Path) -> None:
    r = _gate(user_repo, "--base", "HEAD~2", "--head", "HEAD~1")
    assert r.exit_code == 1, r.output
    assert "regression" in r.output


def test_a_docs_change_in_the_users_repo_times_nothing(user_repo: Path) -> None:
    r = _gate(user_repo, "--base", "HEAD~1", "--head", "HEAD")
    assert r.exit_code == 0, r.output
    assert "nothing" in r.output
