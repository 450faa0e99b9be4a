"""The same-job gate: base and head timed in one job.

Two revisions of a small project in a temporary git repository: head's model made heavier is a
regression (exit 1), head equal to base is unchanged (exit 0); a slower *code* change is timed
with each side's own package.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import TINY, make_checkpoint
from typer.testing import CliRunner

from ecgbench.bench.results.document import read_run
from ecgbench.checkpoint import save_checkpoint
from ecgbench.cli import app
from ecgbench.gate.changes import CODE, LIBRARIES, MODELS, NONE, Change
from ecgbench.gate.verdicts import GateSettings, Verdict, paired_verdict
from ecgbench.nets.convnext1d import ConvNeXt1DConfig
from ecgbench.zoo import Zoo

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ConvNeXt1DConfig(depths=(2, 2), widths=(48, 96), drop_path_rate=0.0)
PROFILE = """name = "gate-test"
models = ["m"]
backends = ["openvino"]
precisions = ["fp32"]
threads = 1
duration = 1.0
round_s = 0.05
min_iters = 10
warmup = 0.1
"""


def _git(repo: Path, *args: str) -> str:
    r = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return r.stdout


def _commit(repo: Path, msg: str) -> None:
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", msg)


def _set_model(repo: Path, cfg: ConvNeXt1DConfig, tmp: Path, eval_seconds: float = 10.0) -> None:
    from dataclasses import replace

    ck = make_checkpoint(cfg)
    ck = replace(ck, preprocessing=replace(ck.preprocessing, eval_seconds=eval_seconds))
    p = tmp / f"m-{cfg.widths[0]}-{eval_seconds:g}.pt"
    save_checkpoint(ck, p)
    Zoo(repo / "models").add(p, name="m")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HEAD~3: a tiny model; HEAD~2: the same name, a heavier model; HEAD~1: the tiny model on a
    3x longer input window; HEAD: a docs-only change."""
    tmp = tmp_path_factory.mktemp("gate")
    repo = tmp / "proj"
    (repo / "runners").mkdir(parents=True)
    (repo / "runners" / "gate.toml").write_text(PROFILE)
    _set_model(repo, TINY, tmp)
    _git(repo, "init", "-q")
    _commit(repo, "base")
    _set_model(repo, HEAVY, tmp)
    _commit(repo, "head: a heavier model")
    _set_model(repo, TINY, tmp, eval_seconds=30.0)  # the base's weights, a 3x longer window
    _commit(repo, "a longer input")
    (repo / "NOTES.md").write_text("docs only\n")
    _commit(repo, "docs only")
    return repo


def _gate(repo: Path, *args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(
        app,
        ["gate", "--repo", str(repo), "--suite", "runners/gate.toml", *args],
        env={"ECGBENCH_QUIET": "1", **(env or {})},
    )


# --------------------------------------------------------------------------- what changed
@pytest.mark.parametrize(
    ("files", "mode"),
    [
        (("models/zoo.toml", "models/m.pt"), MODELS),
        (("runners/ci.toml",), MODELS),
        (("ecgbench/backends/openvino_backend.py", "models/zoo.toml"), CODE),
        ((".ci/constraints.txt", "ecgbench/cli/run.py"), LIBRARIES),
        (("pyproject.toml",), LIBRARIES),
        (("README.md", "tests/test_x.py"), NONE),
    ],
)
def test_what_changed_decides_how_base_and_head_are_timed(files, mode) -> None:
    assert Change(files).mode == mode


def test_pyproject_without_a_dependency_change_is_not_a_library_change(tmp_path: Path) -> None:
    from ecgbench.gate.changes import changed_files

    repo = tmp_path / "r"
    repo.mkdir()
    deps = '[project]\nname = "x"\ndependencies = ["numpy>=1.26"]\n'
    (repo / "pyproject.toml").write_text(deps)
    _git(repo, "init", "-q")
    _commit(repo, "base")
    (repo / "pyproject.toml").write_text(deps + "[tool.ruff]\nline-length = 99\n")
    _commit(repo, "lint settings")
    assert changed_files(repo, "HEAD~1", "HEAD").mode == NONE
    (repo / "pyproject.toml").write_text(deps.replace("1.26", "2.0"))
    _commit(repo, "a new numpy")
    assert changed_files(repo, "HEAD~1", "HEAD").mode == LIBRARIES


def test_a_heavier_model_in_head_is_a_regression(project: Path, tmp_path: Path) -> None:
    md = tmp_path / "gate.md"
    r = _gate(
        project,
        "--base",
        "HEAD~3",
        "--head",
        "HEAD~2",
        "--markdown",
        str(md),
        "--output-dir",
        str(tmp_path / "docs"),
    )
    assert r.exit_code == 1, r.output
    text = md.read_text()
    assert "same-job gate (models)" in text and "regression" in text
    assert "**Ran on:**" in text and "models/m.pt" in text  # which CPU, what changed
    base, head = (
        read_run(tmp_path / "docs" / "base-00.json"),
        read_run(tmp_path / "docs" / "head-00.json"),
    )
    # one run: both sides in the same rounds (either may stop a round before the other)
    rb, rh = ({s[0] for s in d.rows[0].latency.slices} for d in (base, head))
    assert len(rb & rh) >= 10 and len(rb & rh) >= len(rb | rh) - 2
    assert head.rows[0].latency.median_ms > 2 * base.rows[0].latency.median_ms


def test_a_longer_input_in_head_is_a_regression_and_says_so(project: Path) -> None:
    r = _gate(project, "--base", "HEAD~3", "--head", "HEAD~1")
    assert r.exit_code == 1, r.output
    assert "input 1x12x5000 → 1x12x15000" in r.output  # paired as the same variant, change shown


def test_head_equal_to_base_is_never_a_regression(project: Path) -> None:
    r = _gate(project, "--base", "HEAD", "--head", "HEAD", "--mode", "models")  # an A/A run
    # these tests time 0.3 s per variant: a key may be too noisy to tell (4), never a regression
    assert r.exit_code in (0, 4), r.output
    assert "regression" not in r.output.replace("no regression", "")
    assert ("inconclusive (noise above the threshold)" in r.output) == (r.exit_code == 4)


def test_a_docs_only_change_times_nothing_and_passes(project: Path, tmp_path: Path) -> None:
    md = tmp_path / "gate.md"
    r = _gate(project, "--base", "HEAD~1", "--head", "HEAD", "--markdown", str(md))
    assert r.exit_code == 0, r.output
    assert "nothing to time" in md.read_text() and "NOTES.md" in md.read_text()


def test_two_checkouts_given_as_folders_are_classified_by_content(tmp_path: Path) -> None:
    from ecgbench.gate.changes import folder_change

    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        (d / "ecgbench").mkdir(parents=True)
        (d / "ecgbench" / "x.py").write_text("X = 1\n")
        (d / "models").mkdir()
    assert folder_change(a, b).mode == NONE
    (b / "models" / "zoo.toml").write_text("schema = 1\n")
    assert folder_change(a, b).mode == MODELS
    (b / "ecgbench" / "x.py").write_text("X = 2\n")
    assert folder_change(a, b).mode == CODE


def test_an_unknown_revision_is_one_line(project: Path, tmp_path: Path) -> None:
    r = _gate(project, "--base", "no-such-branch", "--head", "HEAD")
    assert r.exit_code == 2
    assert "unknown revision 'no-such-branch'" in r.output and "Traceback" not in r.output
    r = _gate(tmp_path, "--base", "HEAD~1", "--head", "HEAD")  # not a repository
    assert r.exit_code == 2 and "not a git repository" in r.output


@pytest.mark.slow
def test_slower_code_in_head_is_timed_with_heads_own_package(tmp_path: Path) -> None:
    """Code mode: each side runs its own checkout's ecgbench; head's backend sleeps 2 ms a call."""
    repo = tmp_path / "proj"
    shutil.copytree(
        ROOT / "ecgbench", repo / "ecgbench", ignore=shutil.ignore_patterns("__pycache__")
    )
    (repo / "runners").mkdir()
    (repo / "runners" / "gate.toml").write_text(
        PROFILE.replace("duration = 1.0", "duration = 0.25").replace(
            "warmup = 0.1", "warmup = 0.05"
        )
    )
    _set_model(repo, TINY, tmp_path)
    _git(repo, "init", "-q")
    _commit(repo, "base")
    ov = repo / "ecgbench" / "backends" / "openvino_backend.py"
    src = ov.read_text()
    assert "    def run(self) -> None:\n" in src
    ov.write_text(
        src.replace(
            "    def run(self) -> None:\n",
            "    def run(self) -> None:\n        __import__('time').sleep(0.002)\n",
            1,
        )
    )
    _commit(repo, "head: a slower backend")
    r = _gate(
        repo,
        "--base",
        "HEAD~1",
        "--head",
        "HEAD",
        "--repeats",
        "3",
        env={"ECGBENCH_CACHE": str(tmp_path / "cache")},
    )
    assert r.exit_code == 1, r.output
    assert "code differs" in r.output and "regression" in r.output


# --------------------------------------------------------------------------- verdict rule
def test_paired_verdicts_call_noise_a_tie_and_a_clear_slowdown_a_regression() -> None:
    rng = np.random.default_rng(0)
    s = GateSettings()
    key = {"model": "m"}
    noise = np.exp(rng.normal(0, 0.05, 30))
    assert paired_verdict(key, noise, 1.0, 1.0, s, "round").verdict == Verdict.UNCHANGED
    assert paired_verdict(key, 1.3 * noise, 1.0, 1.3, s, "round").verdict == Verdict.REGRESSION
    runs = np.array([1.31, 1.28, 1.35])
    v = paired_verdict(key, runs, 1.0, 1.3, s, "run")
    assert v.verdict == Verdict.REGRESSION and v.ci_low > 1.0
    wide = np.array([1.5, 0.9, 1.2])  # a big median, but the runs disagree: too noisy to tell
    v = paired_verdict(key, wide, 1.0, 1.2, s, "run")
    assert v.verdict == Verdict.INCONCLUSIVE and v.min_detectable > s.threshold


# --------------------------------------------------------------------------- the workflow
def test_the_shipped_workflow_is_valid_actions_yaml_and_gates_prs_in_one_job() -> None:
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "latency-gate.yml").read_text())
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as True
    assert "pull_request" in on and "push" in on
    for job in wf["jobs"].values():
        assert "runs-on" in job and job["steps"]
        for step in job["steps"]:
            assert ("run" in step) != ("uses" in step), step
    steps = [s for j in wf["jobs"].values() for s in j["steps"]]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "ecgbench gate --base" in runs and "GITHUB_STEP_SUMMARY" in runs
    assert "ecgbench fingerprint --key --suite runners/ci.toml" in runs  # baselines per machine
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0  # the base revision must be there
